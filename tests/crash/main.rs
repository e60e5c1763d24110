//! Crashes from outside the code: the function binaries run as separate processes (as Lambda runs
//! them, against a Runtime API in the test) and are killed with SIGKILL at chosen points, with
//! the provider proxy holding or passing their calls; further copies of the same event then run
//! as Lambda's retries and Scheduler's repeated deliveries would, each a fresh process. Nobody
//! may get a message twice, every person ends with exactly one message that is `sent` or
//! `unconfirmed`, and the credits come to exactly those.
//!
//! Run with `--nocapture` to see the figures (one JSON line per test).
//!
//! A binary of its own, which `cargo test` runs after `it`, never beside it: these tests run the
//! open-send sweep's real process with a lease of two seconds (`SEND_LEASE_SECS`), and that
//! sweep closes every clinic's sends left open longer, as it must in production (where the
//! lease is longer than any function runs). Beside the other tests it would mark their sends
//! `unconfirmed` while the SDK was still retrying them. The tests here expect one another's
//! sweeps (see each test's comments).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tidings_app::App;
use tidings_tests::campaigns::{balance, day_ahead_campaign, report, seed_patients};
use tidings_tests::lambda_process::{Answer, LambdaProcess, http_event};
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{app, call, grant, moto_sent, moto_url, new_clinic, unique_mobile};

/// How the proxy treats calls: pass them, hold them unforwarded (the provider never saw them),
/// or forward them and hold the answer (the provider took them; the caller never hears).
const PASS: usize = 0;
const HOLD: usize = 1;
const TAKE_AND_HOLD: usize = 2;

/// A proxy whose treatment of each call is `mode` (one of the above) at the time of the call.
async fn switchable_proxy() -> (ProviderProxy, Arc<AtomicUsize>) {
    let mode = Arc::new(AtomicUsize::new(PASS));
    let m = mode.clone();
    let proxy = ProviderProxy::start(moto_url(), move |_, _| match m.load(Ordering::SeqCst) {
        HOLD => Fault::Hang,
        TAKE_AND_HOLD => Fault::AcceptThenHang,
        _ => Fault::Pass,
    })
    .await;
    (proxy, mode)
}

/// The environment of a function process: the stack's, with SNS and SES through the proxy and
/// short leases (a dead copy's claims run out in seconds, not minutes).
fn env_via(proxy: &ProviderProxy) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_SNS", proxy.url.clone()),
        ("AWS_ENDPOINT_URL_SESV2", proxy.url.clone()),
        ("CAMPAIGN_LEASE_SECS", "3".into()),
        ("SEND_LEASE_SECS", "2".into()),
    ]
}

/// Waits until the proxy has seen `calls` calls (or `limit` passes).
async fn until_calls(proxy: &ProviderProxy, calls: usize, limit: Duration) {
    let until = tokio::time::Instant::now() + limit;
    while proxy.calls().len() < calls && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The proxy's call count once it stops changing: a call the killed process had already put
/// on the wire may reach the proxy just after the kill.
async fn settled_calls(proxy: &ProviderProxy) -> usize {
    loop {
        let n = proxy.calls().len();
        // Real time: the other side is a separate process's socket.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if proxy.calls().len() == n {
            return n;
        }
    }
}

/// SMS per number among `mobiles`, as moto has them.
async fn sms_per_number(mobiles: &[String]) -> HashMap<String, usize> {
    let sent = moto_sent().await;
    mobiles
        .iter()
        .map(|m| (m.clone(), sent.sms_to(m).len()))
        .collect()
}

/// Runs the reminder schedule's function as Lambda would, "at" a time with no reminders due:
/// it marks unconfirmed what dead sends left queued (once their lease has run out).
async fn close_dead_sends(env: &[(&str, String)]) {
    let event = json!({"scheduled_time": "2001-01-01T00:00:00Z"});
    let out = LambdaProcess::start("reminder-sweep", &event, env)
        .await
        .answer(Duration::from_secs(120))
        .await;
    let Some(Answer::Response(_)) = out else {
        panic!("{out:?}")
    };
}

#[tokio::test]
async fn a_campaign_run_killed_at_several_points_never_sends_twice() {
    const PEOPLE: usize = 2000;
    let base = app().await;
    let c = new_clinic(&base).await;
    // Each killed copy's reservation for its page stays reserved until the run settles.
    let granted = 10_000;
    grant(&base, &c.id, granted).await;
    let mobiles: Vec<String> = (0..PEOPLE).map(|_| unique_mobile()).collect();
    seed_patients(&base, &c.id, &mobiles).await;
    let report_id = report(
        &base,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let created = day_ahead_campaign(&base, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let at = "2026-12-06T09:00:00Z";
    let event = json!({"clinic_id": c.id, "campaign_id": id, "scheduled_time": at});
    let (proxy, mode) = switchable_proxy().await;
    let env = env_via(&proxy);
    let mut kills = Vec::new();

    // 1. Before the first send reaches the provider: its first calls are held unforwarded.
    mode.store(HOLD, Ordering::SeqCst);
    let mut p = LambdaProcess::start("run-campaign", &event, &env).await;
    until_calls(&proxy, 1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    p.kill();
    kills.push(("before the first send", proxy.calls().len()));

    // 2. Mid-page, with messages the provider took and never answered for: 250 calls pass,
    //    then the provider takes each call and the answer never comes back.
    mode.store(PASS, Ordering::SeqCst);
    let start = proxy.calls().len();
    let mut p = LambdaProcess::start("run-campaign", &event, &env).await;
    until_calls(&proxy, start + 250, Duration::from_secs(120)).await;
    mode.store(TAKE_AND_HOLD, Ordering::SeqCst);
    until_calls(&proxy, start + 262, Duration::from_secs(5)).await;
    p.kill();
    kills.push((
        "mid-page, provider took unanswered calls",
        proxy.calls().len(),
    ));

    // 3. While sends are answered and their records, the page's end and the checkpoint are
    //    being written: killed 0, 15 and 40 ms after a burst of answered calls.
    mode.store(PASS, Ordering::SeqCst);
    for (delay, burst) in [(0, 300), (15, 450), (40, 500)] {
        let start = proxy.calls().len();
        let mut p = LambdaProcess::start("run-campaign", &event, &env).await;
        until_calls(&proxy, start + burst, Duration::from_secs(120)).await;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        p.kill();
        kills.push(("after a burst of answered calls", proxy.calls().len()));
    }

    // Then copies until one finishes the run (each a fresh process, as retries would be).
    let mut copies = 0;
    let finished = loop {
        copies += 1;
        assert!(copies <= 10, "the run never finished");
        let mut p = LambdaProcess::start("run-campaign", &event, &env).await;
        match p.answer(Duration::from_secs(240)).await {
            Some(Answer::Response(v)) if v["outcome"] == "finished" => break v,
            other => eprintln!("copy {copies} ended: {other:?}"),
        }
    };
    // One more copy after it finished: nothing.
    let after = LambdaProcess::start("run-campaign", &event, &env)
        .await
        .answer(Duration::from_secs(60))
        .await;
    assert!(
        matches!(&after, Some(Answer::Response(v)) if v["outcome"] == "ignored"),
        "{after:?}"
    );

    let per_number = sms_per_number(&mobiles).await;
    let duplicates = per_number.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0, "nobody gets a message twice");
    let counts = &finished["counts"];
    let (sent, unconfirmed) = (
        counts["sent"].as_u64().unwrap(),
        counts["unconfirmed"].as_u64().unwrap_or(0),
    );
    assert_eq!(counts["recipients"], PEOPLE as u64, "{finished}");
    assert_eq!(sent + unconfirmed, PEOPLE as u64, "{finished}");
    assert_eq!(counts["queued"], 0, "{finished}");
    // Every message the run recorded sent reached its person once; the provider has no more
    // messages than were sent or left unconfirmed.
    let run_id = finished["run_id"].as_str().unwrap();
    let messages = run_messages(&base, &c.id, run_id).await;
    assert_eq!(messages.len(), PEOPLE);
    for m in &messages {
        let to = m.to.as_deref().unwrap();
        match m.status {
            tidings_domain::message::Status::Sent => {
                assert_eq!(per_number[to], 1, "{to} was recorded sent")
            }
            tidings_domain::message::Status::Unconfirmed => assert!(per_number[to] <= 1),
            other => panic!("{to} ended {other:?}"),
        }
    }
    let provider_has: usize = per_number.values().sum();
    assert!(provider_has as u64 >= sent && provider_has as u64 <= sent + unconfirmed);
    // Credits: exactly the messages sent or unconfirmed.
    let used = i64::try_from(sent + unconfirmed).unwrap();
    assert_eq!(balance(&base, &c.staff_key).await, granted - used);
    let got = call(
        &base,
        &c.staff_key,
        "GET",
        &format!("/campaigns/{id}"),
        None,
    )
    .await;
    assert_eq!(got.json["credits_used"], used, "{}", got.json);
    println!(
        "{}",
        json!({"test": "campaign_crash", "recipients": PEOPLE, "kills": kills.len(),
               "kill_points": kills.iter().map(|(what, calls)| json!({"point": what, "provider_calls": calls})).collect::<Vec<_>>(),
               "copies_after_kills": copies, "duplicates": duplicates, "sent": sent,
               "unconfirmed": unconfirmed, "provider_has": provider_has})
    );
}

/// Every message of a run, read from the table.
async fn run_messages(
    app: &App,
    clinic_id: &str,
    run_id: &str,
) -> Vec<tidings_domain::message::Message> {
    let mut out = Vec::new();
    app.store
        .each_request_message(clinic_id, run_id, |m| out.push(m.clone()))
        .await
        .unwrap();
    out
}

/// Each patient's one message, read through their history: how many were sent and how many
/// are unconfirmed. A message recorded sent reached its number exactly once (by the number the
/// message went to, as moto has it); anything else is a failure of the test.
async fn outcomes(
    base: &App,
    c: &tidings_tests::TestClinic,
    ids: &[String],
    per_number: &HashMap<String, usize>,
) -> (usize, usize) {
    let (mut sent, mut unconfirmed) = (0, 0);
    for id in ids {
        let path = format!("/patients/{id}/messages");
        let h = call(base, &c.staff_key, "GET", &path, None).await;
        let items = h.json["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{id}: {}", h.json);
        let to = items[0]["to"].as_str().unwrap();
        match items[0]["status"].as_str().unwrap() {
            "sent" => {
                sent += 1;
                assert_eq!(per_number[to], 1, "{to} was recorded sent");
            }
            "unconfirmed" => {
                unconfirmed += 1;
                assert!(per_number[to] <= 1, "{to}");
            }
            other => panic!("{to} ended {other}"),
        }
    }
    (sent, unconfirmed)
}

#[tokio::test]
async fn a_send_killed_mid_send_leaves_nothing_queued_and_nothing_sent_twice() {
    const PEOPLE: usize = 50;
    let base = app().await;
    let c = new_clinic(&base).await;
    grant(&base, &c.id, 100).await;
    let mobiles: Vec<String> = (0..PEOPLE).map(|_| unique_mobile()).collect();
    let ids = seed_patients(&base, &c.id, &mobiles).await;
    let (proxy, mode) = switchable_proxy().await;
    let env = env_via(&proxy);
    let body = json!({"patient_ids": ids, "channel": "sms", "body": "See you soon"});
    let event = http_event("POST", "/messages", &c.staff_key, "crash-1", &body);

    // 20 calls pass; then the provider takes each call and its answer never comes; killed.
    let mut p = LambdaProcess::start("send-messages", &event, &env).await;
    until_calls(&proxy, 20, Duration::from_secs(60)).await;
    mode.store(TAKE_AND_HOLD, Ordering::SeqCst);
    until_calls(&proxy, 24, Duration::from_secs(5)).await;
    p.kill();
    let calls_at_kill = settled_calls(&proxy).await;
    mode.store(PASS, Ordering::SeqCst);

    // The client retries with the same key at once: the send is claimed and still within its
    // time, so the answer is a 409 and nothing is sent again. (On a loaded machine the 2 s
    // lease may have run out and another test's sweep closed the send, across clinics: the
    // retry then answers what became of each message, still sending nothing.)
    let retry = LambdaProcess::start("send-messages", &event, &env)
        .await
        .answer(Duration::from_secs(60))
        .await;
    let Some(Answer::Response(r)) = retry else {
        panic!("{retry:?}")
    };
    let replayed = r["statusCode"] == 200 && r["headers"]["idempotent-replayed"] == "true";
    assert!(r["statusCode"] == 409 || replayed, "{r}");
    assert_eq!(proxy.calls().len(), calls_at_kill, "a retry sends nothing");

    // Once the send's lease has run out, the reminder sweep's schedule marks what the dead
    // function left queued unconfirmed (run "at" a time with no reminders due). A real wait:
    // the lease (SEND_LEASE_SECS, 2 s here) runs on the wall clock of the sweep's process.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Another test's sweep may have closed this send first (open sends are swept across
    // clinics): what this test checks is its own clinic's messages, below.
    close_dead_sends(&env).await;

    let per_number = sms_per_number(&mobiles).await;
    let duplicates = per_number.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0);
    let (sent, unconfirmed) = outcomes(&base, &c, &ids, &per_number).await;
    assert_eq!(sent + unconfirmed, PEOPLE);
    // A retry now answers what became of each message, still sending nothing.
    let replay = LambdaProcess::start("send-messages", &event, &env)
        .await
        .answer(Duration::from_secs(60))
        .await;
    let Some(Answer::Response(r)) = replay else {
        panic!("{replay:?}")
    };
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(r["headers"]["idempotent-replayed"], "true", "{r}");
    let answer: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["summary"]["sent"], sent, "{answer}");
    assert_eq!(answer["summary"]["unconfirmed"], unconfirmed, "{answer}");
    assert_eq!(answer["summary"]["queued"], 0, "{answer}");
    assert_eq!(proxy.calls().len(), calls_at_kill, "a replay sends nothing");
    assert!(unconfirmed >= 1, "the dead function left some unrecorded");
    // Every message was paid for once and none refunded: it may have been sent.
    assert_eq!(balance(&base, &c.staff_key).await, 100 - PEOPLE as i64);
    println!(
        "{}",
        json!({"test": "send_crash", "recipients": PEOPLE, "kills": 1,
               "provider_calls_at_kill": calls_at_kill, "duplicates": duplicates,
               "sent": sent, "unconfirmed": unconfirmed})
    );
}

/// A clinic with 100 credits, a reminder 24 hours before, and `people` patients with an
/// appointment at `start` (in 2031, where no other test's reminders fall due): the clinic, the
/// mobiles and the patients' ids (not in the mobiles' order).
async fn clinic_with_reminders_due(
    base: &App,
    people: usize,
    start: &str,
) -> (tidings_tests::TestClinic, Vec<String>, Vec<String>) {
    let c = new_clinic(base).await;
    grant(base, &c.id, 100).await;
    let r = call(
        base,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(json!({
        "channels": {"sms": {"body": "See you tomorrow"}},
        "rules": [{"kind": "hours_before", "hours": 24}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mobiles: Vec<String> = (0..people).map(|_| unique_mobile()).collect();
    let ids = seed_patients(base, &c.id, &mobiles).await;
    let end = (start.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
        + chrono::Duration::minutes(30))
    .to_rfc3339();
    for id in &ids {
        let body = json!({"patient_id": id, "start": start, "end": end});
        let r = call(base, &c.admin_key, "POST", "/appointments", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    (c, mobiles, ids)
}

#[tokio::test]
async fn a_reminder_sweep_killed_mid_send_sends_each_reminder_at_most_once() {
    const PEOPLE: usize = 30;
    let base = app().await;
    let (c, mobiles, ids) = clinic_with_reminders_due(&base, PEOPLE, "2031-05-14T00:00:00Z").await;
    let (proxy, mode) = switchable_proxy().await;
    let env = env_via(&proxy);
    // The clinic's message of the sweep queue, as Lambda hands it to `sweep-clinic`.
    let unit = json!({"sweep": "reminders", "clinic_id": c.id, "at": "2031-05-13T00:10:00Z"});
    let at = json!({"Records": [{"messageId": "m-1", "receiptHandle": "r-1", "body": unit.to_string()}]});

    // Ten reminders go; the provider takes the next and never answers; the sweep is killed.
    let mut p = LambdaProcess::start("sweep-clinic", &at, &env).await;
    until_calls(&proxy, 10, Duration::from_secs(120)).await;
    mode.store(TAKE_AND_HOLD, Ordering::SeqCst);
    until_calls(&proxy, 11, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.kill();
    let calls_at_kill = settled_calls(&proxy).await;
    mode.store(PASS, Ordering::SeqCst);

    // The schedule fires again once the dead send's lease has run out: the reminders not yet
    // claimed go, the claimed ones are not sent again, and the one left queued is unconfirmed.
    // A real wait: the lease (SEND_LEASE_SECS, 2 s here) runs on the wall clock of the
    // sweep's process.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = LambdaProcess::start("sweep-clinic", &at, &env)
        .await
        .answer(Duration::from_secs(180))
        .await;
    // (Another test's sweep may have marked this send's queued message first: open sends are
    // swept across clinics. What this test checks is its own clinic's messages, below.)
    let Some(Answer::Response(_)) = again else {
        panic!("{again:?}")
    };
    // The schedule's own function marks what dead sends left queued (across clinics).
    close_dead_sends(&env).await;

    let per_number = sms_per_number(&mobiles).await;
    let duplicates = per_number.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0);
    let (sent, unconfirmed) = outcomes(&base, &c, &ids, &per_number).await;
    assert_eq!(sent + unconfirmed, PEOPLE);
    assert!(unconfirmed >= 1, "the killed sweep left one unrecorded");
    assert_eq!(balance(&base, &c.staff_key).await, 100 - PEOPLE as i64);
    println!(
        "{}",
        json!({"test": "reminder_sweep_crash", "recipients": PEOPLE, "kills": 1,
               "provider_calls_at_kill": calls_at_kill, "duplicates": duplicates,
               "sent": sent, "unconfirmed": unconfirmed})
    );
}

/// A sweep killed while its batch of reminders is with the provider leaves the batch open, and
/// its messages queued and in no one's history yet. Erasing a patient whose reminder it holds
/// still reaches that message (through the clinic's open batches): nothing of them remains,
/// before or after the open-send sweep closes the batch (their message `unconfirmed`, the
/// credits of the reminders it never claimed given back).
#[tokio::test]
async fn erasure_reaches_the_reminder_a_killed_sweeps_batch_holds() {
    const PEOPLE: usize = 6;
    let base = app().await;
    let (c, mobiles, _) = clinic_with_reminders_due(&base, PEOPLE, "2031-07-14T00:00:00Z").await;
    // The provider takes the first reminder and never answers; the sweep is killed.
    let (proxy, mode) = switchable_proxy().await;
    mode.store(TAKE_AND_HOLD, Ordering::SeqCst);
    let env = env_via(&proxy);
    let unit = json!({"sweep": "reminders", "clinic_id": c.id, "at": "2031-07-13T00:10:00Z"});
    let at = json!({"Records": [{"messageId": "m-1", "receiptHandle": "r-1", "body": unit.to_string()}]});
    let mut p = LambdaProcess::start("sweep-clinic", &at, &env).await;
    until_calls(&proxy, 1, Duration::from_secs(120)).await;
    p.kill();
    let calls_at_kill = settled_calls(&proxy).await;
    mode.store(PASS, Ordering::SeqCst);

    let (messages, _) = tidings_tests::list_all(&base, &c.staff_key, "/messages?limit=100").await;
    let queued: Vec<&Value> = messages
        .iter()
        .filter(|m| m["status"] == "queued")
        .collect();
    assert!(!queued.is_empty(), "{messages:?}");
    let held = queued[0];
    let patient = held["patient_id"].as_str().unwrap().to_owned();
    let mobile = held["to"].as_str().unwrap().to_owned();
    assert!(mobiles.contains(&mobile));
    let history = call(
        &base,
        &c.staff_key,
        "GET",
        &format!("/patients/{patient}/messages"),
        None,
    )
    .await;
    assert_eq!(history.json["items"], json!([]), "not in the history yet");
    tidings_tests::erase_patient(&base, &c.staff_key, &patient).await;
    let holding =
        |items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>| {
            items
                .into_iter()
                .filter(|i| format!("{i:?}").contains(mobile.as_str()))
                .map(|i| format!("{:?}", i["sk"]))
                .collect::<Vec<_>>()
        };
    let left = holding(tidings_tests::snapshot(&base, &c.id).await);
    assert!(
        left.is_empty(),
        "the erased patient's number is still in {left:?}"
    );

    // The lease (SEND_LEASE_SECS, 2 s here) runs out on the wall clock; the schedule's function
    // closes the batch.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    close_dead_sends(&env).await;
    let id = held["id"].as_str().unwrap();
    let m = call(&base, &c.staff_key, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(m.json["status"], "unconfirmed", "{}", m.json);
    let left = holding(tidings_tests::snapshot(&base, &c.id).await);
    assert!(left.is_empty(), "after the batch closed: {left:?}");
    // Paid for: each reminder claimed (it may have gone); the rest given back.
    let claimed = queued.len() as i64;
    assert_eq!(balance(&base, &c.staff_key).await, 100 - claimed);
    println!(
        "{}",
        json!({"test": "reminder_batch_erasure", "recipients": PEOPLE,
               "provider_calls_at_kill": calls_at_kill, "claimed": claimed})
    );
}

#[tokio::test]
async fn a_purchase_killed_after_the_card_was_charged_is_settled_not_charged_again() {
    use tidings_tests::payments::{card, save_card};
    let base = app().await;
    let c = new_clinic(&base).await;
    save_card(&base, &c, &card("4242424242424242").await).await;
    let stripe = std::env::var("STRIPE_API_URL").unwrap();
    // Stripe charges the card and the answer never comes back; the function is killed.
    let (proxy, mode) = {
        let mode = Arc::new(AtomicUsize::new(TAKE_AND_HOLD));
        let m = mode.clone();
        let proxy =
            ProviderProxy::start(stripe.clone(), move |_, _| match m.load(Ordering::SeqCst) {
                TAKE_AND_HOLD => Fault::AcceptThenHang,
                _ => Fault::Pass,
            })
            .await;
        (proxy, mode)
    };
    let env = vec![("STRIPE_API_URL", proxy.url.clone())];
    let body = json!({"credits": 500});
    let event = http_event(
        "POST",
        "/credits/purchases",
        &c.admin_key,
        "buy-crash-1",
        &body,
    );
    let mut p = LambdaProcess::start("create-credit-purchase", &event, &env).await;
    until_calls(&proxy, 1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.kill();
    let charged = proxy.calls().len();
    assert_eq!(charged, 1, "the card was charged once before the kill");
    // The client retries with the same key (a fresh process): the purchase is reconciled with
    // Stripe (the PaymentIntent it noted before confirming has succeeded) and settled, not
    // charged again.
    mode.store(PASS, Ordering::SeqCst);
    let retry = LambdaProcess::start("create-credit-purchase", &event, &env)
        .await
        .answer(Duration::from_secs(60))
        .await;
    let Some(Answer::Response(r)) = retry else {
        panic!("{retry:?}")
    };
    let status = r["statusCode"].as_u64().unwrap();
    assert!(status == 200 || status == 201, "{r}");
    assert_eq!(proxy.calls().len(), charged, "no second confirmation");
    assert_eq!(balance(&base, &c.staff_key).await, 500);
    // Stripe has one succeeded PaymentIntent for this purchase (every page of them read).
    let mut ours = 0;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{stripe}/v1/payment_intents?limit=100");
        if let Some(a) = &after {
            url.push_str(&format!("&starting_after={a}"));
        }
        let page: Value = reqwest::Client::new()
            .get(url)
            .basic_auth("sk_test_local", Some(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap();
        ours += data
            .iter()
            .filter(|pi| {
                pi["metadata"]["clinic_id"] == c.id.as_str() && pi["status"] == "succeeded"
            })
            .count();
        match data.last() {
            Some(last) if page["has_more"] == true => {
                after = Some(last["id"].as_str().unwrap().to_owned());
            }
            _ => break,
        }
    }
    assert_eq!(ours, 1, "one charge");
    println!(
        "{}",
        json!({"test": "purchase_crash", "kills": 1, "charges": ours, "balance": 500})
    );
}
