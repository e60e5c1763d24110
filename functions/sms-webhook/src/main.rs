//! `POST /webhooks/sms/{provider}`: see `tidings_app::api::webhooks::SMS`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_public(&tidings_app::api::webhooks::SMS).await
}
