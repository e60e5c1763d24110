//! Every Lambda function by name: the one table from a function's name (its crate and binary
//! in `functions/`, and its `Handler` in template.yaml) to what it serves.
//!
//! Each crate in `functions/` serves its own name; `cargo lambda watch` runs those. `sam build`
//! builds the `tidings` binary (`shared/lambda`) once for every function, and Lambda tells it
//! which one it is through `_HANDLER`, the function's `Handler`.

use crate::api;
use crate::http::{Endpoint, serve, serve_public, serve_scheduling};
use crate::sweep_function::Sweep;

/// Why a binary could not tell which function to serve.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("no function is named {0:?} (template.yaml's Handler, or the crate in functions/)")]
    Unknown(String),
    #[error(
        "_HANDLER is not set: Lambda sets it to the function's Handler in template.yaml, which names the function"
    )]
    NoHandler,
}

/// The functions that create or delete schedules: a missing scheduling setting stops their
/// cold start.
const SCHEDULING: &[&Endpoint] = &[&api::campaigns::CREATE, &api::campaigns::CANCEL];

/// A function without an HTTP route: Scheduler or SNS invokes it.
#[derive(Debug, Clone, Copy)]
enum EventFunction {
    RunCampaign,
    SesEvents,
    ReminderSweep,
    GreetingSweep,
    WebhookEvents,
    WebhookDeliver,
    SweepClinic,
    CountStats,
}

const EVENT_FUNCTIONS: &[(&str, EventFunction)] = &[
    ("run-campaign", EventFunction::RunCampaign),
    ("ses-events", EventFunction::SesEvents),
    ("reminder-sweep", EventFunction::ReminderSweep),
    ("greeting-sweep", EventFunction::GreetingSweep),
    ("webhook-events", EventFunction::WebhookEvents),
    ("webhook-deliver", EventFunction::WebhookDeliver),
    ("sweep-clinic", EventFunction::SweepClinic),
    ("count-stats", EventFunction::CountStats),
];

/// Serves the function `name` until Lambda stops the process.
pub async fn serve_function(name: &str) -> Result<(), lambda_http::Error> {
    if let Some((_, event)) = EVENT_FUNCTIONS.iter().find(|(n, _)| *n == name) {
        return match event {
            EventFunction::RunCampaign => crate::campaign_function::serve().await,
            EventFunction::SesEvents => crate::ses_function::serve().await,
            EventFunction::ReminderSweep => crate::sweep_function::serve(Sweep::Reminders).await,
            EventFunction::GreetingSweep => crate::sweep_function::serve(Sweep::Greetings).await,
            EventFunction::WebhookEvents => crate::webhook_functions::serve_events().await,
            EventFunction::WebhookDeliver => crate::webhook_functions::serve_deliveries().await,
            EventFunction::SweepClinic => crate::sweep_function::serve_clinics().await,
            EventFunction::CountStats => crate::stats_function::serve().await,
        };
    }
    if let Some(endpoint) = api::ALL.iter().find(|e| e.function == name) {
        if SCHEDULING.iter().any(|s| s.function == name) {
            return serve_scheduling(endpoint).await;
        }
        return serve(endpoint).await;
    }
    if let Some(endpoint) = api::PUBLIC.iter().find(|e| e.function == name) {
        return serve_public(endpoint).await;
    }
    Err(FunctionError::Unknown(name.to_owned()).into())
}

/// Serves the function Lambda names in `_HANDLER` (the `tidings` binary that `sam build` makes).
pub async fn serve_handler() -> Result<(), lambda_http::Error> {
    let name = std::env::var("_HANDLER").map_err(|_| FunctionError::NoHandler)?;
    serve_function(&name).await
}

/// The functions without an HTTP route.
pub fn event_functions() -> impl Iterator<Item = &'static str> {
    EVENT_FUNCTIONS.iter().map(|(name, _)| *name)
}

/// Every function's name: the HTTP endpoints' and the event functions'.
pub fn names() -> impl Iterator<Item = &'static str> {
    api::ALL
        .iter()
        .map(|e| e.function)
        .chain(api::PUBLIC.iter().map(|e| e.function))
        .chain(event_functions())
}
