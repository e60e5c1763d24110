//! Campaigns that run out of credits (seed 000): the run pauses with the rest held, a top-up
//! within 24 hours sends only the held messages, and without one they end `not_sent`. The
//! campaign function runs in-process; its wake-ups carry their own time, which is how these
//! tests move the clock.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::campaign_run::wake_schedule_name;
use tidings_app::services::campaign_run::{FireEvent, FireOutcome, Limits, fire};
use tidings_domain::campaign::StopReason;
use tidings_tests::campaigns::{
    assert_ledger_matches, balance, campaign, campaign_to_new_patients, disable_schedule, event,
    in_seconds, limits, paced_campaign, patient, report, scheduler_names, sms_template, wait_for,
};
use tidings_tests::payments::{buy, card, save_card};
use tidings_tests::{
    TestClinic, app, call, grant, list_all, moto_sent, new_clinic, snapshot, unique_mobile,
};

const FIRED_AT: &str = "2027-02-01T09:00:00Z";

/// A wake-up of the run fired at [`FIRED_AT`], at `at`.
fn wake(c: &TestClinic, id: &str, at: DateTime<Utc>) -> FireEvent {
    FireEvent {
        wake_time: Some(at.to_rfc3339()),
        ..event(c, id, FIRED_AT)
    }
}

async fn get(app: &App, c: &TestClinic, id: &str) -> Value {
    let r = call(app, &c.staff_key, "GET", &format!("/campaigns/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

/// How many SMS each of `mobiles` has received.
async fn received(mobiles: &[String]) -> Vec<usize> {
    let sent = moto_sent().await;
    mobiles.iter().map(|m| sent.sms_to(m).len()).collect()
}

async fn recipients(app: &App, c: &TestClinic, id: &str) -> Vec<Value> {
    list_all(
        app,
        &c.staff_key,
        &format!("/campaigns/{id}/recipients?limit=100"),
    )
    .await
    .0
}

/// Fires the campaign; it runs out of credits and pauses. Returns when it paused.
async fn fire_until_paused(app: &App, c: &TestClinic, id: &str, held: u64) -> DateTime<Utc> {
    let before = Utc::now();
    let out = fire(app, &event(c, id, FIRED_AT), &limits(300))
        .await
        .unwrap();
    let run_id = tidings_domain::campaign::run_id(id, FIRED_AT.parse().unwrap());
    assert_eq!(
        out,
        FireOutcome::Paused {
            run_id: run_id.clone(),
            held
        }
    );
    // The test sends the wake-ups, with the times it chooses.
    disable_schedule(&wake_schedule_name(id, &run_id)).await;
    before
}

#[tokio::test]
async fn out_of_credits_a_campaign_pauses_and_a_top_up_sends_only_the_rest() {
    let app = app().await;
    let (c, id, mobiles) = campaign_to_new_patients(&app, 3, 6).await;
    let paused_at = fire_until_paused(&app, &c, &id, 3).await;

    // Paused: three sent (in audience order, as far as the balance went), three held.
    let got = received(&mobiles).await;
    assert_eq!(got.iter().filter(|n| **n == 1).count(), 3, "{got:?}");
    assert_eq!(got.iter().filter(|n| **n == 0).count(), 3, "{got:?}");
    let paused = get(&app, &c, &id).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert_eq!(paused["status_reason"], "insufficient_credits");
    assert_eq!(paused["counts"]["held"], 3, "{paused}");
    assert_eq!(paused["counts"]["sent"], 3, "{paused}");
    assert_eq!(balance(&app, &c.staff_key).await, 0);
    let rows = recipients(&app, &c, &id).await;
    assert_eq!(rows.iter().filter(|r| r["status"] == "held").count(), 3);
    let n = call(&app, &c.staff_key, "GET", "/notifications", None).await;
    let notes: Vec<&Value> = n.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "campaign_paused")
        .collect();
    assert_eq!(notes.len(), 1, "{}", n.json);
    let run_id = tidings_domain::campaign::run_id(&id, FIRED_AT.parse().unwrap());
    let schedule = wake_schedule_name(&id, &run_id);
    assert!(scheduler_names().await.contains(&schedule));

    // A wake-up with no credits yet changes nothing.
    let out = fire(
        &app,
        &wake(&c, &id, paused_at + Duration::hours(1)),
        &limits(300),
    )
    .await
    .unwrap();
    assert!(matches!(out, FireOutcome::Ignored { .. }), "{out:?}");
    assert_eq!(received(&mobiles).await, got);

    // Topped up by card 23 hours in: the next wake-up sends the three held, and only them.
    save_card(&app, &c, &card("4242424242424242").await).await;
    let bought = buy(&app, &c, "top-up-1", json!({"credits": 10})).await;
    assert_eq!(bought.status, 201, "{}", bought.json);
    let (ledger, _) = list_all(&app, &c.staff_key, "/credits/ledger?limit=100").await;
    assert!(
        ledger
            .iter()
            .any(|e| e["kind"] == "purchase" && e["credits"] == 10)
    );
    let out = fire(
        &app,
        &wake(&c, &id, paused_at + Duration::hours(23)),
        &limits(300),
    )
    .await
    .unwrap();
    let FireOutcome::Finished { counts, .. } = out else {
        panic!("{out:?}");
    };
    assert_eq!((counts.sent + counts.delivered, counts.held), (6, 0));
    assert_eq!(received(&mobiles).await, vec![1; 6]);
    let done = get(&app, &c, &id).await;
    assert_eq!(done["status"], "sent", "{done}");
    assert_eq!(done["credits_used"], 6, "{done}");
    assert_eq!(balance(&app, &c.staff_key).await, 7);
    assert_ledger_matches(&app, &c).await;
    assert!(!scheduler_names().await.contains(&schedule));

    // Another wake-up (or the same firing again) sends nothing more.
    let again = fire(
        &app,
        &wake(&c, &id, paused_at + Duration::hours(23)),
        &limits(300),
    )
    .await
    .unwrap();
    assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    let again = fire(&app, &event(&c, &id, FIRED_AT), &limits(300))
        .await
        .unwrap();
    assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    assert_eq!(received(&mobiles).await, vec![1; 6]);
}

#[tokio::test]
async fn held_messages_slower_than_the_time_left_are_sent_up_to_it_and_the_rest_by_a_continuation()
{
    // 200 people, no credits: every message is held. At 40 texts a second they take five.
    let (app, c, id, mobiles) = paced_campaign(0, 200, 40).await;
    let paused_at = fire_until_paused(&app, &c, &id, 200).await;
    grant(&app, &c.id, 200).await;

    // The wake-up has two seconds: it sends some, gives back what it reserved for the rest,
    // and hands over to a continuation.
    let short = Limits {
        stop_at: tokio::time::Instant::now() + std::time::Duration::from_secs(2),
        lease: Duration::minutes(5),
    };
    let out = fire(&app, &wake(&c, &id, paused_at + Duration::hours(1)), &short)
        .await
        .unwrap();
    assert!(matches!(out, FireOutcome::Continued { .. }), "{out:?}");
    let got = received(&mobiles).await;
    let texted = got.iter().filter(|n| **n == 1).count();
    assert!(texted > 0 && texted < 200, "{texted} texted before the cut");
    // The scheduler bridge may already have started the continuation, which reserves what it
    // sends: the balance is at most what the cut left. That the cut gave back what it had
    // reserved for the rest shows below: the continuation sends all of it from 200 credits.
    let left = balance(&app, &c.staff_key).await;
    assert!(
        left <= 200 - texted as i64,
        "{left} left after {texted} texted"
    );

    // The continuation (fired by the scheduler bridge) sends the rest.
    let done = wait_for(&app, &c.staff_key, &id, 60, |c| c["status"] == "sent").await;
    assert_eq!(done["counts"]["sent"], 200, "{done}");
    assert_eq!(received(&mobiles).await, vec![1; 200]);
    assert_eq!(balance(&app, &c.staff_key).await, 0);
    assert_ledger_matches(&app, &c).await;
}

#[tokio::test]
async fn without_a_top_up_in_24_hours_the_rest_is_not_sent() {
    let app = app().await;
    let (c, id, mobiles) = campaign_to_new_patients(&app, 2, 4).await;
    let paused_at = fire_until_paused(&app, &c, &id, 2).await;

    // Just before the 24 hours are up: still waiting.
    let out = fire(
        &app,
        &wake(
            &c,
            &id,
            paused_at + Duration::hours(23) + Duration::minutes(55),
        ),
        &limits(300),
    )
    .await
    .unwrap();
    assert!(matches!(out, FireOutcome::Ignored { .. }), "{out:?}");
    assert_eq!(get(&app, &c, &id).await["status"], "paused");

    // 24 hours after the pause: the held two are not sent, and the campaign ends.
    let late = paused_at + Duration::hours(24) + Duration::minutes(5);
    let out = fire(&app, &wake(&c, &id, late), &limits(300))
        .await
        .unwrap();
    let FireOutcome::Finished { counts, .. } = out else {
        panic!("{out:?}");
    };
    assert_eq!((counts.sent, counts.not_sent, counts.held), (2, 2, 0));
    let done = get(&app, &c, &id).await;
    assert_eq!(done["status"], "sent", "{done}");
    assert_eq!(done["status_reason"], "insufficient_credits");
    let rows = recipients(&app, &c, &id).await;
    let not_sent: Vec<&Value> = rows.iter().filter(|r| r["status"] == "not_sent").collect();
    assert_eq!(not_sent.len(), 2, "{rows:?}");
    assert!(
        not_sent
            .iter()
            .all(|r| r["reason"] == "insufficient_credits")
    );

    // A top-up now is too late: nothing more goes out.
    grant(&app, &c.id, 10).await;
    let out = fire(&app, &wake(&c, &id, late), &limits(300))
        .await
        .unwrap();
    assert!(matches!(out, FireOutcome::Ignored { .. }), "{out:?}");
    let got = received(&mobiles).await;
    assert_eq!(got.iter().filter(|n| **n == 1).count(), 2, "{got:?}");
    assert_eq!(got.iter().filter(|n| **n == 0).count(), 2, "{got:?}");
    assert_eq!(balance(&app, &c.staff_key).await, 10);
    assert_ledger_matches(&app, &c).await;
}

#[tokio::test]
async fn a_paused_campaign_can_be_cancelled_and_sends_nothing_more() {
    let app = app().await;
    let (c, id, mobiles) = campaign_to_new_patients(&app, 1, 3).await;
    let paused_at = fire_until_paused(&app, &c, &id, 2).await;

    // Another clinic cannot cancel it.
    let other = new_clinic(&app).await;
    let r = call(
        &app,
        &other.staff_key,
        "POST",
        &format!("/campaigns/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.json);
    // Its unconfirmed messages are resent once the run has ended, not while it is paused.
    let path = format!("/campaigns/{id}/resend-unconfirmed");
    let r = call(&app, &c.admin_key, "POST", &path, None).await;
    assert_eq!(
        (r.status.as_u16(), r.field()),
        (409, "run_id"),
        "{}",
        r.json
    );

    let r = call(
        &app,
        &c.staff_key,
        "POST",
        &format!("/campaigns/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "cancelled");
    grant(&app, &c.id, 10).await;
    let out = fire(
        &app,
        &wake(&c, &id, paused_at + Duration::hours(1)),
        &limits(300),
    )
    .await
    .unwrap();
    assert!(
        matches!(&out, FireOutcome::Stopped { reason, .. } if *reason == StopReason::Cancelled),
        "{out:?}"
    );
    let rows = recipients(&app, &c, &id).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r["status"] == "not_sent" && r["reason"] == "cancelled")
            .count(),
        2,
        "{rows:?}"
    );
    let got = received(&mobiles).await;
    assert_eq!(got.iter().sum::<usize>(), 1, "{got:?}");
    assert_eq!(balance(&app, &c.staff_key).await, 10);
    assert_ledger_matches(&app, &c).await;
}

#[tokio::test]
async fn the_estimate_shows_the_credits_needed_now_against_the_balance() {
    let app = app().await;
    let (c, id, _) = campaign_to_new_patients(&app, 4, 5).await;
    // One more patient with no mobile: skipped, and costs nothing.
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "No", "last_name": "Phone", "email": "no.phone@example.com"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let before = snapshot(&app, &c.id).await;
    let path = format!("/campaigns/{id}/estimate");
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let e = &r.json;
    assert_eq!(
        (&e["people"], &e["sms"], &e["email"], &e["skipped"]),
        (&json!(6), &json!(5), &json!(0), &json!(1)),
        "{e}"
    );
    assert_eq!(
        (
            &e["credits_needed"],
            &e["balance"],
            &e["shortfall"],
            &e["account"]
        ),
        (&json!(5), &json!(4), &json!(1), &json!("group")),
        "{e}"
    );
    assert_eq!(
        snapshot(&app, &c.id).await,
        before,
        "an estimate writes nothing"
    );

    // Patients added later count: the estimate is of now.
    patient(&app, &c.staff_key, &unique_mobile()).await;
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(
        (
            r.json["credits_needed"].as_i64(),
            r.json["shortfall"].as_i64()
        ),
        (Some(6), Some(2))
    );

    // Another clinic, or an unknown campaign: 404.
    let other = new_clinic(&app).await;
    let r = call(&app, &other.staff_key, "GET", &path, None).await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = call(&app, &c.staff_key, "GET", "/campaigns/nope/estimate", None).await;
    assert_eq!(r.status, 404, "{}", r.json);

    // A campaign whose template is gone cannot run: its estimate says so.
    let campaign = call(&app, &c.staff_key, "GET", &format!("/campaigns/{id}"), None).await;
    let template = format!(
        "/templates/{}",
        campaign.json["channels"]["sms"].as_str().unwrap()
    );
    let r = call(&app, &c.staff_key, "GET", &template, None).await;
    assert_eq!(
        (r.status.as_u16(), &r.json["channel"]),
        (200, &json!("sms"))
    );
    let r = call(&app, &c.staff_key, "DELETE", &template, None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "not_runnable"),
        "{}",
        r.json
    );
}

/// The whole story through the local stack: the bridge fires the campaign and its wake-ups
/// (every minute locally) through `cargo lambda watch`; credits are bought by card.
#[tokio::test]
async fn through_the_local_stack_a_campaign_larger_than_the_balance_pauses_and_a_top_up_finishes_it()
 {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    save_card(&app, &c, &card("4242424242424242").await).await;
    let first = format!("first-{}", c.id);
    let bought = buy(&app, &c, &first, json!({"credits": 3})).await;
    assert_eq!(bought.status, 201, "{}", bought.json);
    let (ledger, _) = list_all(&app, key, "/credits/ledger?limit=100").await;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(
        (&ledger[0]["kind"], &ledger[0]["credits"]),
        (&json!("purchase"), &json!(3))
    );
    let mut mobiles = Vec::new();
    for _ in 0..5 {
        let m = unique_mobile();
        patient(&app, key, &m).await;
        mobiles.push(m);
    }
    let all = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let template = sms_template(&app, key).await;
    let created = campaign(
        &app,
        key,
        json!({"name": "Recall", "report_id": all, "channels": {"sms": template},
               "send_at": in_seconds(2)}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let estimate = call(&app, key, "GET", &format!("/campaigns/{id}/estimate"), None).await;
    assert_eq!(estimate.json["shortfall"], 2, "{}", estimate.json);

    let paused = wait_for(&app, key, id, 60, |c| c["status"] == "paused").await;
    assert_eq!(paused["counts"]["held"], 2, "{paused}");
    let got = received(&mobiles).await;
    assert_eq!(got.iter().filter(|n| **n == 1).count(), 3, "{got:?}");

    let again = format!("again-{}", c.id);
    let bought = buy(&app, &c, &again, json!({"credits": 10})).await;
    assert_eq!(bought.status, 201, "{}", bought.json);
    let done = wait_for(&app, key, id, 150, |c| c["status"] == "sent").await;
    assert_eq!(done["counts"]["held"], 0, "{done}");
    assert_eq!(received(&mobiles).await, vec![1; 5]);
    assert_eq!(balance(&app, key).await, 8);
    assert_ledger_matches(&app, &c).await;
}

/// An audience larger than one answer reads (`AUDIENCE_MAX_READS`, here one read of 500) is
/// estimated in parts: each answer carries a cursor with where it got to and the figures so
/// far, and the last one (no cursor) equals the estimate made in one go. A cursor is the
/// campaign's and the clinic's own.
#[tokio::test]
async fn a_large_estimate_comes_in_parts_that_add_up_to_the_whole() {
    let base = app().await;
    let c = new_clinic(&base).await;
    grant(&base, &c.id, 100).await;
    let mobiles: Vec<String> = (0..1_201).map(|_| unique_mobile()).collect();
    tidings_tests::campaigns::seed_patients(&base, &c.id, &mobiles).await;
    let all = report(
        &base,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let first = tidings_tests::campaigns::day_ahead_campaign(&base, &c, &all, None).await;
    let second = tidings_tests::campaigns::day_ahead_campaign(&base, &c, &all, None).await;
    let (id, other_id) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    let path = format!("/campaigns/{id}/estimate");
    let whole = call(&base, &c.staff_key, "GET", &path, None).await;
    assert_eq!(whole.status, 200, "{}", whole.json);
    assert!(whole.json["next_cursor"].is_null(), "{}", whole.json);
    assert_eq!(
        (
            &whole.json["people"],
            &whole.json["credits_needed"],
            &whole.json["shortfall"]
        ),
        (&json!(1_201), &json!(1_201), &json!(1_101)),
        "{}",
        whole.json
    );

    let mut app = base.clone();
    app.config.audience_reads = 1;
    let mut parts = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let p = match &cursor {
            Some(k) => format!("{path}?cursor={k}"),
            None => path.clone(),
        };
        let r = call(&app, &c.staff_key, "GET", &p, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        parts.push(r.json.clone());
        assert!(parts.len() < 10, "{}", r.json);
        match r.json["next_cursor"].as_str() {
            Some(k) => cursor = Some(k.to_owned()),
            None => break,
        }
    }
    assert_eq!(parts.len(), 3, "1,201 people at 500 a read: {parts:?}");
    assert!(parts[0]["people"].as_u64().unwrap() < 1_201);
    assert_eq!(parts.last().unwrap(), &whole.json);

    // A cursor of this estimate does not go on another campaign's, nor another clinic's, and
    // one that was tampered with is refused.
    let k = parts[0]["next_cursor"].as_str().unwrap().to_owned();
    for wrong in [
        format!("/campaigns/{other_id}/estimate?cursor={k}"),
        format!("{path}?cursor=AAAA"),
    ] {
        let r = call(&base, &c.staff_key, "GET", &wrong, None).await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (400, "cursor"),
            "{wrong}: {}",
            r.json
        );
    }
    let theirs = new_clinic(&base).await;
    let r = call(
        &base,
        &theirs.staff_key,
        "GET",
        &format!("{path}?cursor={k}"),
        None,
    )
    .await;
    assert!(matches!(r.status.as_u16(), 400 | 404), "{}", r.json);
}
