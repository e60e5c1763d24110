//! What SMS providers post to the webhook: inbound messages and delivery receipts, each
//! provider's format, and the signature that proves the post came from the provider.
//!
//! Parsing and verification are pure; fetching SNS signing certificates is the caller's.

pub mod generic;
pub mod sns;
pub mod twilio;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A provider the webhook accepts (`/webhooks/sms/{provider}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    #[error("the timestamp is more than five minutes from now")]
    Stale,
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
            Self::MissingSignature(_) | Self::BadSignature | Self::Stale
        )
    }

    pub(crate) fn malformed(field: &'static str, message: impl Into<String>) -> Self {
        Self::Malformed {
            field,
            message: message.into(),
        }
    }
}

/// Byte strings compared in constant time.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
