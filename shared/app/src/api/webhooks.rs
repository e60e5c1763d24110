//! `POST /webhooks/sms/{provider}`: inbound SMS and delivery receipts from `sns`, `twilio`
//! or `generic`. No API key: the provider's signature is checked before anything is stored;
//! a bad or missing one is a 401.

use crate::App;
use crate::http::public::{Needs, PublicFuture};
use crate::http::{ApiError, PublicEndpoint, PublicRequest, response};
use crate::services::inbound::{self, Handled};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use tidings_domain::phone;
use tidings_domain::stripe_event;
use tidings_domain::webhook::{
    self, Event, InboundSms, Provider, WebhookError, generic, sns, twilio,
};

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
        chrono::Utc::now(),
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
        crate::metrics::webhook_refused(&app.config.stage, answer.code);
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
    let now = chrono::Utc::now();
    // Who vouched for the post: the deployment (its SNS topics, its generic secret) or one
    // clinic (its Twilio token). A receipt only settles that clinic's messages.
    let (event, verified_for) = match provider {
        Provider::Generic => {
            let secret = app
                .config
                .webhooks
                .as_ref()
                .map_or("", |w| w.secret.as_str());
            let signed_at = generic::verify(
                secret.as_bytes(),
                req.header(generic::TIMESTAMP_HEADER),
                req.header(generic::SIGNATURE_HEADER),
                &req.body,
                now,
            )
            .map_err(|e| refused(&app, &e))?;
            let event = match generic::parse(&req.body).map_err(|e| refused(&app, &e))? {
                Event::Inbound(sms) => Event::Inbound(InboundSms {
                    received_at: sms.received_at.or(Some(signed_at)),
                    ..sms
                }),
                other => other,
            };
            (event, None)
        }
        Provider::Twilio => {
            let params = twilio::params(&req.body);
            let signature = req.header(twilio::SIGNATURE_HEADER);
            if signature.is_none() {
                return Err(refused(
                    &app,
                    &WebhookError::MissingSignature("X-Twilio-Signature"),
                ));
            }
            let ours = twilio::our_number(&params).map_err(|e| refused(&app, &e))?;
            let (clinic, token) = twilio_token(&app, ours)
                .await
                .map_err(crate::ServiceError::from)?;
            // No clinic or no token: nothing can verify the post.
            twilio::verify(token.as_deref().unwrap_or(""), &req.url, &params, signature)
                .map_err(|e| refused(&app, &e))?;
            (
                twilio::parse(&params).map_err(|e| refused(&app, &e))?,
                clinic,
            )
        }
        Provider::Sns => match sns_post(&app, &req, now).await? {
            Some(e) => (e, None),
            None => return Ok(response::json(StatusCode::OK, &Handled::Ignored)),
        },
    };
    let handled = match event {
        Event::Inbound(sms) => inbound::receive(&app, provider, sms).await?,
        Event::Receipt(r) => inbound::receipt(&app, provider, verified_for.as_deref(), r).await?,
        Event::Ignored => Handled::Ignored,
    };
    Ok(response::json(StatusCode::OK, &handled))
}

/// The clinic whose reply number `ours` is, and its Twilio auth token.
async fn twilio_token(
    app: &App,
    ours: &str,
) -> Result<(Option<String>, Option<String>), crate::store::StoreError> {
    let Some(n) = phone::e164(ours) else {
        return Ok((None, None));
    };
    match app.store.clinic_for_number(&n).await? {
        Some(clinic) => {
            let token = app.store.twilio_token(&clinic).await?;
            Ok((Some(clinic), token))
        }
        None => Ok((None, None)),
    }
}

/// Verifies an SNS post: from a topic the deployment names, signed by SNS, and fresh.
/// Confirms a subscription (and returns `None`), or returns the event.
async fn sns_post(
    app: &App,
    req: &PublicRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Event>, ApiError> {
    let Some(config) = app.config.webhooks.as_ref() else {
        return Err(refused(app, &WebhookError::UnknownSource));
    };
    let prefix = config.sns_cert_prefix.as_str();
    let envelope = sns::envelope(&req.body).map_err(|e| refused(app, &e))?;
    if config.sns_topic_arns.is_empty() {
        tracing::error!(
            "SNS post refused: the deployment names no SNS topic (SmsTopicArns / SNS_TOPIC_ARNS)"
        );
        return Err(refused(app, &WebhookError::UnknownSource));
    }
    if !sns::topic_allowed(&envelope, &config.sns_topic_arns) {
        tracing::warn!(
            topic = envelope.topic_arn,
            "SNS post refused: a topic this deployment does not name"
        );
        return Err(refused(app, &WebhookError::UnknownSource));
    }
    if envelope.signature.trim().is_empty() {
        return Err(refused(app, &WebhookError::MissingSignature("Signature")));
    }
    if !sns::url_allowed(&envelope.signing_cert_url, prefix)
        || !envelope.signing_cert_url.ends_with(".pem")
    {
        return Err(refused(app, &WebhookError::BadSignature));
    }
    let cert = certificate(&envelope.signing_cert_url).await?;
    sns::verify(&envelope, &cert).map_err(|e| refused(app, &e))?;
    let sent = sns::sent_at(&envelope).map_err(|e| refused(app, &e))?;
    webhook::fresh(sent, now, config.sns_max_age).map_err(|e| refused(app, &e))?;
    match sns::read(&envelope, prefix).map_err(|e| refused(app, &e))? {
        sns::Post::Confirm { subscribe_url } => {
            let ok = client()
                .get(&subscribe_url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                tracing::error!(topic = envelope.topic_arn, "subscription not confirmed");
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "subscription_unconfirmed",
                    "the subscription could not be confirmed; SNS will retry",
                ));
            }
            tracing::info!(topic = envelope.topic_arn, "subscription confirmed");
            Ok(None)
        }
        sns::Post::Unsubscribed => Ok(None),
        sns::Post::Notification(e) => Ok(Some(e)),
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// The signing certificate at `url` (already checked to be on the SNS host), fetched once per
/// function instance.
async fn certificate(url: &str) -> Result<Vec<u8>, ApiError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(url).cloned()) {
        return Ok(c);
    }
    let unavailable = || {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "certificate_unavailable",
            "the SNS signing certificate could not be fetched; SNS will retry",
        )
    };
    let res = client().get(url).send().await.map_err(|_| unavailable())?;
    if !res.status().is_success() {
        return Err(unavailable());
    }
    let pem = res.bytes().await.map_err(|_| unavailable())?.to_vec();
    if let Ok(mut m) = cache.lock() {
        m.insert(url.to_owned(), pem.clone());
    }
    Ok(pem)
}
