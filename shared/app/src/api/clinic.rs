//! `GET /clinic` (any key) and `PATCH /clinic` (admin keys): the caller's own clinic settings.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::clinics;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::clinic::{Clinic, ClinicInput};

pub const GET: Endpoint = Endpoint {
    function: "get-clinic",
    method: Method::GET,
    path: "/clinic",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("The caller's clinic", &[Gives::Json(200, schema::<Clinic>)]),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-clinic",
    method: Method::PATCH,
    path: "/clinic",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change the clinic's settings",
        Takes::Patch(schema::<ClinicPatch>),
        &[Gives::Json(200, schema::<Clinic>)],
    ),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

async fn get(app: App, caller: Caller, _req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &clinics::get(&app.store, &caller.clinic_id).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    Ok(response::json(
        StatusCode::OK,
        &clinics::update(&app.store, &caller.clinic_id, &patch).await?,
    ))
}

/// The body of `PATCH /clinic`: the settings, and the Twilio auth token (write-only).
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ClinicPatch {
    #[serde(flatten)]
    settings: ClinicInput,
    /// The clinic's own Twilio account's auth token (`null` removes it); never shown again.
    twilio_auth_token: Option<String>,
}
