//! See `tidings_app::api::credits::SET_PAYMENT_METHOD`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::SET_PAYMENT_METHOD).await
}
