//! `GET /campaigns/{id}/estimate`: see `tidings_app::api::campaigns::ESTIMATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::campaigns::ESTIMATE).await
}
