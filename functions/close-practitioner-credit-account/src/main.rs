//! See `tidings_app::api::credits::CLOSE_ACCOUNT`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::CLOSE_ACCOUNT).await
}
