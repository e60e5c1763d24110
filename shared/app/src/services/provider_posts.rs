//! A provider's post to `POST /webhooks/sms/{provider}`, from its arrival to its effect: first
//! who sent it (the deployment's generic secret, a clinic's Twilio token, or one of the
//! deployment's SNS topics, signed by SNS and fresh), then what it says (a reply or a
//! receipt, handed to [`inbound`]). Nothing of a post is acted on before it is verified.

use super::inbound::{self, Handled};
use crate::sns_http::SnsHttpError;
use crate::{App, ServiceError};
use chrono::{DateTime, Utc};
use http::HeaderMap;
use tidings_domain::phone;
use tidings_domain::webhook::{
    self, Event, InboundSms, Provider, WebhookError, generic, sns, twilio,
};

/// A post as it arrived.
pub struct ProviderPost<'a> {
    pub body: &'a [u8],
    pub headers: &'a HeaderMap,
    /// The URL the provider posted to (Twilio signs it).
    pub url: &'a str,
}

impl ProviderPost<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a post was not acted on.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Its signature, source or form: nothing was read of it.
    #[error(transparent)]
    Refused(#[from] WebhookError),
    /// SNS's certificate or subscription could not be reached: SNS retries.
    #[error(transparent)]
    Sns(#[from] SnsHttpError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A verified post's event, and who vouched for it: the deployment (its SNS topics, its
/// generic secret: `None`) or one clinic (its Twilio token). A receipt only settles that
/// clinic's messages.
struct Verified {
    event: Event,
    for_clinic: Option<String>,
}

/// Verifies `post` from `provider`, then stores and acts on what it says.
pub async fn handle(
    app: &App,
    provider: Provider,
    post: &ProviderPost<'_>,
) -> Result<Handled, PostError> {
    let now = app.now();
    let verified = match provider {
        Provider::Generic => generic_post(app, post, now)?,
        Provider::Twilio => twilio_post(app, post).await?,
        Provider::Sns => match sns_post(app, post, now).await? {
            Some(v) => v,
            // A subscription confirmed, or an unsubscription noted.
            None => return Ok(Handled::Ignored),
        },
    };
    let handled = match verified.event {
        Event::Inbound(sms) => inbound::receive(app, provider, sms).await?,
        Event::Receipt(r) => {
            inbound::receipt(app, provider, verified.for_clinic.as_deref(), r).await?
        }
        Event::Ignored => Handled::Ignored,
    };
    Ok(handled)
}

/// A post signed with the deployment's generic secret; a reply without its own time was
/// received when it was signed.
fn generic_post(
    app: &App,
    post: &ProviderPost<'_>,
    now: DateTime<Utc>,
) -> Result<Verified, WebhookError> {
    let secret = app
        .config
        .webhooks
        .as_ref()
        .map_or("", |w| w.secret.as_str());
    let signed_at = generic::verify(
        secret.as_bytes(),
        post.header(generic::TIMESTAMP_HEADER),
        post.header(generic::SIGNATURE_HEADER),
        post.body,
        now,
    )?;
    let event = match generic::parse(post.body)? {
        Event::Inbound(sms) => Event::Inbound(InboundSms {
            received_at: sms.received_at.or(Some(signed_at)),
            ..sms
        }),
        other => other,
    };
    Ok(Verified {
        event,
        for_clinic: None,
    })
}

/// A post signed with the Twilio auth token of the clinic whose number it names.
async fn twilio_post(app: &App, post: &ProviderPost<'_>) -> Result<Verified, PostError> {
    let params = twilio::params(post.body);
    let signature = post.header(twilio::SIGNATURE_HEADER);
    if signature.is_none() {
        return Err(WebhookError::MissingSignature("X-Twilio-Signature").into());
    }
    let ours = twilio::our_number(&params)?;
    let (clinic, token) = twilio_token(app, ours).await?;
    // No clinic or no token: nothing can verify the post.
    twilio::verify(token.as_deref().unwrap_or(""), post.url, &params, signature)?;
    Ok(Verified {
        event: twilio::parse(&params)?,
        for_clinic: clinic,
    })
}

/// The clinic whose reply number `ours` is, and its Twilio auth token.
async fn twilio_token(
    app: &App,
    ours: &str,
) -> Result<(Option<String>, Option<String>), ServiceError> {
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

/// An SNS post: from a topic the deployment names, signed by SNS, and fresh. Confirms a
/// subscription (and returns `None`), or returns the event.
async fn sns_post(
    app: &App,
    post: &ProviderPost<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Verified>, PostError> {
    let (Some(config), Some(http)) = (app.config.webhooks.as_ref(), app.sns_http.as_ref()) else {
        return Err(WebhookError::UnknownSource.into());
    };
    let prefix = config.sns_cert_prefix.as_str();
    let envelope = sns::envelope(post.body)?;
    if config.sns_topic_arns.is_empty() {
        tracing::error!(
            "SNS post refused: the deployment names no SNS topic (SmsTopicArns / SNS_TOPIC_ARNS)"
        );
        return Err(WebhookError::UnknownSource.into());
    }
    if !sns::topic_allowed(&envelope, &config.sns_topic_arns) {
        tracing::warn!(
            topic = envelope.topic_arn,
            "SNS post refused: a topic this deployment does not name"
        );
        return Err(WebhookError::UnknownSource.into());
    }
    if envelope.signature.trim().is_empty() {
        return Err(WebhookError::MissingSignature("Signature").into());
    }
    if !sns::url_allowed(&envelope.signing_cert_url, prefix)
        || !envelope.signing_cert_url.ends_with(".pem")
    {
        return Err(WebhookError::BadSignature.into());
    }
    let cert = http.certificate(&envelope.signing_cert_url).await?;
    sns::verify(&envelope, &cert)?;
    webhook::fresh(sns::sent_at(&envelope)?, now, config.sns_max_age)?;
    match sns::read(&envelope, prefix)? {
        sns::Post::Confirm { subscribe_url } => {
            http.confirm(&subscribe_url).await.inspect_err(|_| {
                tracing::error!(topic = envelope.topic_arn, "subscription not confirmed")
            })?;
            tracing::info!(topic = envelope.topic_arn, "subscription confirmed");
            Ok(None)
        }
        sns::Post::Unsubscribed => Ok(None),
        sns::Post::Notification(event) => Ok(Some(Verified {
            event,
            for_clinic: None,
        })),
    }
}
