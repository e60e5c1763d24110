//! `/patients/{id}/contacts` and `/patients/{id}/contacts/{contact_id}`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::contacts;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::contact::{Contact, ContactInput};

pub const CREATE: Endpoint = Endpoint {
    function: "create-contact",
    method: Method::POST,
    path: "/patients/{id}/contacts",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Add a contact to a patient",
        Takes::Json(schema::<ContactInput>),
        &[Gives::Json(201, schema::<Contact>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-contacts",
    method: Method::GET,
    path: "/patients/{id}/contacts",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "A patient's contacts",
        &[Gives::Json(200, schema::<response::Page<Contact>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-contact",
    method: Method::PATCH,
    path: "/patients/{id}/contacts/{contact_id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a contact",
        Takes::Patch(schema::<ContactInput>),
        &[Gives::Json(200, schema::<Contact>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-contact",
    method: Method::DELETE,
    path: "/patients/{id}/contacts/{contact_id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Remove a contact"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let c = contacts::create(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        req.json()?,
        &caller.actor(),
    )
    .await?;
    Ok(response::json(StatusCode::CREATED, &c))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let items = contacts::list(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::page(&items, None))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let c = contacts::update(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        req.param("contact_id"),
        &patch,
        &caller.actor(),
    )
    .await?;
    Ok(response::json(StatusCode::OK, &c))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    contacts::delete(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        req.param("contact_id"),
    )
    .await?;
    Ok(response::no_content())
}
