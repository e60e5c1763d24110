//! The errors services return; `http::error` maps them to responses in one place.

use crate::store::StoreError;
use thiserror::Error;
use tidings_domain::FieldError;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// Bad input: a 400 naming the field.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Missing, deleted, or another clinic's: a 404 either way, so ids cannot be probed.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with stored data (a duplicate external id, a concurrent change).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
    },
    /// The account cannot pay for the send: a 402 with both figures.
    #[error("{needed} credits needed, {available} available")]
    InsufficientCredits { needed: i64, available: i64 },
    /// The card was declined: a 402 with the card issuer's reason, and no credits.
    #[error("payment declined: {reason}")]
    PaymentDeclined { reason: String },
    /// Stripe could not be asked, or is not configured: a 503 (a retry with the same
    /// Idempotency-Key is safe).
    #[error("payments are unavailable")]
    PaymentUnavailable(#[source] Option<crate::stripe::StripeError>),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("the CSV export could not be written")]
    Export(#[from] csv::Error),
    #[error("scheduling failed")]
    Schedule(#[from] crate::scheduler::SchedulerError),
}

impl ServiceError {
    pub fn conflict(
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self::Conflict {
            code,
            field,
            message: message.into(),
        }
    }
}
