//! See `tidings_app::api::credits::PURCHASE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::PURCHASE).await
}
