//! `PATCH /patients/{id}`: see `tidings_app::api::patients::UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::patients::UPDATE).await
}
