//! The campaign estimate for a large audience, against the local emulators (`make bench`, or
//! `BENCH=campaign_estimate make bench`). `GET /campaigns/{id}/estimate` answers through API
//! Gateway, which gives up after 30 s (the function's timeout is 29 s): this measures the answer
//! for `BENCH_AUDIENCE` patients (default 50,000) and prints one JSON line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audience;

use serde_json::json;
use std::time::Instant;
use tidings_domain::message_template::Channel;

#[tokio::main]
async fn main() {
    let n = tidings_tests::env_number("BENCH_AUDIENCE", 50_000);
    let app = tidings_tests::app().await;
    let c = tidings_tests::new_clinic(&app).await;
    let campaign = audience::prepare(&app, &c, (n, 30_000_000), Channel::Sms).await;
    let path = format!("/campaigns/{campaign}/estimate");
    let t = Instant::now();
    let r = tidings_tests::call(&app, &c.staff_key, "GET", &path, None).await;
    let seconds = t.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.json);
    println!(
        "{}",
        json!({"bench": "campaign_estimate", "audience": n,
               "seconds": (seconds * 100.0).round() / 100.0, "limit_seconds": 29,
               "within_limit": seconds < 29.0, "estimate": r.json})
    );
}
