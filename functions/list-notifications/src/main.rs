//! `GET /notifications`: see `tidings_app::api::notifications::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::notifications::LIST).await
}
