//! The `ses-events` function: SNS delivers SES events (the configuration set's event
//! destination) to it; see `services::email_events`.

use crate::App;
use crate::services::email_events;
use lambda_http::{LambdaEvent, service_fn};
use serde::Deserialize;

/// The SNS event Lambda receives: its records' messages are SES events.
#[derive(Debug, Deserialize)]
pub struct SnsLambdaEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Deserialize)]
pub struct SnsRecord {
    #[serde(rename = "Sns")]
    pub sns: SnsMessage,
}

#[derive(Debug, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "Message")]
    pub message: String,
}

/// Applies every record; how many changed a message. A record that is not an SES event is
/// logged and dropped (retrying would not help); a store failure fails the invocation so
/// that Lambda retries it (applying an event twice changes nothing).
pub async fn handle(app: &App, event: SnsLambdaEvent) -> Result<usize, crate::ServiceError> {
    crate::aws_calls::as_function("ses-events", Box::pin(apply_all(app, event))).await
}

async fn apply_all(app: &App, event: SnsLambdaEvent) -> Result<usize, crate::ServiceError> {
    let mut recorded = 0;
    for r in event.records {
        match tidings_domain::ses_event::parse(&r.sns.message) {
            Ok(e) => {
                if email_events::apply(app, e).await? == email_events::Applied::Recorded {
                    recorded += 1;
                }
            }
            // The parser's message can quote the record, which may hold addresses: not logged.
            Err(_) => tracing::warn!("dropped a record that is not an SES event"),
        }
    }
    Ok(recorded)
}

/// The `main` of the `ses-events` function.
pub async fn serve() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsLambdaEvent>| {
        let app = app.clone();
        async move {
            handle(&app, event.payload).await.map_err(|e| {
                tracing::error!(error = ?e, "SES events not applied");
                lambda_http::Error::from(e)
            })
        }
    }))
    .await
}
