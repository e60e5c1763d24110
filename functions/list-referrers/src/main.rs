//! `GET /referrers`: see `tidings_app::api::referrers::LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::referrers::LIST).await
}
