//! `POST /webhooks/sms/{provider}`: inbound SMS and delivery receipts from `sns`, `twilio`
//! or `generic`. No API key: the provider's signature is checked before anything is stored;
//! a bad or missing one is a 401.

use crate::App;
use crate::http::public::{Needs, PublicFuture};
use crate::http::{ApiError, PublicEndpoint, PublicRequest, response};
use crate::services::provider_posts::{self, PostError, ProviderPost};
use crate::sns_http::SnsHttpError;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::stripe_event;
use tidings_domain::webhook::{Provider, WebhookError};

/// Webhook posts are small; 64 KiB is ample for any provider's.
const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

pub const SMS: PublicEndpoint = PublicEndpoint {
    function: "sms-webhook",
    method: Method::POST,
    path: "/webhooks/sms/{provider}",
    max_body: MAX_WEBHOOK_BYTES,
    needs: Needs::Webhooks,
    handler: |app, req| -> PublicFuture { Box::pin(sms_webhook(app, req)) },
};

/// Stripe's events are a few kilobytes; 256 KiB is ample.
const MAX_STRIPE_EVENT_BYTES: usize = 256 * 1024;

pub const STRIPE: PublicEndpoint = PublicEndpoint {
    function: "stripe-webhook",
    method: Method::POST,
    path: "/webhooks/stripe",
    max_body: MAX_STRIPE_EVENT_BYTES,
    needs: Needs::StripeWebhook,
    handler: |app, req| -> PublicFuture { Box::pin(stripe_webhook(app, req)) },
};

/// `POST /webhooks/stripe`: Stripe's events, signed with the endpoint's secret
/// (`Stripe-Signature`); a bad, missing or stale signature is a 401 and changes nothing.
async fn stripe_webhook(app: App, req: PublicRequest) -> Result<Response<Body>, ApiError> {
    let secret = app
        .config
        .stripe
        .as_ref()
        .and_then(|s| s.webhook_secret.as_deref())
        .unwrap_or("");
    stripe_event::verify(
        secret,
        req.header(stripe_event::SIGNATURE_HEADER),
        &req.body,
        app.now(),
    )
    .map_err(|e| refused(&app, &e))?;
    let (event, effect) = stripe_event::parse(&req.body).map_err(|e| refused(&app, &e))?;
    let applied = crate::services::stripe_events::apply(&app, &event, effect).await?;
    Ok(response::json(StatusCode::OK, &applied))
}

/// The answer to a post refused before anything was read of it; a refused signature or source
/// is counted (`WebhookSignatureFailures`).
fn refused(app: &App, e: &WebhookError) -> ApiError {
    let answer = refusal(e);
    if answer.status == StatusCode::UNAUTHORIZED {
        crate::metrics::webhook_refused(app, answer.code);
    }
    answer
}

fn refusal(e: &WebhookError) -> ApiError {
    match e {
        WebhookError::Malformed { field, message } => ApiError {
            field: Some((*field).to_owned()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid", message.clone())
        },
        WebhookError::Stale => {
            ApiError::new(StatusCode::UNAUTHORIZED, "stale_signature", e.to_string())
        }
        WebhookError::UnknownSource => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unknown_source", e.to_string())
        }
        _ => ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
    }
}

async fn sms_webhook(app: App, req: PublicRequest) -> Result<Response<Body>, ApiError> {
    let provider =
        Provider::parse(req.param("provider")).ok_or_else(|| ApiError::not_found("provider"))?;
    let post = ProviderPost {
        body: &req.body,
        headers: &req.headers,
        url: &req.url,
    };
    let handled = provider_posts::handle(&app, provider, &post)
        .await
        .map_err(|e| post_refused(&app, e))?;
    Ok(response::json(StatusCode::OK, &handled))
}

/// The answer to a provider's post that was not acted on.
fn post_refused(app: &App, e: PostError) -> ApiError {
    match e {
        PostError::Refused(e) => refused(app, &e),
        PostError::Sns(SnsHttpError::Certificate(_)) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "certificate_unavailable",
            "the SNS signing certificate could not be fetched; SNS will retry",
        ),
        PostError::Sns(SnsHttpError::Confirmation(_)) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "subscription_unconfirmed",
            "the subscription could not be confirmed; SNS will retry",
        ),
        PostError::Service(e) => e.into(),
    }
}
