//! The reminder and greeting sweeps, fanned out per clinic. A recurring EventBridge schedule
//! (template.yaml) invokes `reminder-sweep` or `greeting-sweep` with its scheduled time,
//! `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`; that function puts one message per
//! clinic on the sweep queue and returns. `sweep-clinic`, the queue's SQS event source (at most
//! `MaximumConcurrency` copies at once), sweeps each clinic as of that time. A clinic whose sweep
//! fails leaves its message on the queue: it is tried again alone a minute later, never delaying
//! another, and after five receives lands in the failed-events queue. Invoking a sweep with a
//! later time is how tests (and ops) run it "at" a moment; each reminder and greeting is still
//! sent once (claims), however often a clinic's message arrives.

use crate::App;
use crate::queue::{BatchResponse, ItemFailure, QueueError, SqsEvent};
use crate::services::{greetings, reminders, unconfirmed};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lambda_http::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

/// What the schedule sends.
#[derive(Debug, Default, Deserialize)]
pub struct SweepEvent {
    /// The firing's scheduled time; the invocation time when absent.
    #[serde(default)]
    pub scheduled_time: Option<DateTime<Utc>>,
}

/// Which sweep a function runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    Reminders,
    Greetings,
}

/// One message of the sweep queue: one clinic's sweep as of the schedule's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicSweep {
    pub sweep: Sweep,
    pub clinic_id: String,
    pub at: DateTime<Utc>,
}

/// How many clinics one `sweep-clinic` copy sweeps at once (its batch).
const AT_ONCE: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("the clinics could not be listed")]
    Clinics(#[source] crate::ServiceError),
    #[error("the clinics' sweeps could not be queued")]
    Queue(#[source] QueueError),
    #[error("the sweep of dead sends failed")]
    OpenSends(#[source] crate::ServiceError),
}

/// `reminder-sweep` and `greeting-sweep`: one message per clinic on the sweep queue; the
/// reminder sweep also marks unconfirmed the messages of sends whose function died.
pub async fn dispatch(
    app: &App,
    sweep: Sweep,
    at: DateTime<Utc>,
) -> Result<serde_json::Value, DispatchError> {
    let clinics = app
        .store
        .list_clinic_ids()
        .await
        .map_err(|e| DispatchError::Clinics(e.into()))?;
    let units: Vec<ClinicSweep> = clinics
        .into_iter()
        .map(|clinic_id| ClinicSweep {
            sweep,
            clinic_id,
            at,
        })
        .collect();
    app.sweep_queue
        .enqueue(&units)
        .await
        .map_err(DispatchError::Queue)?;
    tracing::info!(?sweep, clinics = units.len(), %at, "clinic sweeps queued");
    let mut out = serde_json::json!({ "clinics_queued": units.len() });
    if sweep == Sweep::Reminders {
        let stuck = unconfirmed::sweep_open_sends(app)
            .await
            .map_err(DispatchError::OpenSends)?;
        out["open_sends"] = serde_json::to_value(stuck).unwrap_or_default();
    }
    Ok(out)
}

/// `sweep-clinic`: sweeps the batch's clinics, ten at a time. A clinic whose sweep failed is
/// named in the answer (its message stays on the queue) and hidden for a minute.
pub async fn handle_queue(app: &App, event: SqsEvent) -> BatchResponse {
    crate::aws_calls::as_function("sweep-clinic", sweep_all(app, event)).await
}

async fn sweep_all(app: &App, event: SqsEvent) -> BatchResponse {
    let results: Vec<Option<ItemFailure>> = futures::stream::iter(event.records)
        .map(|r| async move {
            let Ok(unit) = serde_json::from_str::<ClinicSweep>(&r.body) else {
                tracing::warn!(message_id = r.message_id, "dropped a sweep message that names no clinic");
                return None;
            };
            let swept = match unit.sweep {
                Sweep::Reminders => reminders::sweep_clinic(app, &unit.clinic_id, unit.at)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
                Sweep::Greetings => greetings::sweep_clinic(app, &unit.clinic_id, unit.at)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
            };
            match swept {
                Ok(report) => {
                    tracing::info!(clinic_id = unit.clinic_id, sweep = ?unit.sweep, %report, "clinic swept");
                    None
                }
                Err(e) => {
                    tracing::error!(clinic_id = unit.clinic_id, sweep = ?unit.sweep, error = ?e, "clinic sweep failed; tried again in a minute");
                    if let Err(e) = app.sweep_queue.retry_after(&r.receipt_handle, app.config.sweep_retry_secs).await {
                        tracing::error!(clinic_id = unit.clinic_id, error = ?e, "retry not scheduled; the queue's visibility timeout applies");
                    }
                    Some(ItemFailure {
                        item_identifier: r.message_id,
                    })
                }
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    BatchResponse {
        batch_item_failures: results.into_iter().flatten().collect(),
    }
}

/// The sweep functions cannot work without the queue: its setting is checked at cold start.
fn require_queue(app: &App) -> Result<(), QueueError> {
    if app.config.sweep_queue_url.is_none() {
        let e = QueueError::NoQueue("SWEEP_QUEUE_URL");
        tracing::error!(error = %e, "configuration");
        return Err(e);
    }
    Ok(())
}

/// The `main` of the `reminder-sweep` and `greeting-sweep` functions.
pub async fn serve(sweep: Sweep) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    require_queue(&app)?;
    let function = match sweep {
        Sweep::Reminders => "reminder-sweep",
        Sweep::Greetings => "greeting-sweep",
    };
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SweepEvent>| {
        let app = app.clone();
        async move {
            let at = event.payload.scheduled_time.unwrap_or_else(|| app.now());
            crate::aws_calls::as_function(function, dispatch(&app, sweep, at))
                .await
                .map_err(|e| {
                    // The schedule's retry policy runs it again; a clinic queued twice is swept
                    // as once.
                    tracing::error!(?sweep, error = ?e, "sweep not dispatched");
                    lambda_http::Error::from(e)
                })
        }
    }))
    .await
}

/// The `main` of `sweep-clinic`.
pub async fn serve_clinics() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    require_queue(&app)?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, lambda_http::Error>(handle_queue(&app, event.payload).await) }
    }))
    .await
}
