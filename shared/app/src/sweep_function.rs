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
use crate::services::pacing::Pacer;
use crate::services::{greetings, reminders, unconfirmed};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lambda_http::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

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

/// How long before its time limit a `sweep-clinic` copy starts its last send: time for that
/// send's claim, provider call and record (each bounded by the SDK's timeouts), and for
/// queueing the continuations.
const LAST_SEND_BEFORE_LIMIT: Duration = Duration::from_secs(25);

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

/// `sweep-clinic`: sweeps the batch's clinics, ten at a time, their sends paced by the
/// account's rate and started before `stop_at`. A clinic whose sweep failed is named in the
/// answer (its message stays on the queue) and hidden for a minute; a clinic whose time ran out
/// before every send's turn, after some went, is queued again as it was (a continuation, new on
/// the queue, so not counted towards the failed-events queue) and the rest goes out from there.
pub async fn handle_queue(app: &App, event: SqsEvent, stop_at: Instant) -> BatchResponse {
    crate::aws_calls::as_function("sweep-clinic", sweep_all(app, event, stop_at)).await
}

async fn sweep_all(app: &App, event: SqsEvent, stop_at: Instant) -> BatchResponse {
    // The batch's reminders and greetings keep to the account's rate, shared with every
    // other sender (other copies, campaigns, resends): SNS's and SES's quotas are the account's.
    let pacer = &Pacer::until(app, stop_at);
    let results: Vec<Option<ItemFailure>> = futures::stream::iter(event.records)
        .map(|r| async move {
            let Ok(unit) = serde_json::from_str::<ClinicSweep>(&r.body) else {
                tracing::warn!(message_id = r.message_id, "dropped a sweep message that names no clinic");
                return None;
            };
            if settle(app, &unit, sweep(app, pacer, &unit).await).await {
                return None;
            }
            if let Err(e) = app.sweep_queue.retry_after(&r.receipt_handle, app.config.sweep_retry_secs).await {
                tracing::error!(clinic_id = unit.clinic_id, error = ?e, "retry not scheduled; the queue's visibility timeout applies");
            }
            Some(ItemFailure {
                item_identifier: r.message_id,
            })
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    BatchResponse {
        batch_item_failures: results.into_iter().flatten().collect(),
    }
}

/// What one clinic's sweep did, as its batch needs it.
struct Swept {
    /// Sends left for later: the time ran out before their turn.
    left: usize,
    /// Whether anything was sent, skipped or found sent before.
    progressed: bool,
    report: serde_json::Value,
}

impl Swept {
    fn of(left: usize, done: usize, report: &impl Serialize) -> Self {
        Self {
            left,
            progressed: done > 0,
            report: serde_json::to_value(report).unwrap_or_default(),
        }
    }
}

async fn sweep(app: &App, pacer: &Pacer, unit: &ClinicSweep) -> Result<Swept, crate::ServiceError> {
    let (id, at) = (&unit.clinic_id, unit.at);
    Ok(match unit.sweep {
        Sweep::Reminders => {
            let r = reminders::sweep_clinic_paced(app, pacer, id, at).await?;
            Swept::of(r.deferred, r.sent + r.skipped + r.already_sent, &r)
        }
        Sweep::Greetings => {
            let r = greetings::sweep_clinic_paced(app, pacer, id, at).await?;
            Swept::of(r.deferred, r.sent + r.skipped + r.already_sent, &r)
        }
    })
}

/// Whether the clinic's message is done with: swept, or continued by a new message. Otherwise
/// it is tried again: the sweep failed, its continuation could not be queued, or nothing went
/// before the time ran out (so that a copy that never has the time ends in the failed-events
/// queue rather than continuing for ever).
async fn settle(app: &App, unit: &ClinicSweep, swept: Result<Swept, crate::ServiceError>) -> bool {
    let (clinic_id, sweep) = (&unit.clinic_id, unit.sweep);
    if let Ok(s) = &swept
        && s.left > 0
    {
        crate::metrics::sends_deferred(app, s.left);
    }
    match swept {
        Ok(Swept {
            left: 0, report, ..
        }) => {
            tracing::info!(clinic_id, ?sweep, %report, "clinic swept");
            true
        }
        Ok(Swept {
            progressed: false,
            report,
            ..
        }) => {
            tracing::error!(clinic_id, ?sweep, %report, "clinic sweep ran out of time before its first send; tried again in a minute");
            false
        }
        Ok(Swept { report, .. }) => match app.sweep_queue.enqueue(std::slice::from_ref(unit)).await
        {
            Ok(()) => {
                tracing::warn!(clinic_id, ?sweep, %report, "clinic sweep continued: the time ran out before every send's turn");
                true
            }
            Err(e) => {
                tracing::error!(clinic_id, ?sweep, %report, error = ?e, "clinic sweep not continued; tried again in a minute");
                false
            }
        },
        Err(e) => {
            tracing::error!(clinic_id, ?sweep, error = ?e, "clinic sweep failed; tried again in a minute");
            false
        }
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
        async move {
            let left = crate::deadline::left(event.context.deadline, LAST_SEND_BEFORE_LIMIT);
            let stop_at = Instant::now() + left;
            Ok::<_, lambda_http::Error>(handle_queue(&app, event.payload, stop_at).await)
        }
    }))
    .await
}
