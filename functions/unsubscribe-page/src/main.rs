//! `GET /unsubscribe/{token}`: see `tidings_app::api::unsubscribe::PAGE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_public(&tidings_app::api::unsubscribe::PAGE).await
}
