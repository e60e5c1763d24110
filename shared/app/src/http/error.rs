//! The one mapping from errors to HTTP responses: `{"error": {"code", "message", "field"}}`.
//! Internal errors are logged with their detail and answered with a generic 500; no internal
//! text, stack or SDK message reaches a client.

use crate::ServiceError;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use tidings_domain::FieldError;

/// An error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Further members of the error object (e.g. `needed` and `available` of a 402).
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send a valid API key as 'Authorization: Bearer <key>'",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this API key's role may not do this",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        error.insert("field".into(), json!(self.field));
        error.extend(self.details.unwrap_or_default());
        super::response::json(self.status, &json!({ "error": error }))
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: e.code,
            message: e.message,
            field: Some(e.field),
            details: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) => f.into(),
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Conflict {
                code,
                field,
                message,
            } => Self {
                status: StatusCode::CONFLICT,
                code,
                message,
                field: field.map(str::to_owned),
                details: None,
            },
            ServiceError::InsufficientCredits { needed, available } => {
                let mut details = serde_json::Map::new();
                details.insert("needed".into(), json!(needed));
                details.insert("available".into(), json!(available));
                Self {
                    status: StatusCode::PAYMENT_REQUIRED,
                    code: "insufficient_credits",
                    message: format!(
                        "this send needs {needed} credits and the account has {available}; nothing was sent"
                    ),
                    field: None,
                    details: Some(details),
                }
            }
            ServiceError::PaymentDeclined { reason } => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "payment_declined",
                format!("the card was declined: {reason}; no credits were added"),
            ),
            ServiceError::PaymentUnavailable(e) => {
                if let Some(e) = e {
                    tracing::error!(error = %e, "payment provider error");
                }
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment_unavailable",
                    "card payments are unavailable right now; retry with the same Idempotency-Key",
                )
            }
            ServiceError::Store(store) => {
                tracing::error!(error = %store, "storage error");
                Self::internal()
            }
            ServiceError::Export(csv) => {
                tracing::error!(error = %csv, "export error");
                Self::internal()
            }
            ServiceError::Schedule(e) => {
                tracing::error!(error = %e, "scheduler error");
                Self::internal()
            }
        }
    }
}
