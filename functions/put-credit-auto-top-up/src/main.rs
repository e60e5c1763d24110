//! See `tidings_app::api::credits::PUT_AUTO_TOP_UP`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
