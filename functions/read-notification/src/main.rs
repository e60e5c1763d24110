//! `POST /notifications/{id}/read`: see `tidings_app::api::notifications::READ`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::http::serve(&tidings_app::api::notifications::READ).await
}
