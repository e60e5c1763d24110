//! Helpers for tests of campaigns: patients, templates, reports and campaigns through the API,
//! and fire events for the campaign function run in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{TestClinic, call, list_all};
use chrono::{Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;
use tidings_app::App;
use tidings_app::services::campaign_runner::{FireEvent, Limits};

/// Creates a patient (Pat Doe) for each of `mobiles` through the service, 16 at a time: for
/// audiences too big to build through the API one by one. Their ids, in the order a patient
/// report lists them.
pub async fn seed_patients(app: &App, clinic_id: &str, mobiles: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = futures::stream::iter(mobiles.iter().cloned())
        .map(|m| async move {
            let input = tidings_domain::patient::PatientInput {
                first_name: Some("Pat".into()),
                last_name: Some("Doe".into()),
                mobile: Some(m),
                ..Default::default()
            };
            tidings_app::services::patients::create(&app.store, clinic_id, input)
                .await
                .unwrap()
                .id
        })
        .buffer_unordered(16)
        .collect()
        .await;
    ids.sort();
    ids
}

pub async fn patient(app: &App, key: &str, mobile: &str) -> String {
    let r = call(
        app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Pat", "last_name": "Doe", "mobile": mobile})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

pub async fn sms_template(app: &App, key: &str) -> String {
    let r = call(
        app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Recall", "channel": "sms", "category": "recall",
                    "body": "Hi {{ first_name }}, it is time for your check-up at {{ clinic_name }}"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

pub async fn report(app: &App, key: &str, body: Value) -> String {
    let r = call(app, key, "POST", "/reports", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

pub async fn campaign(app: &App, key: &str, body: Value) -> Value {
    let r = call(app, key, "POST", "/campaigns", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json
}

pub fn in_seconds(s: i64) -> String {
    (Utc::now() + Duration::seconds(s)).to_rfc3339()
}

/// A campaign one day ahead: the bridge leaves it alone while the test fires it itself.
pub async fn day_ahead_campaign(
    app: &App,
    c: &TestClinic,
    report_id: &str,
    repeat: Option<&str>,
) -> Value {
    let template = sms_template(app, &c.staff_key).await;
    let mut body = json!({"name": "Recall", "report_id": report_id,
                          "channels": {"sms": template}, "send_at": in_seconds(86_400)});
    if let Some(r) = repeat {
        body["repeat"] = json!(r);
    }
    campaign(app, &c.staff_key, body).await
}

pub fn event(c: &TestClinic, campaign_id: &str, at: &str) -> FireEvent {
    FireEvent {
        clinic_id: c.id.clone(),
        campaign_id: campaign_id.to_owned(),
        scheduled_time: at.to_owned(),
        wake_time: None,
    }
}

pub fn limits(lease_secs: i64) -> Limits {
    Limits {
        stop_at: tokio::time::Instant::now() + StdDuration::from_secs(600),
        lease: Duration::seconds(lease_secs),
    }
}

pub async fn balance(app: &App, key: &str) -> i64 {
    let r = call(app, key, "GET", "/credits", None).await;
    r.json["accounts"][0]["balance"].as_i64().unwrap()
}

pub async fn assert_ledger_matches(app: &App, c: &TestClinic) {
    let (entries, _) = list_all(app, &c.staff_key, "/credits/ledger?limit=100").await;
    let sum: i64 = entries.iter().map(|e| e["credits"].as_i64().unwrap()).sum();
    assert_eq!(sum, balance(app, &c.staff_key).await, "ledger {entries:?}");
}

/// Names of the schedules in the local stack's group.
pub async fn scheduler_names() -> Vec<String> {
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_scheduler::Client::new(&aws);
    let out = client
        .list_schedules()
        .group_name(std::env::var("SCHEDULE_GROUP").unwrap())
        .send()
        .await
        .unwrap();
    out.schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect()
}

/// Polls the campaign until `done` holds, for up to `secs` seconds (the bridge fires within
/// about a second of due).
pub async fn wait_for(
    app: &App,
    key: &str,
    id: &str,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..secs * 2 {
        let r = call(app, key, "GET", &format!("/campaigns/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        if done(&r.json) {
            return r.json;
        }
        tokio::time::sleep(StdDuration::from_millis(500)).await;
    }
    panic!("campaign {id} did not get there in {secs} s");
}
