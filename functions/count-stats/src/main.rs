//! The `count-stats` function: the table's stream reaches it; messages and ledger entries are
//! counted per clinic and day for the statistics. See `tidings_app::services::day_counts`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tidings_app::functions::serve_function(env!("CARGO_BIN_NAME")).await
}
