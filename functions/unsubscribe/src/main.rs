//! `POST /unsubscribe/{token}`: see `tidings_app::api::unsubscribe::POST`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_public(&tidings_app::api::unsubscribe::POST).await
}
