//! `GET /webhook-endpoints/{id}/deliveries`: see `tidings_app::api::webhook_endpoints::DELIVERIES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
