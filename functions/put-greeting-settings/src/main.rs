//! See `tidings_app::api::settings::PUT_GREETINGS`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::settings::PUT_GREETINGS).await
}
