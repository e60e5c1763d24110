//! The account's SMS rate holds across senders: SNS's quota is the account's, so two
//! campaigns running at once, or a campaign and a reminder sweep, share
//! `CAMPAIGN_SMS_PER_SECOND` instead of each taking it.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::json;
use std::time::Instant;
use tidings_app::App;
use tidings_app::services::campaign_run::fire;
use tidings_app::services::reminders::sweep_clinic;
use tidings_tests::campaigns::{event, limits, paced_campaign, seed_patients};
use tidings_tests::provider_proxy::{Call, Fault, ProviderProxy};
use tidings_tests::{app_via, call, grant, moto_sent, moto_url, new_clinic, unique_mobile};

const RATE: u32 = 20;
const PEOPLE: usize = 80;

#[tokio::test]
async fn two_campaigns_at_once_share_the_accounts_sms_rate() {
    let proxy = ProviderProxy::start(moto_url(), |_, _| Fault::Pass).await;
    let via = app_via(&proxy.url).await;
    let (a, c1, id1, mobiles_a) = paced_campaign(PEOPLE as i64, PEOPLE, RATE).await;
    let (b, c2, id2, _) = paced_campaign(PEOPLE as i64, PEOPLE, RATE).await;
    let a = App {
        delivery: via.delivery.clone(),
        ..a
    };
    let b = App {
        delivery: via.delivery.clone(),
        ..b
    };
    let at = "2027-03-01T09:00:00Z";
    let (ev_a, ev_b, limits) = (event(&c1, &id1, at), event(&c2, &id2, at), limits(300));
    let (ra, rb) = tokio::join!(fire(&a, &ev_a, &limits), fire(&b, &ev_b, &limits));
    ra.unwrap();
    rb.unwrap();

    let mut times: Vec<_> = proxy.calls().iter().map(|c| c.at).collect();
    times.sort();
    assert_eq!(times.len(), 2 * PEOPLE, "every message sent once");
    let span = times[times.len() - 1] - times[0];
    // n sends take (n - 1) intervals of 1/RATE.
    let rate = (times.len() - 1) as f64 / span.as_secs_f64();
    println!(
        "{{\"test\":\"campaign_pacing\",\"sends\":{},\"seconds\":{:.2},\"per_second\":{rate:.2},\"limit\":{RATE}}}",
        times.len(),
        span.as_secs_f64()
    );
    // Never more than 10% over the account's rate; and well over half of it, so the two did
    // share it rather than wait for each other (a slow machine may fall a little short).
    assert!(
        rate <= f64::from(RATE) * 1.1 && rate >= f64::from(RATE) * 0.5,
        "two campaigns together sent {rate:.1} SMS a second; the account's rate is {RATE}"
    );
    // They ran side by side, not one after the other: each sent while the other was sending.
    let calls = proxy.calls();
    let (of_a, of_b): (Vec<_>, Vec<_>) =
        calls.iter().partition(|c| mobiles_a.contains(&c.recipient));
    assert!(side_by_side(&of_a, &of_b));
}

/// The sends' rate a second: n sends take (n - 1) intervals.
fn rate_of(calls: &[Call]) -> f64 {
    let first = calls.iter().map(|c| c.at).min().unwrap();
    let last = calls.iter().map(|c| c.at).max().unwrap();
    (calls.len() - 1) as f64 / (last - first).as_secs_f64()
}

/// Each of the two sent while the other was sending.
fn side_by_side(a: &[&Call], b: &[&Call]) -> bool {
    let first = |v: &[&Call]| v.iter().map(|c| c.at).min().unwrap();
    let last = |v: &[&Call]| v.iter().map(|c| c.at).max().unwrap();
    first(b) < last(a) && first(a) < last(b)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_reminder_sweep_beside_a_campaign_keeps_to_the_same_rate() {
    // Another rate than the test above, so that the two tests do not share one schedule.
    const RATE: u32 = 25;
    const REMINDERS: usize = 50;
    let proxy = ProviderProxy::start(moto_url(), |_, _| Fault::Pass).await;
    let via = app_via(&proxy.url).await;
    let (app, c1, id1, mobiles_a) = paced_campaign(PEOPLE as i64, PEOPLE, RATE).await;
    let app = App {
        delivery: via.delivery.clone(),
        ..app
    };
    // Another clinic, whose REMINDERS appointments all have their reminder due at 09:00.
    let c2 = new_clinic(&app).await;
    grant(&app, &c2.id, REMINDERS as i64).await;
    let settings = json!({"channels": {"sms": {"body": "See you tomorrow"}},
                          "rules": [{"kind": "hours_before", "hours": 24}]});
    let r = call(
        &app,
        &c2.admin_key,
        "PUT",
        "/settings/reminders",
        Some(settings),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mobiles: Vec<String> = (0..REMINDERS).map(|_| unique_mobile()).collect();
    let patients = seed_patients(&app, &c2.id, &mobiles).await;
    futures::stream::iter(&patients)
        .for_each_concurrent(8, |p| {
            let body = json!({"patient_id": p, "start": "2027-03-02T09:00:00Z",
                              "end": "2027-03-02T09:30:00Z"});
            let (app, key) = (&app, &c2.admin_key);
            async move {
                let r = call(app, key, "POST", "/appointments", Some(body)).await;
                assert_eq!(r.status, 201, "{}", r.json);
            }
        })
        .await;

    let ev = event(&c1, &id1, "2027-03-01T09:00:00Z");
    let limits = limits(300);
    let started = Instant::now();
    let (ran, swept) = tokio::join!(
        fire(&app, &ev, &limits),
        sweep_clinic(&app, &c2.id, t("2027-03-01T09:00:00Z"))
    );
    ran.unwrap();
    let swept = swept.unwrap();
    assert_eq!(swept.sent, REMINDERS, "{swept:?}");

    let calls: Vec<Call> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.at >= started)
        .collect();
    assert_eq!(calls.len(), PEOPLE + REMINDERS, "every message sent once");
    let rate = rate_of(&calls);
    println!(
        "{{\"test\":\"reminders_beside_a_campaign\",\"sends\":{},\"per_second\":{rate:.2},\"limit\":{RATE}}}",
        calls.len()
    );
    assert!(
        rate <= f64::from(RATE) * 1.1,
        "a campaign and a reminder sweep together sent {rate:.1} SMS a second; the account's rate is {RATE}"
    );
    let (campaign, reminders): (Vec<&Call>, Vec<&Call>) =
        calls.iter().partition(|c| mobiles_a.contains(&c.recipient));
    assert_eq!(reminders.len(), REMINDERS);
    assert!(side_by_side(&campaign, &reminders));
}

/// When the account's SMS rate is taken for longer than a request should wait (a campaign at
/// full rate, say), an appointment's at-creation reminder and its moved message do not keep
/// the request waiting, nor go beside the rate: the next reminder sweep sends each, once.
#[tokio::test]
async fn a_request_leaves_its_message_to_the_sweep_while_the_rate_is_taken() {
    // A rate, and so a schedule, of this test's own.
    const RATE: u32 = 7;
    let base = tidings_tests::app().await;
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = RATE;
    let busy = App {
        config,
        ..base.clone()
    };
    // The next 30 seconds of the rate, taken as a campaign's sends take them.
    let now_ms = Utc::now().timestamp_millis();
    busy.store
        .take_send_instants("sms", 30 * RATE, RATE, now_ms)
        .await
        .unwrap()
        .unwrap();
    let c = new_clinic(&busy).await;
    grant(&busy, &c.id, 10).await;
    let settings = json!({"channels": {"sms": {"body": "Booked:"}},
                          "rules": [{"kind": "at_creation"}],
                          "on_change": {"sms": {"body": "Moved:"}}});
    let r = call(
        &busy,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(settings),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mobile = unique_mobile();
    let patient = seed_patients(&busy, &c.id, std::slice::from_ref(&mobile)).await;
    let started = Instant::now();
    let body = json!({"patient_id": patient[0], "start": "2027-04-01T10:00:00Z",
                      "end": "2027-04-01T10:30:00Z"});
    let a = call(&busy, &c.staff_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.json);
    let moved = json!({"start": "2027-04-02T10:00:00Z", "end": "2027-04-02T10:30:00Z"});
    let path = format!("/appointments/{}", a.id());
    let r = call(&busy, &c.staff_key, "PATCH", &path, Some(moved)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(
        started.elapsed().as_secs() < 10,
        "the requests waited for the rate"
    );
    assert!(moto_sent().await.sms_to(&mobile).is_empty());

    // The sweep, on a schedule that is free, sends both.
    let r = sweep_clinic(&base, &c.id, Utc::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.sent, 2, "{r:?}");
    let sent = moto_sent().await;
    let mut texts: Vec<&str> = sent
        .sms_to(&mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    texts.sort();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with("Booked:") && texts[1].starts_with("Moved:"),
        "{texts:?}"
    );
    let again = sweep_clinic(&base, &c.id, Utc::now() + chrono::Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(again.sent, 0, "{again:?}");
}

/// `POST /messages` takes its turns in the account's rate too: a message to 30 patients sent
/// while a campaign runs keeps the two together to the rate. (Before, the request sent its 30
/// at once beside the campaign's sends.)
#[tokio::test]
async fn a_message_to_many_patients_beside_a_campaign_keeps_to_the_same_rate() {
    // A rate, and so a schedule, of this test's own.
    const RATE: u32 = 13;
    const CAMPAIGN: usize = 40;
    const TO: usize = 30;
    let proxy = ProviderProxy::start(moto_url(), |_, _| Fault::Pass).await;
    let via = app_via(&proxy.url).await;
    let (app, c1, id1, _) = paced_campaign(CAMPAIGN as i64, CAMPAIGN, RATE).await;
    let app = App {
        delivery: via.delivery.clone(),
        ..app
    };
    let c2 = new_clinic(&app).await;
    grant(&app, &c2.id, TO as i64).await;
    let mobiles: Vec<String> = (0..TO).map(|_| unique_mobile()).collect();
    let patients = seed_patients(&app, &c2.id, &mobiles).await;
    let (ev, limits) = (event(&c1, &id1, "2027-03-01T09:00:00Z"), limits(300));
    let message = async {
        // Once the campaign is under way.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let body = json!({"patient_ids": patients, "channel": "sms", "body": "Closed on Friday"});
        call(&app, &c2.staff_key, "POST", "/messages", Some(body)).await
    };
    let (ran, r) = tokio::join!(fire(&app, &ev, &limits), message);
    ran.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let calls = proxy.calls();
    assert_eq!(calls.len(), CAMPAIGN + TO, "every message sent once");
    let rate = rate_of(&calls);
    println!(
        "{{\"test\":\"message_beside_a_campaign\",\"sends\":{},\"per_second\":{rate:.2},\"limit\":{RATE}}}",
        calls.len()
    );
    assert!(
        rate <= f64::from(RATE) * 1.1,
        "a campaign and POST /messages together sent {rate:.1} SMS a second; the account's rate is {RATE}"
    );
}
