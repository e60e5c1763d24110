//! The `ses-events` function: SNS delivers SES delivery, bounce and complaint events to it;
//! see `tidings_app::services::email_events`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::ses_function::serve().await
}
