//! The campaign function: EventBridge Scheduler invokes it when a campaign fires; see
//! `tidings_app::services::campaign_run`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
