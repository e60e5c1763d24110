//! `GET /webhook-endpoints/{id}`: see `tidings_app::api::webhook_endpoints::GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
