//! `POST /campaigns/{id}/resend-unconfirmed`: see
//! `tidings_app::api::campaigns::RESEND_UNCONFIRMED`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::campaigns::RESEND_UNCONFIRMED).await
}
