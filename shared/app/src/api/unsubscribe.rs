//! `POST /unsubscribe/{token}` (RFC 8058 one-click: opts out at once) and
//! `GET /unsubscribe/{token}` (a page with a button that posts; it changes nothing, so a mail
//! scanner following links unsubscribes nobody). No API key: the signed token is the
//! credential.

use crate::App;
use crate::http::public::{Needs, PublicFuture};
use crate::http::{ApiError, PublicEndpoint, PublicRequest, response};
use crate::services::{load_clinic, unsubscribe};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::FieldError;
use tidings_domain::actor::Actor;
use tidings_domain::unsubscribe::Token;

pub const POST: PublicEndpoint = PublicEndpoint {
    function: "unsubscribe",
    method: Method::POST,
    path: "/unsubscribe/{token}",
    max_body: 4 * 1024,
    needs: Needs::Unsubscribe,
    handler: |app, req| -> PublicFuture { Box::pin(post(app, req)) },
};

pub const PAGE: PublicEndpoint = PublicEndpoint {
    function: "unsubscribe-page",
    method: Method::GET,
    path: "/unsubscribe/{token}",
    max_body: 4 * 1024,
    needs: Needs::Unsubscribe,
    handler: |app, req| -> PublicFuture { Box::pin(page(app, req)) },
};

fn token(app: &App, req: &PublicRequest) -> Result<Token, ApiError> {
    let secret = app
        .config
        .unsubscribe
        .as_ref()
        .map_or("", |u| u.secret.as_str());
    Token::verify(secret.as_bytes(), req.param("token"))
        .map_err(|e| ApiError::from(FieldError::new("token", "invalid_token", e.to_string())))
}

fn html(title: &str, body: &str) -> Response<Body> {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\">{body}</body></html>"
    );
    response::build(StatusCode::OK, "text/html; charset=utf-8", Body::Text(page))
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn post(app: App, req: PublicRequest) -> Result<Response<Body>, ApiError> {
    let t = token(&app, &req)?;
    unsubscribe::apply(&app.store, &t, &Actor::UnsubscribeLink).await?;
    let clinic = load_clinic(&app.store, &t.clinic_id).await?;
    Ok(html(
        "Unsubscribed",
        &format!(
            "<h1>You are unsubscribed</h1><p>{} will send you no more newsletters, recalls or greetings by email. Appointment reminders continue.</p>",
            esc(&clinic.fields.name)
        ),
    ))
}

async fn page(app: App, req: PublicRequest) -> Result<Response<Body>, ApiError> {
    let t = token(&app, &req)?;
    let clinic = load_clinic(&app.store, &t.clinic_id).await?;
    let action = req.url.split('?').next().unwrap_or_default();
    Ok(html(
        "Unsubscribe",
        &format!(
            "<h1>Unsubscribe</h1><p>Stop newsletters, recalls and greetings by email from {}?</p><form method=\"post\" action=\"{}\"><button type=\"submit\">Unsubscribe</button></form>",
            esc(&clinic.fields.name),
            esc(action)
        ),
    ))
}
