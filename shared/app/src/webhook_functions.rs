//! The two functions that send clinics' events out: `webhook-events` (the table's stream:
//! changes become deliveries, see `services::webhook_events`) and `webhook-deliver` (the
//! delivery queue: one attempt per message, see `services::webhook_delivery`).

use crate::App;
use crate::queue::{BatchResponse, ItemFailure, SqsEvent};
use crate::services::webhook_delivery::DeliveryRef;
use crate::services::webhook_delivery::{self, Next};
use crate::services::webhook_events::{self, Image, StoredChange};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lambda_http::{LambdaEvent, service_fn};
use serde::Deserialize;

/// The DynamoDB stream event Lambda receives.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    pub dynamodb: StreamData,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamData {
    /// Epoch seconds.
    pub approximate_creation_date_time: Option<f64>,
    pub keys: Image,
    pub new_image: Option<Image>,
    pub old_image: Option<Image>,
    pub sequence_number: String,
}

fn key(image: &Image, name: &str) -> String {
    match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The stream's records as changes.
pub fn changes(event: StreamEvent, now: DateTime<Utc>) -> Vec<StoredChange> {
    event
        .records
        .into_iter()
        .map(|r| {
            let d = r.dynamodb;
            let at = d
                .approximate_creation_date_time
                .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
                .unwrap_or(now);
            StoredChange {
                sequence: d.sequence_number,
                at,
                pk: key(&d.keys, "pk"),
                sk: key(&d.keys, "sk"),
                new: d.new_image,
                old: d.old_image,
            }
        })
        .collect()
}

/// `webhook-events`: a failure fails the batch, which Lambda retries (then sends to the
/// failed-events queue); changes already forwarded are the same deliveries again.
pub async fn handle_stream(
    app: &App,
    event: StreamEvent,
) -> Result<usize, webhook_events::ForwardError> {
    let changes = changes(event, app.now());
    crate::aws_calls::as_function("webhook-events", webhook_events::forward(app, &changes)).await
}

/// `webhook-deliver`: attempts each delivery of the batch, ten at a time. A failed attempt
/// hides its message until its next attempt is due and leaves it on the queue.
pub async fn handle_queue(app: &App, event: SqsEvent) -> BatchResponse {
    crate::aws_calls::as_function("webhook-deliver", deliver_all(app, event)).await
}

async fn deliver_all(app: &App, event: SqsEvent) -> BatchResponse {
    let results: Vec<Option<ItemFailure>> = futures::stream::iter(event.records)
        .map(|r| async move {
            let Ok(target) = serde_json::from_str::<DeliveryRef>(&r.body) else {
                tracing::warn!(message_id = r.message_id, "dropped a queue message that names no delivery");
                return None;
            };
            let retry = match webhook_delivery::attempt(app, &target).await {
                Ok(Next::Done) => return None,
                Ok(Next::RetryAfter(secs)) => Some(secs),
                Err(e) => {
                    tracing::error!(error = ?e, event_id = target.event_id, "webhook delivery not recorded");
                    None
                }
            };
            if let Some(secs) = retry
                && let Err(e) = app.webhook_queue.retry_after(&r.receipt_handle, secs).await
            {
                tracing::error!(error = ?e, event_id = target.event_id, "next attempt not scheduled; the queue's visibility timeout applies");
            }
            Some(ItemFailure {
                item_identifier: r.message_id,
            })
        })
        .buffer_unordered(10)
        .collect()
        .await;
    BatchResponse {
        batch_item_failures: results.into_iter().flatten().collect(),
    }
}

/// The `main` of `webhook-events`.
pub async fn serve_events() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let app = app.clone();
        async move {
            handle_stream(&app, event.payload).await.map_err(|e| {
                tracing::error!(error = ?e, "stream changes not forwarded");
                lambda_http::Error::from(e)
            })
        }
    }))
    .await
}

/// The `main` of `webhook-deliver`.
pub async fn serve_deliveries() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, lambda_http::Error>(handle_queue(&app, event.payload).await) }
    }))
    .await
}
