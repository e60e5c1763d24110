//! The `ses-events` function: SNS delivers SES delivery, bounce and complaint events to it;
//! see `tidings_app::services::email_events`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
