//! The campaign estimate for a large audience, against the local emulators (`make bench`, or
//! `BENCH=campaign_estimate make bench`). `GET /campaigns/{id}/estimate` answers through API
//! Gateway, which gives up after 30 s (the function's timeout is 29 s): this measures the answer
//! for `BENCH_AUDIENCE` patients (default 50,000) and prints one JSON line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use serde_json::json;
use std::time::Instant;
use tidings_domain::patient::PatientInput;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_AUDIENCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let app = tidings_tests::app().await;
    let c = tidings_tests::new_clinic(&app).await;
    eprintln!("seeding {n} patients");
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let app = &app;
            let c = &c;
            async move {
                let input = PatientInput {
                    first_name: Some(format!("P{i}")),
                    last_name: Some("Bench".into()),
                    mobile: Some(format!("+6149{:07}", 3_000_000 + i)),
                    ..Default::default()
                };
                tidings_app::services::patients::create(&app.store, &c.id, input)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    let key = &c.staff_key;
    let report = tidings_tests::call(
        &app,
        key,
        "POST",
        "/reports",
        Some(json!({"name": "All", "type": "patient"})),
    )
    .await
    .id();
    let template = tidings_tests::call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "B",
        "channel": "sms", "category": "recall",
        "body": "Hi {{ first_name }}, time for a check-up at {{ clinic_name }}."})),
    )
    .await
    .id();
    let campaign = tidings_tests::call(
        &app,
        key,
        "POST",
        "/campaigns",
        Some(json!({"name": "Bench",
        "report_id": report, "channels": {"sms": template},
        "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()})),
    )
    .await;
    assert_eq!(campaign.status, 201, "{}", campaign.json);
    let path = format!("/campaigns/{}/estimate", campaign.id());
    let t = Instant::now();
    let r = tidings_tests::call(&app, key, "GET", &path, None).await;
    let seconds = t.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.json);
    println!(
        "{}",
        json!({"bench": "campaign_estimate", "audience": n, "seconds": (seconds * 100.0).round() / 100.0,
               "limit_seconds": 29, "within_limit": seconds < 29.0, "estimate": r.json})
    );
}
