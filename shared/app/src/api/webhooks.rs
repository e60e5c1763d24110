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
use tidings_domain::webhook::{Event, Provider, WebhookError, generic, sns, twilio};

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

fn refused(e: &WebhookError) -> ApiError {
    match e {
        WebhookError::Malformed { field, message } => ApiError {
            field: Some((*field).to_owned()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid", message.clone())
        },
        WebhookError::Stale => {
            ApiError::new(StatusCode::UNAUTHORIZED, "stale_signature", e.to_string())
        }
        _ => ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
    }
}

async fn sms_webhook(app: App, req: PublicRequest) -> Result<Response<Body>, ApiError> {
    let provider =
        Provider::parse(req.param("provider")).ok_or_else(|| ApiError::not_found("provider"))?;
    let event = match provider {
        Provider::Generic => {
            let secret = app
                .config
                .webhooks
                .as_ref()
                .map_or("", |w| w.secret.as_str());
            generic::verify(
                secret.as_bytes(),
                req.header(generic::TIMESTAMP_HEADER),
                req.header(generic::SIGNATURE_HEADER),
                &req.body,
                chrono::Utc::now(),
            )
            .map_err(|e| refused(&e))?;
            generic::parse(&req.body).map_err(|e| refused(&e))?
        }
        Provider::Twilio => {
            let params = twilio::params(&req.body);
            let signature = req.header(twilio::SIGNATURE_HEADER);
            if signature.is_none() {
                return Err(refused(&WebhookError::MissingSignature(
                    "X-Twilio-Signature",
                )));
            }
            let to = twilio::destination(&params).map_err(|e| refused(&e))?;
            let token = twilio_token(&app, to)
                .await
                .map_err(crate::ServiceError::from)?;
            // No clinic or no token: nothing can verify the post.
            twilio::verify(token.as_deref().unwrap_or(""), &req.url, &params, signature)
                .map_err(|e| refused(&e))?;
            twilio::parse(&params).map_err(|e| refused(&e))?
        }
        Provider::Sns => match sns_post(&app, &req).await? {
            Some(e) => e,
            None => return Ok(response::json(StatusCode::OK, &Handled::Ignored)),
        },
    };
    let handled = match event {
        Event::Inbound(sms) => inbound::receive(&app, provider, sms).await?,
        Event::Receipt(r) => inbound::receipt(&app, r).await?,
        Event::Ignored => Handled::Ignored,
    };
    Ok(response::json(StatusCode::OK, &handled))
}

/// The auth token of the clinic whose reply number `to` is.
async fn twilio_token(app: &App, to: &str) -> Result<Option<String>, crate::store::StoreError> {
    let Some(n) = phone::e164(to) else {
        return Ok(None);
    };
    match app.store.clinic_for_number(&n).await? {
        Some(clinic) => app.store.twilio_token(&clinic).await,
        None => Ok(None),
    }
}

/// Verifies an SNS post; confirms a subscription (and returns `None`), or returns the event.
async fn sns_post(app: &App, req: &PublicRequest) -> Result<Option<Event>, ApiError> {
    let prefix = app
        .config
        .webhooks
        .as_ref()
        .map_or("", |w| w.sns_cert_prefix.as_str());
    let envelope = sns::envelope(&req.body).map_err(|e| refused(&e))?;
    if envelope.signature.trim().is_empty() {
        return Err(refused(&WebhookError::MissingSignature("Signature")));
    }
    if !sns::url_allowed(&envelope.signing_cert_url, prefix)
        || !envelope.signing_cert_url.ends_with(".pem")
    {
        return Err(refused(&WebhookError::BadSignature));
    }
    let cert = certificate(&envelope.signing_cert_url).await?;
    sns::verify(&envelope, &cert).map_err(|e| refused(&e))?;
    match sns::read(&envelope, prefix).map_err(|e| refused(&e))? {
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
