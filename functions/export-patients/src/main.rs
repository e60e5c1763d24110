//! `GET /patients/export`: see `tidings_app::api::patients::EXPORT`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::patients::EXPORT).await
}
