//! The greeting function: a recurring schedule invokes it; see `tidings_app::services::greetings`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::sweep_function::serve(tidings_app::sweep_function::Sweep::Greetings).await
}
