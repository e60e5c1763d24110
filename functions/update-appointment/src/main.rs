//! `PATCH /appointments/{id}`: see `tidings_app::api::appointments::UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::appointments::UPDATE).await
}
