//! `PATCH /clinic`: see `tidings_app::api::clinic::UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::clinic::UPDATE).await
}
