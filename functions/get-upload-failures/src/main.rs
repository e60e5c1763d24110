//! `GET /uploads/{id}/failures.csv`: see `tidings_app::api::uploads::FAILURES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::uploads::FAILURES).await
}
