//! `PATCH /patients/{id}/contacts/{contact_id}`: see `tidings_app::api::contacts::UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::contacts::UPDATE).await
}
