//! Endpoints without an API key (provider webhooks): the request's own signature is the
//! credential, checked by the handler before anything is stored.

use super::ApiError;
use super::request::match_path;
use crate::App;
use http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Request, Response, service_fn};
use std::convert::Infallible;

pub type PublicFuture = super::endpoint::HandlerFuture;

/// The settings a public endpoint cannot work without; checked at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Webhooks,
    Unsubscribe,
    StripeWebhook,
}

/// A route served without an API key.
pub struct PublicEndpoint {
    pub function: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub max_body: usize,
    pub needs: Needs,
    pub handler: fn(App, PublicRequest) -> PublicFuture,
}

/// A public request as its handler reads it: the raw body (signatures cover its bytes), the
/// headers, and the public URL it was posted to.
#[derive(Debug)]
pub struct PublicRequest {
    pub params: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `PUBLIC_API_URL` followed by the path and query string as received.
    pub url: String,
}

impl PublicRequest {
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn run(
    app: &App,
    endpoint: &PublicEndpoint,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    if req.method() != endpoint.method {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use {}", endpoint.method),
        ));
    }
    let params =
        match_path(endpoint.path, req.uri().path()).ok_or_else(|| ApiError::not_found("route"))?;
    let body = req.body().as_ref();
    if body.len() > endpoint.max_body {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must be at most {} bytes", endpoint.max_body),
        ));
    }
    let base = app.config.public_url.as_deref().unwrap_or("");
    let url = match req.uri().query() {
        Some(q) => format!("{base}{}?{q}", req.uri().path()),
        None => format!("{base}{}", req.uri().path()),
    };
    let public = PublicRequest {
        params,
        headers: req.headers().clone(),
        body: body.to_vec(),
        url,
    };
    (endpoint.handler)(app.clone(), public).await
}

/// Runs one public request and logs its outcome (never its body).
pub async fn dispatch_public(app: &App, endpoint: &PublicEndpoint, req: Request) -> Response<Body> {
    let response = crate::aws_calls::as_function(endpoint.function, run(app, endpoint, req))
        .await
        .unwrap_or_else(ApiError::into_response);
    tracing::info!(
        function = endpoint.function,
        status = response.status().as_u16(),
        "request"
    );
    response
}

/// The `main` of a public endpoint function: the settings it needs are required at cold start.
pub async fn serve_public(endpoint: &'static PublicEndpoint) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    let config = &app.config;
    match endpoint.needs {
        Needs::Nothing => Ok(()),
        Needs::Webhooks => config.require_webhooks().map(|_| ()),
        Needs::Unsubscribe => config.require_unsubscribe().map(|_| ()),
        Needs::StripeWebhook => config.require_stripe_webhook().map(|_| ()),
    }
    .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(dispatch_public(&app, endpoint, req).await) }
    }))
    .await
}
