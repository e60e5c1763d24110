//! `DELETE /patients/{id}`: see `tidings_app::api::patients::DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::patients::DELETE).await
}
