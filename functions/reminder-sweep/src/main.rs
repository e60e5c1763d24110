//! The reminder function: a recurring schedule invokes it; see `tidings_app::services::reminders`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
