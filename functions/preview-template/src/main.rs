//! `POST /templates/preview`: see `tidings_app::api::templates::PREVIEW`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::templates::PREVIEW).await
}
