//! The reminder and greeting functions: a recurring EventBridge schedule (template.yaml) invokes
//! each with its scheduled time, `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`, and the
//! sweep runs as of that time. Invoking one with a later time is how tests (and ops) run a
//! sweep "at" a moment; each reminder and greeting is still sent once.

use crate::App;
use crate::services::{greetings, reminders, unconfirmed};
use chrono::{DateTime, Utc};
use lambda_http::{LambdaEvent, service_fn};
use serde::Deserialize;

/// What the schedule sends.
#[derive(Debug, Default, Deserialize)]
pub struct SweepEvent {
    /// The firing's scheduled time; the invocation time when absent.
    #[serde(default)]
    pub scheduled_time: Option<DateTime<Utc>>,
}

/// Which sweep a function runs.
#[derive(Debug, Clone, Copy)]
pub enum Sweep {
    Reminders,
    Greetings,
}

async fn run(
    app: &App,
    sweep: Sweep,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, crate::ServiceError> {
    Ok(match sweep {
        // Boxed: the sweeps' futures are deep enough to overflow the compiler's layout limit.
        Sweep::Reminders => {
            let mut out = serde_json::to_value(Box::pin(reminders::sweep(app, now)).await?)
                .unwrap_or_default();
            // On the same schedule: sends a dead function left with queued messages.
            let stuck = unconfirmed::sweep_open_sends(app).await?;
            if let Some(o) = out.as_object_mut() {
                o.insert(
                    "open_sends".into(),
                    serde_json::to_value(stuck).unwrap_or_default(),
                );
            }
            out
        }
        Sweep::Greetings => {
            serde_json::to_value(Box::pin(greetings::sweep(app, now)).await?).unwrap_or_default()
        }
    })
}

/// The `main` of the `reminder-sweep` and `greeting-sweep` functions.
pub async fn serve(sweep: Sweep) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SweepEvent>| {
        let app = app.clone();
        async move {
            let now = event.payload.scheduled_time.unwrap_or_else(Utc::now);
            run(&app, sweep, now).await.map_err(|e| {
                // The schedule's retry policy runs it again; claims keep every send single.
                tracing::error!(?sweep, error = ?e, "sweep failed");
                lambda_http::Error::from(e)
            })
        }
    }))
    .await
}
