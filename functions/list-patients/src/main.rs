//! `GET /patients`: see `tidings_app::api::patients::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::patients::LIST).await
}
