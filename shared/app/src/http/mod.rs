//! The HTTP layer every endpoint function shares: authentication, request parsing, JSON
//! errors, and the Lambda entry point. It behaves the same under `cargo lambda watch` and in AWS.

pub mod auth;
pub mod contract;
pub mod endpoint;
pub mod error;
pub mod public;
pub mod request;
pub mod response;

pub use auth::Caller;
pub use contract::{Doc, Gives, Takes, schema};
pub use endpoint::{Endpoint, dispatch, serve, serve_scheduling};
pub use error::ApiError;
pub use public::{PublicEndpoint, PublicRequest, serve_public};
pub use request::ApiRequest;
