//! `GET /messages`: see `tidings_app::api::messages::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::messages::LIST).await
}
