//! Helpers for tests of campaigns: patients, templates, reports and campaigns through the API,
//! and fire events for the campaign function run in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{TestClinic, call, grant, list_all, new_clinic, unique_mobile};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;
use tidings_app::App;
use tidings_app::services::campaign_run::{FireEvent, Limits};
use tidings_app::store::PageClaim;
use tidings_domain::campaign::CampaignRun;
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry};

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
            let by = tidings_domain::actor::Actor::key("seed");
            tidings_app::services::patients::create(&app.store, clinic_id, input, &by)
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

/// A clinic with `credits` and `people` patients with mobiles (made through the API), and a
/// one-time SMS campaign to all of them a day ahead: the clinic, the campaign's id and the
/// mobiles.
pub async fn campaign_to_new_patients(
    app: &App,
    credits: i64,
    people: usize,
) -> (TestClinic, String, Vec<String>) {
    let c = new_clinic(app).await;
    if credits > 0 {
        grant(app, &c.id, credits).await;
    }
    let mut mobiles = Vec::new();
    for _ in 0..people {
        let m = unique_mobile();
        patient(app, &c.staff_key, &m).await;
        mobiles.push(m);
    }
    let report_id = report(app, &c.staff_key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    (c, id, mobiles)
}

/// Like [`campaign_to_new_patients`] for hundreds of people (written through the service, see
/// [`seed_patients`]).
pub async fn seeded_campaign(
    app: &App,
    credits: i64,
    people: usize,
) -> (TestClinic, String, Vec<String>) {
    let c = new_clinic(app).await;
    if credits > 0 {
        grant(app, &c.id, credits).await;
    }
    let mobiles: Vec<String> = (0..people).map(|_| unique_mobile()).collect();
    seed_patients(app, &c.id, &mobiles).await;
    let report_id = report(app, &c.staff_key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    (c, id, mobiles)
}

/// [`seeded_campaign`] with an app whose campaigns send `sms_per_second` texts a second.
pub async fn paced_campaign(
    credits: i64,
    people: usize,
    sms_per_second: u32,
) -> (App, TestClinic, String, Vec<String>) {
    let base = crate::app().await;
    let (c, id, mobiles) = seeded_campaign(&base, credits, people).await;
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = sms_per_second;
    (App { config, ..base }, c, id, mobiles)
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

/// Stops the scheduler bridge firing the schedule `name` (it fires only enabled schedules),
/// and gives a firing already under way time to end: for tests that drive a paused run's
/// wake-ups themselves, which the bridge would otherwise race (a rate schedule first fires as
/// it is made).
pub async fn disable_schedule(name: &str) {
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_scheduler::Client::new(&aws);
    let group = std::env::var("SCHEDULE_GROUP").unwrap();
    let s = client
        .get_schedule()
        .name(name)
        .group_name(&group)
        .send()
        .await
        .unwrap();
    client
        .update_schedule()
        .name(name)
        .group_name(&group)
        .schedule_expression(s.schedule_expression().unwrap())
        .set_schedule_expression_timezone(s.schedule_expression_timezone().map(str::to_owned))
        .set_flexible_time_window(s.flexible_time_window().cloned())
        .set_target(s.target().cloned())
        .state(aws_sdk_scheduler::types::ScheduleState::Disabled)
        .send()
        .await
        .unwrap();
    // A real wait: the scheduler bridge (another process) may be firing it right now.
    tokio::time::sleep(StdDuration::from_secs(3)).await;
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

/// A ledger entry of `credits` for the run `run_id`, as a copy of the run writes it.
pub fn run_entry(run_id: &str, kind: EntryKind, credits: i64) -> LedgerEntry {
    LedgerEntry {
        id: tidings_app::ids::new_id(),
        account: GROUP_ACCOUNT.to_owned(),
        kind,
        credits,
        reference: Some(run_id.to_owned()),
        note: Some("test".into()),
        created_at: Utc::now(),
        spent_on: None,
    }
}

/// A run one copy of a firing started and reserved for; see [`reserved_run`].
pub struct ReservedRun {
    pub app: App,
    pub c: TestClinic,
    pub report_id: String,
    pub ev: FireEvent,
    pub run_id: String,
    pub mobiles: Vec<String>,
}

/// A campaign to three patients of a clinic with 10 credits, and a copy of its firing at `at`
/// that started the run, claimed its one page under a lease until `lease_until`, and reserved
/// the page's 3 credits (the balance is 7): a copy that died (a lease in the past) or is still
/// at work, before it claimed any message.
pub async fn reserved_run(at: &str, lease_until: DateTime<Utc>) -> ReservedRun {
    let app = crate::app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let mobiles: Vec<String> = (0..3).map(|_| unique_mobile()).collect();
    let ids = seed_patients(&app, &c.id, &mobiles).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let scheduled = at.parse().unwrap();
    let run_id = tidings_domain::campaign::run_id(&id, scheduled);
    let store = &app.store;
    let run = CampaignRun::start(run_id.clone(), id.clone(), scheduled, Utc::now());
    assert!(store.start_run(&c.id, &run).await.unwrap());
    let page = PageClaim {
        next: Some(ids[2].clone()),
        page_done: false,
        lease_until,
    };
    let claimed = store.claim_page(&c.id, &run_id, None, &page).await;
    assert_eq!(claimed.unwrap(), None);
    let debit = run_entry(&run_id, EntryKind::Debit, -3);
    store
        .reserve_run_credits(&c.id, (&id, &run_id), &debit)
        .await
        .unwrap();
    assert_eq!(balance(&app, key).await, 7);
    let ev = event(&c, &id, at);
    ReservedRun {
        app,
        c,
        report_id,
        ev,
        run_id,
        mobiles,
    }
}
