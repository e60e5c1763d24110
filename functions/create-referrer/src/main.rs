//! `POST /referrers`: see `tidings_app::api::referrers::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::referrers::CREATE).await
}
