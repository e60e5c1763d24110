//! The `sweep-clinic` function: the sweep queue reaches it; one clinic's reminder or greeting
//! sweep per message. See `tidings_app::sweep_function`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
