//! The `webhook-events` function: the table's stream reaches it; changes that are events become
//! deliveries to clinics' endpoints. See `tidings_app::services::webhook_events`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
