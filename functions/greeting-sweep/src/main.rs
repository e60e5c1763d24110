//! The greeting function: a recurring schedule invokes it and it queues one sweep per clinic;
//! see `tidings_app::sweep_function`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
