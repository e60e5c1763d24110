//! `POST /patients`: see `tidings_app::api::patients::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::patients::CREATE).await
}
