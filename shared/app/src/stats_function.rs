//! `count-stats`: the table's stream (every change of a message, every new ledger entry)
//! reaches it; it adds them to the day counters the statistics read. See
//! `services::day_counts`.

use crate::App;
use crate::services::day_counts::{self, Summary};
use crate::store::StoreError;
use crate::webhook_functions::{StreamEvent, changes};
use lambda_http::{LambdaEvent, service_fn};

/// Counts the batch. A storage failure fails it, and Lambda hands the same batch over again:
/// the parts already added are skipped by their marks.
pub async fn handle_stream(app: &App, event: StreamEvent) -> Result<Summary, StoreError> {
    let changes = changes(event, app.now());
    let summary = crate::aws_calls::as_function(
        "count-stats",
        day_counts::count(&app.store, &changes, app.now()),
    )
    .await?;
    if summary.unreadable > 0 {
        crate::metrics::emit(
            app,
            &[],
            &[("StatsChangesNotCounted", summary.unreadable as f64, "Count")],
        );
    }
    Ok(summary)
}

/// The `main` of `count-stats`.
pub async fn serve() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::cold_start().await?;
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let app = app.clone();
        async move {
            let s = handle_stream(&app, event.payload).await.map_err(|e| {
                tracing::error!(error = ?e, "stream changes not counted");
                lambda_http::Error::from(e)
            })?;
            tracing::info!(
                counted = s.counted,
                counted_before = s.counted_before,
                unreadable = s.unreadable,
                "changes counted"
            );
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}
