//! `POST /campaigns`: see `tidings_app::api::campaigns::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_scheduling(&tidings_app::api::campaigns::CREATE).await
}
