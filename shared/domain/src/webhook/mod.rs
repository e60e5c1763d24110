//! What SMS providers post to the webhook: inbound messages and delivery receipts, each
//! provider's format, and the signature that proves the post came from the provider.
//!
//! Parsing and verification are pure; fetching SNS signing certificates is the caller's.

pub mod generic;
pub mod sns;
pub mod twilio;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A provider the webhook accepts (`/webhooks/sms/{provider}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Sns,
    Twilio,
    Generic,
}

impl Provider {
    pub fn parse(v: &str) -> Option<Self> {
        match v {
            "sns" => Some(Self::Sns),
            "twilio" => Some(Self::Twilio),
            "generic" => Some(Self::Generic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sns => "sns",
            Self::Twilio => "twilio",
            Self::Generic => "generic",
        }
    }
}

/// An SMS a patient sent.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    /// The provider's id of the message: a replay with the same id is stored once.
    pub provider_message_id: String,
    /// The sender's number.
    pub from: String,
    /// The number it was sent to (the clinic's).
    pub to: String,
    pub body: String,
    /// When the patient sent it, as the provider says (SNS: the post's `Timestamp`; generic:
    /// `received_at` or the signed timestamp); `None` when the provider does not say (Twilio).
    /// Consent changes apply in this order.
    pub received_at: Option<DateTime<Utc>>,
}

/// What a carrier reported about a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The provider's id of the message we sent.
    pub provider_message_id: String,
    pub delivered: bool,
    /// The carrier's reason, when it failed.
    pub reason: Option<String>,
}

/// One verified post, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Inbound(InboundSms),
    Receipt(Receipt),
    /// A post that needs no action (a status the webhook does not track).
    Ignored,
}

/// Why a post was refused. Signature problems are 401; the rest 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {0} header is missing")]
    MissingSignature(&'static str),
    #[error("the signature does not match")]
    BadSignature,
    /// Older than the freshness window, or further ahead than clock skew explains.
    #[error("the post is too old, or dated in the future")]
    Stale,
    /// Signed by a source this deployment does not name (an SNS topic of another account).
    #[error("the post comes from a source this deployment does not accept")]
    UnknownSource,
    #[error("{field}: {message}")]
    Malformed {
        field: &'static str,
        message: String,
    },
}

impl WebhookError {
    pub fn is_signature(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature(_) | Self::BadSignature | Self::Stale | Self::UnknownSource
        )
    }

    pub(crate) fn malformed(field: &'static str, message: impl Into<String>) -> Self {
        Self::Malformed {
            field,
            message: message.into(),
        }
    }
}

/// How far ahead of our clock a provider's timestamp may be: clocks differ a little.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Checks that a post sent at `sent` is neither older than `max_age` nor further ahead of
/// `now` than [`CLOCK_SKEW`]. The difference of two times always fits a `Duration`, so no
/// timestamp can make this overflow.
pub fn fresh(
    sent: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<(), WebhookError> {
    let age = now.signed_duration_since(sent);
    if age > max_age || -age > CLOCK_SKEW {
        Err(WebhookError::Stale)
    } else {
        Ok(())
    }
}

/// Byte strings compared in constant time.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod freshness_tests {
    use super::*;

    #[test]
    fn fresh_within_the_window_stale_outside_and_never_overflowing() {
        let now = Utc::now();
        let hour = Duration::hours(1);
        assert_eq!(fresh(now - Duration::minutes(59), now, hour), Ok(()));
        assert_eq!(fresh(now + Duration::minutes(4), now, hour), Ok(()));
        assert_eq!(
            fresh(now - Duration::days(3), now, hour),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            fresh(now + Duration::minutes(6), now, hour),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            fresh(DateTime::<Utc>::MIN_UTC, now, hour),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            fresh(DateTime::<Utc>::MAX_UTC, now, hour),
            Err(WebhookError::Stale)
        );
    }
}
