//! The providers: SMS through SNS `Publish`, email through SES v2 `SendEmail`.
//!
//! Throttling, 5xx answers and connections that could not be made are retried by the SDK's
//! standard retry strategy (exponential backoff with full jitter, up to [`MAX_ATTEMPTS`]
//! attempts): in each of those the provider certainly did not take the message. A call whose
//! request may have reached the provider (a timeout, a connection lost after the request went
//! out, an answer that cannot be read) is never retried: SNS `Publish` and SES `SendEmail`
//! have no idempotency token, so a retry could send the message twice. What is left is a
//! [`DeliveryError`] that says whether the provider refused the message, could not be
//! reached, or may have taken it ([`DeliveryError::Unknown`]).

use aws_config::SdkConfig;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;
use thiserror::Error;

/// Attempts per provider call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// The provider refused the message; sending it again would fail again.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The provider was throttling, failing or unreachable through every attempt.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The request may have reached the provider, but its answer was lost: the message may
    /// have been sent.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl DeliveryError {
    /// What kind of failure it is, for logs (the provider's text can quote an address).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rejected(_) => "rejected",
            Self::Unavailable(_) => "unavailable",
            Self::Unknown(_) => "outcome_unknown",
        }
    }
}

/// One SMS.
pub struct Sms<'a> {
    /// E.164.
    pub to: &'a str,
    pub text: &'a str,
    pub sender_id: &'a str,
    /// Transactional (appointments, practice messages) or promotional (marketing).
    pub transactional: bool,
}

/// One email to one address.
pub struct Email<'a> {
    pub from_name: Option<&'a str>,
    pub from_address: &'a str,
    /// The SES identity (domain or address) ops assigned to the clinic that covers
    /// `from_address`: SES authorises the send against it and no other.
    pub identity: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// SES message tags; events about the email carry them back (`clinic_id`, `message_id`).
    pub tags: &'a [(&'a str, &'a str)],
    /// Extra headers (`List-Unsubscribe`).
    pub headers: &'a [(&'a str, String)],
}

/// The SNS and SES clients, built once per cold start.
#[derive(Clone, Debug)]
pub struct Delivery {
    sns: aws_sdk_sns::Client,
    ses: aws_sdk_sesv2::Client,
    /// The SES configuration set whose event destination reports deliveries, bounces and
    /// complaints (`SES_CONFIGURATION_SET`); none locally.
    configuration_set: Option<String>,
    /// `arn:<partition>:ses:<region>:<account>:identity/` (`SES_IDENTITY_ARN_PREFIX`): each
    /// email names the clinic's own identity with it (`FromEmailAddressIdentityArn`).
    identity_arn_prefix: Option<String>,
}

impl Delivery {
    /// Clients with the retry and timeout policy above, from the standard AWS configuration.
    /// With `calls`, every call is recorded for the IAM check (see `aws_calls`).
    pub fn new(aws: &SdkConfig, calls: Option<&crate::aws_calls::AwsCallLog>) -> Self {
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(4));
        let timeout = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(5))
            .build();
        let mut sns = aws_sdk_sns::config::Builder::from(aws)
            .retry_config(retry.clone())
            .timeout_config(timeout.clone())
            .retry_classifier(MayHaveReachedProvider);
        let mut ses = aws_sdk_sesv2::config::Builder::from(aws)
            .retry_config(retry)
            .timeout_config(timeout)
            .retry_classifier(MayHaveReachedProvider);
        if let Some(calls) = calls {
            sns.push_interceptor(SharedInterceptor::new(calls.clone()));
            ses.push_interceptor(SharedInterceptor::new(calls.clone()));
        }
        Self {
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            ses: aws_sdk_sesv2::Client::from_conf(ses.build()),
            configuration_set: None,
            identity_arn_prefix: None,
        }
    }

    /// [`Delivery::new`] as the stage sends: through its SES configuration set, naming each
    /// email's identity with its identity ARN prefix.
    pub fn for_stage(
        aws: &SdkConfig,
        calls: Option<&crate::aws_calls::AwsCallLog>,
        config: &crate::config::Config,
    ) -> Self {
        Self::new(aws, calls)
            .with_configuration_set(config.ses_configuration_set.clone())
            .with_identity_arn_prefix(config.ses_identity_arn_prefix.clone())
    }

    /// Names each email's identity as `<prefix><identity>` (`FromEmailAddressIdentityArn`).
    fn with_identity_arn_prefix(mut self, prefix: Option<String>) -> Self {
        self.identity_arn_prefix = prefix;
        self
    }

    /// Whether SES has the identity (a domain or an address) in this account and region; ops
    /// assign only identities that exist.
    pub async fn identity_exists(&self, identity: &str) -> Result<bool, DeliveryError> {
        match self
            .ses
            .get_email_identity()
            .email_identity(identity)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Sends email through the SES configuration set `name`.
    fn with_configuration_set(mut self, name: Option<String>) -> Self {
        self.configuration_set = name;
        self
    }

    /// Publishes one SMS; the provider's message id.
    pub async fn send_sms(&self, sms: &Sms<'_>) -> Result<String, DeliveryError> {
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| DeliveryError::Rejected(e.to_string()))
        };
        let sms_type = if sms.transactional {
            "Transactional"
        } else {
            "Promotional"
        };
        let out = self
            .sns
            .publish()
            .phone_number(sms.to)
            .message(sms.text)
            .message_attributes("AWS.SNS.SMS.SenderID", attr(sms.sender_id)?)
            .message_attributes("AWS.SNS.SMS.SMSType", attr(sms_type)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Sends one email to one address; the provider's message id.
    pub async fn send_email(&self, email: &Email<'_>) -> Result<String, DeliveryError> {
        let content = |v: &str| {
            Content::builder()
                .data(v)
                .charset("UTF-8")
                .build()
                .map_err(|e| DeliveryError::Rejected(e.to_string()))
        };
        let mut body = Body::builder().text(content(email.text)?);
        if let Some(html) = email.html {
            body = body.html(content(html)?);
        }
        let headers = email
            .headers
            .iter()
            .map(|(name, value)| {
                aws_sdk_sesv2::types::MessageHeader::builder()
                    .name(*name)
                    .value(value)
                    .build()
                    .map_err(|e| DeliveryError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let message = Message::builder()
            .subject(content(email.subject)?)
            .body(body.build())
            .set_headers((!headers.is_empty()).then_some(headers))
            .build();
        let from = match email.from_name {
            Some(name) => mailbox(name, email.from_address),
            None => email.from_address.to_owned(),
        };
        let out = self
            .ses
            .send_email()
            .from_email_address(from)
            .set_from_email_address_identity_arn(
                self.identity_arn_prefix
                    .as_ref()
                    .map(|p| format!("{p}{}", email.identity)),
            )
            .destination(Destination::builder().to_addresses(email.to).build())
            .set_reply_to_addresses(email.reply_to.map(|r| vec![r.to_owned()]))
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(Some(tags(email.tags)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }
}

fn tags(pairs: &[(&str, &str)]) -> Result<Vec<aws_sdk_sesv2::types::MessageTag>, DeliveryError> {
    pairs
        .iter()
        .map(|(name, value)| {
            aws_sdk_sesv2::types::MessageTag::builder()
                .name(*name)
                .value(*value)
                .build()
                .map_err(|e| DeliveryError::Rejected(e.to_string()))
        })
        .collect()
}

/// What is left of a failed call after the SDK's retries.
fn classify<E, R>(e: aws_sdk_sns::error::SdkError<E, R>) -> DeliveryError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    use aws_sdk_sns::error::SdkError;
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let message = err.message().unwrap_or("no reason given");
            let status = service.raw().status_code();
            let throttled = code.contains("Throttl") || code.contains("TooManyRequests");
            if status >= 500 || status == 429 || throttled {
                DeliveryError::Unavailable(format!("{code}: {message}"))
            } else {
                DeliveryError::Rejected(format!("{code}: {message}"))
            }
        }
        SdkError::TimeoutError(_) => {
            DeliveryError::Unknown("no answer in time after the request went out".into())
        }
        SdkError::DispatchFailure(d) if d.as_connector_error().is_some_and(never_sent) => {
            DeliveryError::Unavailable("could not connect".into())
        }
        SdkError::DispatchFailure(_) => {
            DeliveryError::Unknown("the connection was lost after the request went out".into())
        }
        SdkError::ResponseError(_) => DeliveryError::Unknown("unreadable answer".into()),
        // The request could not be built: nothing went out.
        _ => DeliveryError::Unavailable("request not sent".into()),
    }
}

/// Forbids the SDK's retry of a call whose request may have reached the provider: any error but
/// an answer the provider gave (throttling, 5xx, a refusal) or a connection never made.
#[derive(Debug)]
struct MayHaveReachedProvider;

impl ClassifyRetry for MayHaveReachedProvider {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(e)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let reached = e.is_timeout_error()
            || e.is_response_error()
            || e.as_connector_error().is_some_and(|c| !never_sent(c));
        if reached {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "a request that may have reached the provider is not retried"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Whether a connector error happened while connecting, before any of the request was sent.
fn never_sent(e: &ConnectorError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper_util::client::legacy::Error>() {
            return h.is_connect();
        }
        source = err.source();
    }
    false
}

/// The HTTP status of a raw response.
pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// `"Display Name" <address>`, with a non-ASCII name encoded as RFC 2047 UTF-8 base64.
pub fn mailbox(name: &str, address: &str) -> String {
    use base64::Engine;
    let clean: String = name.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        let quoted = clean.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{quoted}\" <{address}>")
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(clean.as_bytes());
        format!("=?UTF-8?B?{encoded}?= <{address}>")
    }
}

#[cfg(test)]
mod tests {
    use super::mailbox;

    #[test]
    fn display_names_are_quoted_or_encoded() {
        assert_eq!(
            mailbox("Dr \"Max\" Ng", "a@b.example"),
            "\"Dr \\\"Max\\\" Ng\" <a@b.example>"
        );
        assert_eq!(
            mailbox("Dr Zoë", "a@b.example"),
            "=?UTF-8?B?RHIgWm/Dqw==?= <a@b.example>"
        );
    }
}
