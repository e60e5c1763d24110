//! `GET /practitioners`: see `tidings_app::api::practitioners::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::practitioners::LIST).await
}
