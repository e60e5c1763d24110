//! `POST /patients/{id}/referrals`: see `tidings_app::api::referrers::REFER`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::referrers::REFER).await
}
