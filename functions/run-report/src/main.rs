//! `GET /reports/{id}/results`: see `tidings_app::api::reports::RESULTS`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::reports::RESULTS).await
}
