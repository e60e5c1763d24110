//! `/keys` and `/keys/{id}`: the clinic's API keys, managed by its admins.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::api_keys;
use crate::services::api_keys::{CreatedKey, KeyView, NewKey};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;

pub const CREATE: Endpoint = Endpoint {
    function: "create-key",
    method: Method::POST,
    path: "/keys",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Issue an API key (shown once)",
        Takes::Json(schema::<NewKey>),
        &[Gives::Json(201, schema::<CreatedKey>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-keys",
    method: Method::GET,
    path: "/keys",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's API keys",
        &[Gives::Json(200, schema::<response::Items<KeyView>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-key",
    method: Method::DELETE,
    path: "/keys/{id}",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Revoke an API key").errors(&[409]),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let k = api_keys::create(&app.store, &caller.clinic_id, req.json()?).await?;
    tracing::info!(
        clinic_id = caller.clinic_id,
        key_id = k.view.id,
        by = caller.key_id,
        "key issued"
    );
    Ok(response::json(StatusCode::CREATED, &k))
}

async fn list(app: App, caller: Caller, _req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let items = api_keys::list(&app.store, &caller.clinic_id).await?;
    Ok(response::json(
        StatusCode::OK,
        &response::Items { items: &items },
    ))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let id = req.param("id");
    api_keys::revoke_by_admin(&app.store, &caller.clinic_id, id).await?;
    tracing::info!(
        clinic_id = caller.clinic_id,
        key_id = id,
        by = caller.key_id,
        "key revoked"
    );
    Ok(response::no_content())
}
