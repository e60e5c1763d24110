//! `POST /reports`: see `tidings_app::api::reports::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::reports::CREATE).await
}
