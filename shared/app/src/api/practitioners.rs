//! `/practitioners` and `/practitioners/{id}`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::practitioners;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::practitioner::{Practitioner, PractitionerInput};

pub const CREATE: Endpoint = Endpoint {
    function: "create-practitioner",
    method: Method::POST,
    path: "/practitioners",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Add a practitioner",
        Takes::Json(schema::<PractitionerInput>),
        &[Gives::Json(201, schema::<Practitioner>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-practitioners",
    method: Method::GET,
    path: "/practitioners",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's practitioners",
        &[Gives::Json(200, schema::<response::Page<Practitioner>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-practitioner",
    method: Method::GET,
    path: "/practitioners/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One practitioner",
        &[Gives::Json(200, schema::<Practitioner>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-practitioner",
    method: Method::PATCH,
    path: "/practitioners/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a practitioner",
        Takes::Patch(schema::<PractitionerInput>),
        &[Gives::Json(200, schema::<Practitioner>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-practitioner",
    method: Method::DELETE,
    path: "/practitioners/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Remove a practitioner").errors(&[409]),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let p = practitioners::create(&app.store, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &p))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) =
        practitioners::list(&app.store, &caller.clinic_id, after.as_deref(), limit).await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &practitioners::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let p = practitioners::update(&app.store, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &p))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    practitioners::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}
