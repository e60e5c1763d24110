//! The campaign function: what EventBridge Scheduler invokes when a campaign fires.

use crate::App;
use crate::services::campaign_run::{self, FireEvent, FireOutcome, Limits};
use lambda_http::{LambdaEvent, service_fn};
use std::time::Duration;

/// Time kept back from the Lambda deadline to finish the page in hand and hand over.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(60);

/// When this invocation should stop taking pages: the configured budget, or the Lambda
/// deadline less [`DEADLINE_MARGIN`], whichever comes first.
pub fn stop_at(deadline_ms: u64, budget: Duration) -> tokio::time::Instant {
    let left = crate::deadline::left(deadline_ms, DEADLINE_MARGIN);
    tokio::time::Instant::now() + left.min(budget)
}

/// The `main` of the campaign function.
pub async fn serve() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    let config = &app.config;
    config
        .require_scheduling()
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let budget = Duration::from_secs(config.campaigns.time_budget_secs);
    // How long a claimed page or message belongs to this invocation; a page's lease is renewed
    // while it is worked on, so a live run is never overtaken.
    let lease =
        chrono::Duration::seconds(i64::try_from(config.campaigns.lease_secs).unwrap_or(i64::MAX));
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<FireEvent>| {
        let app = app.clone();
        async move {
            let limits = Limits {
                stop_at: stop_at(event.context.deadline, budget),
                lease,
            };
            let ev = event.payload;
            match campaign_run::fire(&app, &ev, &limits).await {
                Ok(outcome) => {
                    if let FireOutcome::Ignored { reason } = &outcome {
                        tracing::info!(campaign_id = ev.campaign_id, %reason, "firing ignored");
                    }
                    Ok::<_, lambda_http::Error>(outcome)
                }
                Err(e) => {
                    // Lambda retries the event; the run resumes from its checkpoint.
                    tracing::error!(campaign_id = ev.campaign_id, error = ?e, "run failed");
                    Err(e.into())
                }
            }
        }
    }))
    .await
}
