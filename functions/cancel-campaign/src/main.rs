//! `POST /campaigns/{id}/cancel`: see `tidings_app::api::campaigns::CANCEL`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve_scheduling(&tidings_app::api::campaigns::CANCEL).await
}
