//! `POST /templates`: see `tidings_app::api::templates::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::templates::CREATE).await
}
