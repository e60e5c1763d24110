//! `DELETE /reports/{id}`: see `tidings_app::api::reports::DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::reports::DELETE).await
}
