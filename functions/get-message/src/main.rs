//! `GET /messages/{id}`: see `tidings_app::api::messages::GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::messages::GET).await
}
