//! `POST /keys`: see `tidings_app::api::keys::CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
