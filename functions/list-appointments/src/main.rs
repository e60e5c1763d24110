//! `GET /appointments`: see `tidings_app::api::appointments::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::appointments::LIST).await
}
