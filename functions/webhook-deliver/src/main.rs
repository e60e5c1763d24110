//! The `webhook-deliver` function: the delivery queue reaches it; one attempt per delivery. See
//! `tidings_app::services::webhook_delivery`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
