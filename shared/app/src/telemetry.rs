//! Structured JSON logs. Log ids, never patient data (names, phones, emails, message bodies).

/// Installs the JSON log subscriber once; `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) sets the level.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new(
                std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
            )
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
