//! `/settings/reminders`, `/practitioners/{id}/reminder-settings` and `/settings/greetings`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::greetings::GreetingView;
use crate::services::reminder_settings::SettingsView;
use crate::services::{greetings, reminder_settings};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::greeting::GreetingSettingsInput;
use tidings_domain::reminder::ReminderSettingsInput;

pub const GET_REMINDERS: Endpoint = Endpoint {
    function: "get-reminder-settings",
    method: Method::GET,
    path: "/settings/reminders",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's reminder settings",
        &[Gives::Json(200, schema::<SettingsView>)],
    ),
    handler: |app, caller, _req| Box::pin(get_reminders(app, caller)),
};

pub const PUT_REMINDERS: Endpoint = Endpoint {
    function: "put-reminder-settings",
    method: Method::PUT,
    path: "/settings/reminders",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Set the clinic's reminder settings",
        Takes::Json(schema::<ReminderSettingsInput>),
        &[Gives::Json(200, schema::<SettingsView>)],
    ),
    handler: |app, caller, req| Box::pin(put_reminders(app, caller, req)),
};

pub const GET_PRACTITIONER: Endpoint = Endpoint {
    function: "get-practitioner-reminder-settings",
    method: Method::GET,
    path: "/practitioners/{id}/reminder-settings",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "A practitioner's reminder settings (or the clinic's, inherited)",
        &[Gives::Json(200, schema::<SettingsView>)],
    ),
    handler: |app, caller, req| Box::pin(get_practitioner(app, caller, req)),
};

pub const PUT_PRACTITIONER: Endpoint = Endpoint {
    function: "put-practitioner-reminder-settings",
    method: Method::PUT,
    path: "/practitioners/{id}/reminder-settings",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Set a practitioner's own reminder settings",
        Takes::Json(schema::<ReminderSettingsInput>),
        &[Gives::Json(200, schema::<SettingsView>)],
    ),
    handler: |app, caller, req| Box::pin(put_practitioner(app, caller, req)),
};

pub const DELETE_PRACTITIONER: Endpoint = Endpoint {
    function: "delete-practitioner-reminder-settings",
    method: Method::DELETE,
    path: "/practitioners/{id}/reminder-settings",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::delete("Return a practitioner to the clinic's reminder settings"),
    handler: |app, caller, req| Box::pin(delete_practitioner(app, caller, req)),
};

pub const GET_GREETINGS: Endpoint = Endpoint {
    function: "get-greeting-settings",
    method: Method::GET,
    path: "/settings/greetings",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's birthday greeting settings",
        &[Gives::Json(200, schema::<GreetingView>)],
    ),
    handler: |app, caller, _req| Box::pin(get_greetings(app, caller)),
};

pub const PUT_GREETINGS: Endpoint = Endpoint {
    function: "put-greeting-settings",
    method: Method::PUT,
    path: "/settings/greetings",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Set the clinic's birthday greetings",
        Takes::Json(schema::<GreetingSettingsInput>),
        &[Gives::Json(200, schema::<GreetingView>)],
    ),
    handler: |app, caller, req| Box::pin(put_greetings(app, caller, req)),
};

async fn get_reminders(app: App, caller: Caller) -> Result<Response<Body>, ApiError> {
    let v = reminder_settings::get_group(&app, &caller.clinic_id).await?;
    Ok(response::json(StatusCode::OK, &v))
}

async fn put_reminders(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let v = reminder_settings::put_group(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::OK, &v))
}

async fn get_practitioner(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let v = reminder_settings::get_practitioner(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::OK, &v))
}

async fn put_practitioner(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let input = req.json()?;
    let v = reminder_settings::put_practitioner(&app, &caller.clinic_id, req.param("id"), input)
        .await?;
    Ok(response::json(StatusCode::OK, &v))
}

async fn delete_practitioner(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    reminder_settings::delete_practitioner(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::no_content())
}

async fn get_greetings(app: App, caller: Caller) -> Result<Response<Body>, ApiError> {
    let v = greetings::get(&app, &caller.clinic_id).await?;
    Ok(response::json(StatusCode::OK, &v))
}

async fn put_greetings(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let v = greetings::put(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::OK, &v))
}
