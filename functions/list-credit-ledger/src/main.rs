//! `GET /credits/ledger`: see `tidings_app::api::credits::LEDGER`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::credits::LEDGER).await
}
