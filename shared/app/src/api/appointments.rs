//! `/appointments` and `/appointments/{id}`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::appointments::{self, ListQuery};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::appointment::{AppointmentInput, AppointmentView};

pub const CREATE: Endpoint = Endpoint {
    function: "create-appointment",
    method: Method::POST,
    path: "/appointments",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Add an appointment",
        Takes::Json(schema::<AppointmentInput>),
        &[Gives::Json(201, schema::<AppointmentView>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-appointments",
    method: Method::GET,
    path: "/appointments",
    role: Role::Staff,
    query: &["from", "to", "practitioner_id", "status", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's appointments by time",
        &[Gives::Json(200, schema::<response::Page<AppointmentView>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-appointment",
    method: Method::GET,
    path: "/appointments/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One appointment",
        &[Gives::Json(200, schema::<AppointmentView>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-appointment",
    method: Method::PATCH,
    path: "/appointments/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change an appointment (its patient is told, if the settings say so)",
        Takes::Patch(schema::<AppointmentInput>),
        &[Gives::Json(200, schema::<AppointmentView>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-appointment",
    method: Method::DELETE,
    path: "/appointments/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Delete an appointment"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let a = appointments::create(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &a))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.position_page()?;
    let q = ListQuery {
        from: req.query("from"),
        to: req.query("to"),
        practitioner_id: req.query("practitioner_id"),
        status: req.query("status"),
    };
    let (items, next) =
        appointments::list(&app.store, &caller.clinic_id, q, after.as_deref(), limit).await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &appointments::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let a = appointments::update(&app, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &a))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    appointments::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}
