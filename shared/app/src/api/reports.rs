//! `/reports`, `/reports/{id}` and `/reports/{id}/results`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::reports;
use crate::services::reports::{ReportInput, Results};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::report::Report;

pub const CREATE: Endpoint = Endpoint {
    function: "create-report",
    method: Method::POST,
    path: "/reports",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Save a report (an audience definition)",
        Takes::Json(schema::<ReportInput>),
        &[Gives::Json(201, schema::<Report>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-reports",
    method: Method::GET,
    path: "/reports",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's reports",
        &[Gives::Json(200, schema::<response::Page<Report>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-report",
    method: Method::GET,
    path: "/reports/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("One report", &[Gives::Json(200, schema::<Report>)]),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-report",
    method: Method::DELETE,
    path: "/reports/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Delete a report"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

pub const RESULTS: Endpoint = Endpoint {
    function: "run-report",
    method: Method::GET,
    path: "/reports/{id}/results",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The patients a report finds now",
        &[Gives::Json(200, schema::<Results>)],
    ),
    handler: |app, caller, req| Box::pin(results(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let r = reports::create(&app.store, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &r))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) =
        reports::list(&app.store, &caller.clinic_id, after.as_deref(), limit).await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &reports::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    reports::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}

async fn results(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.position_page()?;
    let mut r = reports::results(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        after.as_deref(),
        limit,
        app.config.audience_reads,
    )
    .await?;
    r.next_cursor = req.next_cursor(r.next_cursor.as_deref());
    Ok(response::json(StatusCode::OK, &r))
}
