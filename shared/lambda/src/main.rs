//! Every function of template.yaml in one binary. `sam build` builds it once and gives each
//! function a copy; Lambda passes the function's `Handler` (its name, e.g. `get-clinic`) as
//! `_HANDLER`. See `tidings_app::functions`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_handler().await
}
