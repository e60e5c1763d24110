//! `GET /patients/{id}/messages`: see `tidings_app::api::messages::PATIENT_HISTORY`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::messages::PATIENT_HISTORY).await
}
