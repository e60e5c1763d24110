//! `/patients`, `/patients/{id}` and `/patients/export`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::patients;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::export::parse_columns;
use tidings_domain::patient::PatientFilter;
use tidings_domain::patient::{Patient, PatientInput};

/// The most CSV one export response carries; a larger export continues with `cursor` (see
/// docs/api.md), well inside Lambda's 6 MB response limit.
pub const EXPORT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

const FILTERS: [&str; 4] = ["q", "gender", "birth_month", "practitioner_id"];

pub const CREATE: Endpoint = Endpoint {
    function: "create-patient",
    method: Method::POST,
    path: "/patients",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Add a patient",
        Takes::Json(schema::<PatientInput>),
        &[Gives::Json(201, schema::<Patient>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(create(app, caller, req)),
};

pub const LIST: Endpoint = Endpoint {
    function: "list-patients",
    method: Method::GET,
    path: "/patients",
    role: Role::Staff,
    query: &[
        "cursor", "limit", FILTERS[0], FILTERS[1], FILTERS[2], FILTERS[3],
    ],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's patients, filtered",
        &[Gives::Json(200, schema::<response::Page<Patient>>)],
    ),
    handler: |app, caller, req| Box::pin(list(app, caller, req)),
};

pub const EXPORT: Endpoint = Endpoint {
    function: "export-patients",
    method: Method::GET,
    path: "/patients/export",
    role: Role::Staff,
    query: &[
        "columns", "cursor", FILTERS[0], FILTERS[1], FILTERS[2], FILTERS[3],
    ],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's patients as CSV (X-Next-Cursor continues)",
        &[Gives::Csv],
    ),
    handler: |app, caller, req| Box::pin(export(app, caller, req)),
};

pub const GET: Endpoint = Endpoint {
    function: "get-patient",
    method: Method::GET,
    path: "/patients/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get("One patient", &[Gives::Json(200, schema::<Patient>)]),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const UPDATE: Endpoint = Endpoint {
    function: "update-patient",
    method: Method::PATCH,
    path: "/patients/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Change a patient",
        Takes::Patch(schema::<PatientInput>),
        &[Gives::Json(200, schema::<Patient>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(update(app, caller, req)),
};

pub const DELETE: Endpoint = Endpoint {
    function: "delete-patient",
    method: Method::DELETE,
    path: "/patients/{id}",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Erase a patient and everything of them"),
    handler: |app, caller, req| Box::pin(delete(app, caller, req)),
};

fn filter(req: &ApiRequest) -> Result<PatientFilter, ApiError> {
    Ok(PatientFilter::parse(
        req.query("q"),
        req.query("gender"),
        req.query("birth_month"),
        req.query("practitioner_id"),
    )?)
}

async fn create(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let p = patients::create(&app.store, &caller.clinic_id, req.json()?, &caller.actor()).await?;
    Ok(response::json(StatusCode::CREATED, &p))
}

async fn list(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let filter = filter(&req)?;
    let (after, limit) = req.page()?;
    let page = patients::list(
        &app.store,
        &caller.clinic_id,
        &filter,
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(
        &page.patients,
        req.next_cursor(page.next_after.as_deref()),
    ))
}

async fn export(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let columns = parse_columns(req.query("columns"))?;
    let filter = filter(&req)?;
    let (after, _) = req.page()?;
    let (csv, next) = patients::export(
        &app.store,
        &caller.clinic_id,
        &columns,
        &filter,
        after,
        (EXPORT_CHUNK_BYTES, app.config.export_reads),
    )
    .await?;
    let mut res = response::build(StatusCode::OK, "text/csv; charset=utf-8", Body::Binary(csv));
    let headers = res.headers_mut();
    if let Ok(v) = "attachment; filename=\"patients.csv\"".parse() {
        headers.insert(http::header::CONTENT_DISPOSITION, v);
    }
    if let Some(v) = next
        .and_then(|id| req.next_cursor(Some(&id)))
        .and_then(|c| c.parse().ok())
    {
        headers.insert("x-next-cursor", v);
    }
    Ok(res)
}

async fn get(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &patients::get(&app.store, &caller.clinic_id, req.param("id")).await?,
    ))
}

async fn update(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let patch = req.json_object()?;
    let p = patients::update(
        &app.store,
        &caller.clinic_id,
        req.param("id"),
        &patch,
        &caller.actor(),
    )
    .await?;
    Ok(response::json(StatusCode::OK, &p))
}

async fn delete(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    patients::delete(&app.store, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}
