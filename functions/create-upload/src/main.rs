//! `POST /uploads`: see `tidings_app::api::uploads::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::uploads::CREATE).await
}
