//! `/campaigns`, `/campaigns/{id}`, `/campaigns/{id}/cancel`, `/campaigns/{id}/recipients` and
//! `/campaigns/{id}/resend-unconfirmed`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::campaign_estimate::Estimate;
use crate::services::campaigns::{CampaignView, RecipientRow};
use crate::services::unconfirmed::{ResendInput, ResendOutcome};
use crate::services::{campaign_estimate, campaigns, unconfirmed};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::FieldError;
use tidings_domain::api_key::Role;
use tidings_domain::campaign::CampaignInput;

pub const CREATE: Endpoint = Endpoint {
    function: "create-campaign",
    method: Method::POST,
    path: "/campaigns",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Schedule a campaign to a report's patients",
        Takes::Json(schema::<CampaignInput>),
        &[Gives::Json(201, schema::<CampaignView>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-campaigns",
    method: Method::GET,
    path: "/campaigns",
    role: Role::Staff,
    query: &["status", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's campaigns",
        &[Gives::Json(200, schema::<response::Page<CampaignView>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-campaign",
    method: Method::GET,
    path: "/campaigns/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One campaign with its runs",
        &[Gives::Json(200, schema::<CampaignView>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const ESTIMATE: Endpoint = Endpoint {
    function: "get-campaign-estimate",
    method: Method::GET,
    path: "/campaigns/{id}/estimate",
    role: Role::Staff,
    query: &["cursor"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "What a campaign would send and cost now",
        &[Gives::Json(200, schema::<Estimate>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(estimate(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-campaign",
    method: Method::PATCH,
    path: "/campaigns/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Rename a campaign",
        Takes::Patch(schema::<CampaignPatch>),
        &[Gives::Json(200, schema::<CampaignView>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const CANCEL: Endpoint = Endpoint {
    function: "cancel-campaign",
    method: Method::POST,
    path: "/campaigns/{id}/cancel",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Cancel a campaign's future runs",
        &[Gives::Json(200, schema::<CampaignView>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(cancel(app, caller, req)),
};

pub const RECIPIENTS: Endpoint = Endpoint {
    function: "list-campaign-recipients",
    method: Method::GET,
    path: "/campaigns/{id}/recipients",
    role: Role::Staff,
    query: &["run_id", "format", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Who a campaign run messaged, as JSON or CSV",
        &[
            Gives::Json(200, schema::<response::Page<RecipientRow>>),
            Gives::Csv,
        ],
    ),
    handler: |app, caller, req| Box::pin(recipients(app, caller, req)),
};

pub const RESEND_UNCONFIRMED: Endpoint = Endpoint {
    function: "resend-unconfirmed",
    method: Method::POST,
    path: "/campaigns/{id}/resend-unconfirmed",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Send again the messages whose handover was never confirmed",
        Takes::Json(schema::<ResendInput>),
        &[Gives::Json(200, schema::<ResendOutcome>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(resend_unconfirmed(app, caller, req)),
};

/// Rows in one CSV chunk of the recipients (`X-Next-Cursor` continues).
pub const CSV_CHUNK: usize = 2000;

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let c = campaigns::create(&app, &caller.clinic_id, req.json()?, &caller.key_id).await?;
    Ok(response::json(StatusCode::CREATED, &c))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) = campaigns::list(
        &app,
        &caller.clinic_id,
        req.query("status"),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &campaigns::get(&app, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn estimate(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, _) = req.position_page()?;
    let mut e = campaign_estimate::estimate(
        &app,
        &caller.clinic_id,
        req.param("id"),
        after.as_deref(),
        app.config.audience_reads,
    )
    .await?;
    e.next_cursor = req.next_cursor(e.next_cursor.as_deref());
    Ok(response::json(StatusCode::OK, &e))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let c = campaigns::update(&app, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &c))
}

async fn cancel(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let c = campaigns::cancel(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::OK, &c))
}

async fn resend_unconfirmed(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let input = if req.body().is_empty() {
        unconfirmed::ResendInput::default()
    } else {
        req.json()?
    };
    let out = unconfirmed::resend(&app, &caller.clinic_id, req.param("id"), input).await?;
    Ok(response::json(StatusCode::OK, &out))
}

async fn recipients(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let csv = match req.query("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(FieldError::new("format", "invalid", "format must be json or csv").into());
        }
    };
    let (after, limit) = req.page()?;
    let limit = if csv { CSV_CHUNK } else { limit };
    let (rows, next) = campaigns::recipients(
        &app,
        &caller.clinic_id,
        req.param("id"),
        req.query("run_id"),
        after.as_deref(),
        limit,
    )
    .await?;
    if !csv {
        return Ok(response::page(&rows, req.next_cursor(next.as_deref())));
    }
    let body = campaigns::recipients_csv(&rows, after.is_none())?;
    let mut res = response::build(
        StatusCode::OK,
        "text/csv; charset=utf-8",
        Body::Binary(body),
    );
    let headers = res.headers_mut();
    if let Ok(v) = "attachment; filename=\"recipients.csv\"".parse() {
        headers.insert(http::header::CONTENT_DISPOSITION, v);
    }
    if let Some(v) = next
        .and_then(|id| req.next_cursor(Some(&id)))
        .and_then(|c| c.parse().ok())
    {
        headers.insert("x-next-cursor", v);
    }
    Ok(res)
}

/// The body of `PATCH /campaigns/{id}`: only the name changes.
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CampaignPatch {
    name: String,
}
