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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
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
        let body =
            json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        super::response::json(self.status, &body)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: e.code,
            message: e.message,
            field: Some(e.field),
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
            },
            ServiceError::Store(store) => {
                tracing::error!(error = %store, "storage error");
                Self::internal()
            }
            ServiceError::Export(csv) => {
                tracing::error!(error = %csv, "export error");
                Self::internal()
            }
        }
    }
}
