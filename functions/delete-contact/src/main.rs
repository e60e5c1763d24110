//! `DELETE /patients/{id}/contacts/{contact_id}`: see `tidings_app::api::contacts::DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
