//! `/uploads`, `/uploads/{id}` and `/uploads/{id}/failures.csv`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::uploads;
use crate::store::UploadSummary;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;

pub const CREATE: Endpoint = Endpoint {
    function: "create-upload",
    method: Method::POST,
    path: "/uploads",
    role: Role::Staff,
    query: &["channel"],
    max_body: tidings_domain::upload::MAX_BYTES,
    doc: Doc::new(
        "Import patients from a CSV file",
        Takes::Csv,
        &[Gives::Json(201, schema::<UploadSummary>)],
    ),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-upload",
    method: Method::GET,
    path: "/uploads/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "One import's summary",
        &[Gives::Json(200, schema::<UploadSummary>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const FAILURES: Endpoint = Endpoint {
    function: "get-upload-failures",
    method: Method::GET,
    path: "/uploads/{id}/failures.csv",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("The rows an import refused, as CSV", &[Gives::Csv]),
    handler: |app, caller, req| Box::pin(failures(app, caller, req)),
};

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let u = uploads::create(
        &app.store,
        &caller.clinic_id,
        req.query("channel"),
        req.body(),
    )
    .await?;
    Ok(response::json(StatusCode::CREATED, &u))
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &uploads::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn failures(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let csv = uploads::failures_csv(&app.store, &caller.clinic_id, req.param("id")).await?;
    let mut res = response::build(StatusCode::OK, "text/csv; charset=utf-8", Body::Binary(csv));
    if let Ok(v) = "attachment; filename=\"failures.csv\"".parse() {
        res.headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
