//! `GET /credits/stats`: see `tidings_app::api::credits::STATS`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::STATS).await
}
