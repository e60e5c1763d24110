//! `/messages` (send, history, statistics) and `/patients/{id}/messages`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::messages::DayStats;
use crate::services::sending::SendOutcome;
use crate::services::{messages, sending};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::message::{Message, SendInput, StatusEvent};

pub const SEND: Endpoint = Endpoint {
    function: "send-messages",
    method: Method::POST,
    path: "/messages",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Send a message to patients or numbers",
        Takes::Json(schema::<SendInput>),
        &[
            Gives::Json(201, schema::<SendOutcome>),
            Gives::Json(200, schema::<SendOutcome>),
        ],
    )
    .errors(&[402, 409])
    .idempotent(),
    handler: |app, caller, req| Box::pin(send(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-messages",
    method: Method::GET,
    path: "/messages",
    role: Role::Staff,
    query: &["category", "from", "to", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's messages",
        &[Gives::Json(200, schema::<response::Page<Message>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const STATS: Endpoint = Endpoint {
    function: "message-stats",
    method: Method::GET,
    path: "/messages/stats",
    role: Role::Staff,
    query: &["from", "to"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Messages and credits per day",
        &[Gives::Json(200, schema::<Days>)],
    ),
    handler: |app, caller, req| Box::pin(stats(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-message",
    method: Method::GET,
    path: "/messages/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One message and its status history",
        &[Gives::Json(200, schema::<MessageDetail>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

/// One message with its status history (`history`, oldest first, with reasons).
async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let m = app
        .store
        .get_message(&caller.clinic_id, req.param("id"))
        .await
        .map_err(crate::ServiceError::from)?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let mut out = serde_json::to_value(&m).map_err(|_| ApiError::internal())?;
    out["history"] = serde_json::to_value(m.history()).map_err(|_| ApiError::internal())?;
    Ok(response::json(StatusCode::OK, &out))
}

pub const PATIENT_HISTORY: Endpoint = Endpoint {
    function: "list-patient-messages",
    method: Method::GET,
    path: "/patients/{id}/messages",
    role: Role::Staff,
    query: &["include_contacts", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "A patient's messages, newest first",
        &[Gives::Json(200, schema::<response::Page<Message>>)],
    ),
    handler: |app, caller, req| Box::pin(patient_history(app, caller, req)),
};

async fn send(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let key = sending::idempotency_key(req.idempotency_key())?;
    let input = req.json()?;
    let out = sending::send(
        &app,
        &caller.clinic_id,
        input,
        req.body(),
        key.as_deref(),
        &caller.actor(),
    )
    .await?;
    Ok(response::created_or_replayed(out.replayed, &out))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) = messages::list(
        &app.store,
        &caller.clinic_id,
        req.query("category"),
        req.query("from"),
        req.query("to"),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn stats(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let days = messages::stats(
        &app.store,
        &caller.clinic_id,
        req.query("from"),
        req.query("to"),
    )
    .await?;
    Ok(response::json(
        StatusCode::OK,
        &serde_json::json!({ "days": days }),
    ))
}

async fn patient_history(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) = messages::patient_history(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        req.query("include_contacts"),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

/// `GET /messages/stats`.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Days {
    days: Vec<DayStats>,
}

/// `GET /messages/{id}`: the message and its status history, oldest first.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct MessageDetail<'a> {
    #[serde(flatten)]
    message: &'a Message,
    history: Vec<StatusEvent>,
}
