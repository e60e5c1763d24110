//! `POST /patients/{id}/contacts`: see `tidings_app::api::contacts::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::contacts::CREATE).await
}
