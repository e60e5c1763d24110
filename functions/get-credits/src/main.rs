//! `GET /credits`: see `tidings_app::api::credits::GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::GET).await
}
