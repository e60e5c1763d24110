//! `DELETE /referrers/{id}`: see `tidings_app::api::referrers::DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::referrers::DELETE).await
}
