//! An endpoint (route, role, handler), the dispatcher that runs one request through
//! authentication and the handler, and the Lambda entry point of every endpoint function.

use super::{ApiError, ApiRequest, Caller, Doc, auth};
use crate::App;
use http::Method;
use lambda_http::{Body, Request, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use tidings_domain::api_key::Role;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send>>;

/// One HTTP route and the Lambda function that serves it.
pub struct Endpoint {
    /// The function (binary, crate and template.yaml resource) name, kebab-case.
    pub function: &'static str,
    pub method: Method,
    /// API Gateway path template, e.g. `/patients/{id}`.
    pub path: &'static str,
    /// The least role that may call it.
    pub role: Role,
    /// Query parameters it accepts; any other is a 400.
    pub query: &'static [&'static str],
    /// The largest body it accepts; larger is a 413.
    pub max_body: usize,
    /// What it takes and answers, for the OpenAPI document.
    pub doc: Doc,
    pub handler: fn(App, Caller, ApiRequest) -> HandlerFuture,
}

/// Runs one request: authenticate, check the role, read the request, call the handler, and
/// turn any error into its JSON response.
pub async fn dispatch(app: &App, endpoint: &Endpoint, req: Request) -> Response<Body> {
    let result = crate::aws_calls::as_function(endpoint.function, run(app, endpoint, &req)).await;
    let (response, clinic_id) = match result {
        Ok((res, caller)) => (res, Some(caller.clinic_id)),
        Err((err, caller)) => (err.into_response(), caller.map(|c| c.clinic_id)),
    };
    tracing::info!(
        function = endpoint.function,
        status = response.status().as_u16(),
        clinic_id = clinic_id.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

async fn run(
    app: &App,
    endpoint: &Endpoint,
    req: &Request,
) -> Result<(Response<Body>, Caller), (ApiError, Option<Caller>)> {
    if req.method() != endpoint.method {
        let err = ApiError::new(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use {}", endpoint.method),
        );
        return Err((err, None));
    }
    let caller = auth::authenticate(&app.store, req.headers())
        .await
        .map_err(|e| (e, None))?;
    if !caller.role.allows(endpoint.role) {
        return Err((ApiError::forbidden(), Some(caller)));
    }
    let api_req = ApiRequest::read(endpoint, req, &caller.clinic_id)
        .map_err(|e| (e, Some(caller.clone())))?;
    match (endpoint.handler)(app.clone(), caller.clone(), api_req).await {
        Ok(res) => Ok((res, caller)),
        Err(e) => Err((e, Some(caller))),
    }
}

/// The `main` of every endpoint function: reads the configuration and builds the clients once
/// (failing fast on a missing setting), then serves requests.
pub async fn serve(endpoint: &'static Endpoint) -> Result<(), lambda_http::Error> {
    serve_with(endpoint, false).await
}

/// [`serve`] for the endpoints that create or delete schedules: a missing scheduling
/// setting stops the function at cold start.
pub async fn serve_scheduling(endpoint: &'static Endpoint) -> Result<(), lambda_http::Error> {
    serve_with(endpoint, true).await
}

async fn serve_with(
    endpoint: &'static Endpoint,
    scheduling: bool,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    let config = &app.config;
    if scheduling {
        config
            .require_scheduling()
            .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    }
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(dispatch(&app, endpoint, req).await) }
    }))
    .await
}
