//! Tidings' application layer: the DynamoDB store, the services that apply the domain rules to
//! it, and the HTTP layer every endpoint function shares (authentication, JSON errors, routing).

pub mod api;
pub mod app;
pub mod aws_calls;
pub mod campaign_function;
pub mod clock;
pub mod config;
pub mod csv_out;
pub mod deadline;
pub mod delivery;
pub mod error;
pub mod functions;
pub mod http;
pub mod ids;
pub mod json;
pub mod metrics;
pub mod queue;
pub mod scheduler;
pub mod secrets;
pub mod services;
pub mod ses_function;
pub mod sns_http;
pub mod stats_function;
pub mod store;
pub mod stripe;
pub mod sweep_function;
pub mod telemetry;
pub mod webhook_functions;
pub mod webhook_http;

pub use app::App;
pub use error::ServiceError;
