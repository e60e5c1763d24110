//! `/referrers`, `/referrers/{id}` and `/patients/{id}/referrals`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::referrers;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::referrer::{Referral, ReferralInput, Referrer, ReferrerInput};

pub const CREATE: Endpoint = Endpoint {
    function: "create-referrer",
    method: Method::POST,
    path: "/referrers",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Add a referrer",
        Takes::Json(schema::<ReferrerInput>),
        &[Gives::Json(201, schema::<Referrer>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-referrers",
    method: Method::GET,
    path: "/referrers",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's referrers",
        &[Gives::Json(200, schema::<response::Page<Referrer>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-referrer",
    method: Method::GET,
    path: "/referrers/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("One referrer", &[Gives::Json(200, schema::<Referrer>)]),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-referrer",
    method: Method::PATCH,
    path: "/referrers/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a referrer",
        Takes::Patch(schema::<ReferrerInput>),
        &[Gives::Json(200, schema::<Referrer>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-referrer",
    method: Method::DELETE,
    path: "/referrers/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Remove a referrer"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

pub const REFER: Endpoint = Endpoint {
    function: "create-referral",
    method: Method::POST,
    path: "/patients/{id}/referrals",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Record that a referrer referred a patient",
        Takes::Json(schema::<ReferralInput>),
        &[Gives::Json(201, schema::<Referral>)],
    ),
    handler: |app, caller, req| Box::pin(refer(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let r = referrers::create(&app.store, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &r))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) =
        referrers::list(&app.store, &caller.clinic_id, after.as_deref(), limit).await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &referrers::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let r = referrers::update(&app.store, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &r))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    referrers::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}

async fn refer(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let r = referrers::refer(&app.store, &caller.clinic_id, req.param("id"), req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &r))
}
