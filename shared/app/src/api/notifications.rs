//! `GET /notifications` (unread first) and `POST /notifications/{id}/read`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, schema};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::notification::Notification;

pub const LIST: Endpoint = Endpoint {
    function: "list-notifications",
    method: Method::GET,
    path: "/notifications",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Work for the practice: replies, opt-outs, failures; unread first",
        &[Gives::Json(200, schema::<response::Page<Notification>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const READ: Endpoint = Endpoint {
    function: "read-notification",
    method: Method::POST,
    path: "/notifications/{id}/read",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Mark a notification read",
        &[Gives::Json(200, schema::<Notification>)],
    ),
    handler: |app, caller, req| Box::pin(read(app, caller, req)),
};

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.position_page()?;
    if let Some(a) = &after
        && !(a.starts_with("0#") || a.starts_with("1#"))
    {
        return Err(crate::store::cursor::out_of_range().into());
    }
    let (items, next) = app
        .store
        .list_notifications(&caller.clinic_id, after.as_deref(), limit)
        .await
        .map_err(crate::ServiceError::from)?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn read(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let n = app
        .store
        .mark_notification_read(&caller.clinic_id, req.param("id"), app.now())
        .await
        .map_err(crate::ServiceError::from)?
        .ok_or_else(|| ApiError::not_found("notification"))?;
    Ok(response::json(StatusCode::OK, &n))
}
