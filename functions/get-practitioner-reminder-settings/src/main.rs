//! See `tidings_app::api::settings::GET_PRACTITIONER`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::settings::GET_PRACTITIONER).await
}
