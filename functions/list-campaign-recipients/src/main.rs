//! `GET /campaigns/{id}/recipients`: see `tidings_app::api::campaigns::RECIPIENTS`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::campaigns::RECIPIENTS).await
}
