//! `/credits` and `/credits/ledger`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::services::credits;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;

pub const GET: Endpoint = Endpoint {
    function: "get-credits",
    method: Method::GET,
    path: "/credits",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const LEDGER: Endpoint = Endpoint {
    function: "list-credit-ledger",
    method: Method::GET,
    path: "/credits/ledger",
    role: Role::Staff,
    query: &["cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    handler: |app, caller, req| Box::pin(ledger(app, caller, req)),
};

async fn get(app: App, caller: Caller, _req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &credits::summary(&app, &caller.clinic_id).await?,
    ))
}

async fn ledger(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) =
        credits::ledger(&app.store, &caller.clinic_id, after.as_deref(), limit).await?;
    Ok(response::page(&items, next.as_deref()))
}
