//! `GET /patients/{id}/contacts`: see `tidings_app::api::contacts::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::contacts::LIST).await
}
