//! `DELETE /appointments/{id}`: see `tidings_app::api::appointments::DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::appointments::DELETE).await
}
