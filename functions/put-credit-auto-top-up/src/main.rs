//! See `tidings_app::api::credits::PUT_AUTO_TOP_UP`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::PUT_AUTO_TOP_UP).await
}
