//! `PATCH /referrers/{id}`: see `tidings_app::api::referrers::UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::referrers::UPDATE).await
}
