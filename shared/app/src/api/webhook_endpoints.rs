//! `/webhook-endpoints`: where a clinic's events go, managed by its admins; and what was
//! delivered to each (`/webhook-endpoints/{id}/deliveries`).

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::webhook_endpoints;
use crate::services::webhook_endpoints::{CreatedEndpoint, DeliveryView, EndpointInput};
use crate::store::WebhookEndpoint;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;

pub const CREATE: Endpoint = Endpoint {
    function: "create-webhook-endpoint",
    method: Method::POST,
    path: "/webhook-endpoints",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Register an endpoint for signed events (its secret is shown once)",
        Takes::Json(schema::<EndpointInput>),
        &[Gives::Json(201, schema::<CreatedEndpoint>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-webhook-endpoints",
    method: Method::GET,
    path: "/webhook-endpoints",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's webhook endpoints",
        &[Gives::Json(200, schema::<response::Items<WebhookEndpoint>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-webhook-endpoint",
    method: Method::GET,
    path: "/webhook-endpoints/{id}",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One webhook endpoint",
        &[Gives::Json(200, schema::<WebhookEndpoint>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-webhook-endpoint",
    method: Method::PATCH,
    path: "/webhook-endpoints/{id}",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a webhook endpoint",
        Takes::Patch(schema::<EndpointInput>),
        &[Gives::Json(200, schema::<WebhookEndpoint>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-webhook-endpoint",
    method: Method::DELETE,
    path: "/webhook-endpoints/{id}",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Remove a webhook endpoint"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

pub const DELIVERIES: Endpoint = Endpoint {
    function: "list-webhook-deliveries",
    method: Method::GET,
    path: "/webhook-endpoints/{id}/deliveries",
    role: Role::Admin,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "An endpoint's deliveries and their attempts",
        &[Gives::Json(200, schema::<response::Page<DeliveryView>>)],
    ),
    handler: |app, caller, req| Box::pin(deliveries(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let e = webhook_endpoints::create(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::CREATED, &e))
}

async fn list(app: App, caller: Caller, _req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let items = webhook_endpoints::list(&app.store, &caller.clinic_id).await?;
    Ok(response::json(
        StatusCode::OK,
        &response::Items { items: &items },
    ))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let e = webhook_endpoints::get(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::OK, &e))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let e = webhook_endpoints::update(&app, &caller.clinic_id, req.param("id"), &patch).await?;
    Ok(response::json(StatusCode::OK, &e))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    webhook_endpoints::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}

async fn deliveries(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) = webhook_endpoints::deliveries(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}
