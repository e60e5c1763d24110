//! `GET /campaigns`: see `tidings_app::api::campaigns::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::campaigns::LIST).await
}
