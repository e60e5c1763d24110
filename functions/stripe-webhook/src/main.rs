//! `POST /webhooks/stripe`: see `tidings_app::api::webhooks::STRIPE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_public(&tidings_app::api::webhooks::STRIPE).await
}
