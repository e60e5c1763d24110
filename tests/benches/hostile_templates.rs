//! How long a hostile template preview takes to be refused (`BENCH=hostile_templates make
//! bench`, or under `make up`'s environment: `cargo bench -p tidings-tests --bench
//! hostile_templates`): a staff key's answer is a 400 naming the field within a second.
//!
//! Each preview of `tidings_tests::hostile::template_previews` (the ones the integration test
//! `templates::templates_cannot_make_work_or_text_beyond_their_values` checks are refused) is
//! sent `BENCH_ROUNDS` times (default 20) through the API's router, as the tests call it, and
//! must be answered 400; it prints the slowest and the median answer, and which field the
//! slowest named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use std::time::Instant;
use tidings_tests::hostile::preview_is_refused;
use tidings_tests::{app, new_clinic};

#[tokio::main]
async fn main() {
    let rounds = tidings_tests::env_number("BENCH_ROUNDS", 20);
    let app = app().await;
    let c = new_clinic(&app).await;
    let cases = tidings_tests::hostile::template_previews();
    let mut times = Vec::new();
    for _ in 0..rounds {
        for case in &cases {
            let started = Instant::now();
            preview_is_refused(&app, &c.staff_key, case).await;
            times.push((started.elapsed().as_secs_f64() * 1000.0, case.1));
        }
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (slowest, slowest_field) = times.last().copied().unwrap();
    let median = times[times.len() / 2].0;
    let round = |ms: f64| (ms * 10.0).round() / 10.0;
    println!(
        "{}",
        json!({
            "cases": cases.len(),
            "rounds": rounds,
            "slowest_ms": round(slowest),
            "median_ms": round(median),
            "slowest_field": slowest_field,
        })
    );
}
