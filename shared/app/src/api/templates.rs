//! `/templates`, `/templates/{id}` and `/templates/preview`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::preview::{Preview, PreviewInput};
use crate::services::{preview, templates};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::message_template::{SavedTemplate, TemplateInput};

pub const CREATE: Endpoint = Endpoint {
    function: "create-template",
    method: Method::POST,
    path: "/templates",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Save a message template",
        Takes::Json(schema::<TemplateInput>),
        &[Gives::Json(201, schema::<SavedTemplate>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-templates",
    method: Method::GET,
    path: "/templates",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's templates",
        &[Gives::Json(200, schema::<response::Page<SavedTemplate>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const PREVIEW: Endpoint = Endpoint {
    function: "preview-template",
    method: Method::POST,
    path: "/templates/preview",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Render a template for a patient without sending",
        Takes::Json(schema::<PreviewInput>),
        &[Gives::Json(200, schema::<Preview>)],
    ),
    handler: |app, caller, req| Box::pin(preview(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-template",
    method: Method::GET,
    path: "/templates/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("One template", &[Gives::Json(200, schema::<SavedTemplate>)]),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-template",
    method: Method::PATCH,
    path: "/templates/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a template",
        Takes::Patch(schema::<TemplateInput>),
        &[Gives::Json(200, schema::<SavedTemplate>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-template",
    method: Method::DELETE,
    path: "/templates/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Delete a template"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let t = templates::create(&app.store, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &t))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) =
        templates::list(&app.store, &caller.clinic_id, after.as_deref(), limit).await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn preview(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let p = preview::preview(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::OK, &p))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &templates::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let t = templates::update(&app.store, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &t))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    templates::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}
