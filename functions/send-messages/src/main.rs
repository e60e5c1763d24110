//! `POST /messages`: see `tidings_app::api::messages::SEND`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::messages::SEND).await
}
