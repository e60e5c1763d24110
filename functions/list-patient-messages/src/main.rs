//! `GET /patients/{id}/messages`: see `tidings_app::api::messages::PATIENT_HISTORY`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
