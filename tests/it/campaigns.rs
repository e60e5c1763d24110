//! Campaigns against the local stack: scheduled in moto's EventBridge Scheduler, fired by the
//! local bridge through `cargo lambda watch`, or fired in-process where a test needs to crash a
//! run or deliver the same firing three times at once.

use chrono::{Duration, Utc};
use serde_json::json;
use std::time::Duration as StdDuration;
use tidings_app::services::campaign_run::{FireOutcome, IgnoreReason, Limits, fire};
use tidings_tests::campaigns::{
    assert_ledger_matches, balance, campaign, campaign_to_new_patients, day_ahead_campaign, event,
    in_seconds, limits, patient, report, scheduler_names, seeded_campaign, sms_template, wait_for,
};
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{
    app, app_via, assert_rejected, call, grant, list_all, moto_sent, moto_url, new_clinic,
    snapshot, unique_mobile,
};

fn sms_count(sent: &tidings_tests::Sent, mobile: &str) -> usize {
    sent.sms_to(mobile).len()
}

#[tokio::test]
async fn bridge_fires_a_campaign_to_the_audience_of_the_moment() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 50).await;
    let (m_a, m_b, m_c) = (unique_mobile(), unique_mobile(), unique_mobile());
    let a = patient(&app, key, &m_a).await;
    let b = patient(&app, key, &m_b).await;
    // Ann has three appointments in the window: the report lists her three times.
    let day = |d: i64| (Utc::now() + Duration::days(d)).to_rfc3339();
    let end = |d: i64| (Utc::now() + Duration::days(d) + Duration::minutes(30)).to_rfc3339();
    for (p, d) in [(&a, 1), (&a, 2), (&a, 3), (&b, 2)] {
        let r = call(
            &app,
            key,
            "POST",
            "/appointments",
            Some(json!({"patient_id": p, "start": day(d), "end": end(d)})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let today = Utc::now().date_naive();
    let report_id = report(
        &app,
        key,
        json!({"name": "Next week", "type": "appointment",
               "filters": {"from": today.to_string(), "to": (today + Duration::days(8)).to_string()}}),
    )
    .await;
    let template = sms_template(&app, key).await;
    let created = campaign(
        &app,
        key,
        json!({"name": "Week ahead", "report_id": report_id, "channels": {"sms": template},
               "send_at": in_seconds(8)}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "scheduled");
    assert!(
        created["schedule_expression"]
            .as_str()
            .unwrap()
            .starts_with("at(")
    );

    // After creation: Bob is deleted, Cleo is added with an appointment.
    assert_eq!(
        call(&app, key, "DELETE", &format!("/patients/{b}"), None)
            .await
            .status,
        204
    );
    let cleo = patient(&app, key, &m_c).await;
    let r = call(
        &app,
        key,
        "POST",
        "/appointments",
        Some(json!({"patient_id": cleo, "start": day(4), "end": end(4)})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);

    let done = wait_for(&app, key, id, 60, |c| c["status"] == "sent").await;
    assert_eq!(done["runs"], 1);
    assert_eq!(done["counts"]["recipients"], 2, "{done}");
    assert_eq!(done["counts"]["sent"], 2, "{done}");
    assert_eq!(done["credits_used"], 2);
    assert!(done["next_send_at"].is_null());

    let sent = moto_sent().await;
    assert_eq!(sms_count(&sent, &m_a), 1, "listed three times, sent once");
    assert_eq!(sms_count(&sent, &m_b), 0, "deleted before the firing");
    assert_eq!(sms_count(&sent, &m_c), 1, "added after creation");
    assert!(
        sent.sms_to(&m_a)[0]["message"]
            .as_str()
            .unwrap()
            .contains("Hi Pat")
    );

    // The communication report and the recipients, as JSON and CSV.
    let (listed, _) = list_all(&app, key, "/campaigns?status=sent&limit=10").await;
    assert!(listed.iter().any(|c| c["id"] == id));
    let (rows, _) = list_all(&app, key, &format!("/campaigns/{id}/recipients?limit=1")).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "sent" && r["channel"] == "sms")
    );
    let csv = call(
        &app,
        key,
        "GET",
        &format!("/campaigns/{id}/recipients?format=csv"),
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.body).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("message_id,patient_id,recipient"));
    // The one-time schedule is gone after completion.
    let schedules = scheduler_names().await;
    assert!(!schedules.iter().any(|n| n.contains(id)), "{schedules:?}");
}

#[tokio::test]
async fn a_crashed_run_and_triplicate_firings_never_send_a_message_twice() {
    let base = app().await;
    let c = new_clinic(&base).await;
    let key = &c.staff_key;
    grant(&base, &c.id, 200).await;
    let mut mobiles = Vec::new();
    for _ in 0..30 {
        let m = unique_mobile();
        patient(&base, key, &m).await;
        mobiles.push(m);
    }
    let report_id = report(
        &base,
        key,
        json!({"name": "Everyone", "type": "patient", "filters": {}}),
    )
    .await;
    let created = day_ahead_campaign(&base, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap();
    let at = "2026-11-24T09:00:00Z";

    // First attempt: the calls for five patients hang (nobody can tell whether the provider
    // took them), and the process dies (the run is dropped) while they hang, before the SDK's
    // attempt timeout.
    let hung: Vec<String> = mobiles[..5].to_vec();
    let script_hung = hung.clone();
    let proxy = ProviderProxy::start(moto_url(), move |to, _| {
        if script_hung.iter().any(|m| m == to) {
            Fault::Hang
        } else {
            Fault::Pass
        }
    })
    .await;
    let crashing = app_via(&proxy.url).await;
    let ev = event(&c, id, at);
    let first =
        tokio::time::timeout(StdDuration::from_secs(4), fire(&crashing, &ev, &limits(3))).await;
    assert!(
        first.is_err(),
        "the first run must still be hanging: {first:?}"
    );
    let sent = moto_sent().await;
    assert_eq!(
        mobiles.iter().filter(|m| sms_count(&sent, m) == 1).count(),
        25
    );

    // The same firing delivered three times at once, after the leases ran out: the app's clock
    // moves past them instead of the test waiting. (The lease is 3 s, not less: a copy whose
    // lease renewal comes late stops claiming, as it should, and a busy DynamoDB Local can be
    // that slow.) The five a dead copy may have handed over are never handed over again: they
    // become unconfirmed.
    base.store
        .clock()
        .advance(chrono::Duration::milliseconds(3500));
    let (l1, l2, l3) = (limits(300), limits(300), limits(300));
    let (x, y, z) = tokio::join!(
        fire(&base, &ev, &l1),
        fire(&base, &ev, &l2),
        fire(&base, &ev, &l3),
    );
    let outcomes = [x.unwrap(), y.unwrap(), z.unwrap()];
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, FireOutcome::Finished { .. })),
        "{outcomes:?}"
    );
    let sent = moto_sent().await;
    for m in &mobiles {
        let expected = usize::from(!hung.contains(m));
        assert_eq!(sms_count(&sent, m), expected, "{m}: at most one message");
    }
    // Once more, after it finished: nothing.
    let again = fire(&base, &ev, &limits(300)).await.unwrap();
    assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    let after = moto_sent().await;
    for m in &mobiles {
        assert_eq!(
            sms_count(&after, m),
            usize::from(!hung.contains(m)),
            "{m}: nothing more after the run finished"
        );
    }

    let done = call(&base, key, "GET", &format!("/campaigns/{id}"), None)
        .await
        .json;
    assert_eq!(done["status"], "sent", "{done}");
    assert_eq!(done["counts"]["sent"], 25, "{done}");
    // Unconfirmed messages keep their credits: they may have been sent.
    assert_eq!(done["counts"]["unconfirmed"], 5, "{done}");
    assert_eq!(done["credits_used"], 30);
    assert_eq!(balance(&base, key).await, 170);
    assert_ledger_matches(&base, &c).await;
    // What the copies reserved and gave back comes to what the messages used.
    let run_id = tidings_domain::campaign::run_id(id, at.parse().unwrap());
    let run = base
        .store
        .get_run(&c.id, id, &run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.reserved - run.returned, 30, "{run:?}");
    assert!(run.settled_at.is_some());
}

#[tokio::test]
async fn a_one_time_campaign_fired_at_two_times_at_once_runs_once() {
    let app = app().await;
    let (c, id, mobiles) = campaign_to_new_patients(&app, 50, 12).await;
    let (key, id) = (&c.staff_key, id.as_str());

    // Two firings of the one schedule, for two different times (a stray or replayed event),
    // arrive together: they are two runs' worth of firings for a campaign that has one.
    let (early, late) = (
        event(&c, id, "2026-12-03T09:00:00Z"),
        event(&c, id, "2026-12-03T09:00:07Z"),
    );
    let (l1, l2) = (limits(300), limits(300));
    let (x, y) = tokio::join!(fire(&app, &early, &l1), fire(&app, &late, &l2));
    let outcomes = [x.unwrap(), y.unwrap()];
    let finished = outcomes
        .iter()
        .filter(|o| matches!(o, FireOutcome::Finished { .. }))
        .count();
    let ignored = outcomes
        .iter()
        .filter(|o| matches!(o, FireOutcome::Ignored { reason } if *reason == IgnoreReason::OneTimeCampaignRan));
    assert_eq!((finished, ignored.count()), (1, 1), "{outcomes:?}");
    let sent = moto_sent().await;
    for m in &mobiles {
        assert_eq!(sms_count(&sent, m), 1, "{m} must get exactly one message");
    }

    // Either firing again, now that the run finished: nothing more.
    for ev in [&early, &late] {
        let again = fire(&app, ev, &limits(300)).await.unwrap();
        assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    }
    let after = moto_sent().await;
    assert!(mobiles.iter().all(|m| sms_count(&after, m) == 1));
    let done = call(&app, key, "GET", &format!("/campaigns/{id}"), None)
        .await
        .json;
    assert_eq!(done["status"], "sent", "{done}");
    assert_eq!(done["runs"], 1, "{done}");
    assert_eq!(done["counts"]["sent"], 12, "{done}");
    assert_eq!(done["credits_used"], 12, "{done}");
    assert_eq!(balance(&app, key).await, 38);
    assert_ledger_matches(&app, &c).await;
}

#[tokio::test]
async fn cancelled_before_it_fires_sends_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let m = unique_mobile();
    patient(&app, key, &m).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let template = sms_template(&app, key).await;
    let created = campaign(
        &app,
        key,
        json!({"name": "Soon", "report_id": report_id, "channels": {"sms": template},
               "send_at": in_seconds(6)}),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    // The schedule cannot be edited; the name can.
    let r = call(
        &app,
        key,
        "PATCH",
        &format!("/campaigns/{id}"),
        Some(json!({"send_at": in_seconds(60)})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.code(), "schedule_not_editable");
    let r = call(
        &app,
        key,
        "PATCH",
        &format!("/campaigns/{id}"),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], "Renamed");

    let r = call(&app, key, "POST", &format!("/campaigns/{id}/cancel"), None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "cancelled");
    assert!(r.json["next_send_at"].is_null());
    assert!(!scheduler_names().await.iter().any(|n| n.contains(id)));

    // A firing that was already on its way finds the campaign cancelled.
    let late = fire(&app, &event(&c, id, &Utc::now().to_rfc3339()), &limits(300))
        .await
        .unwrap();
    assert!(matches!(late, FireOutcome::Ignored { .. }), "{late:?}");
    // A real wait: the scheduler bridge (another process, on the wall clock) would fire the
    // deleted schedule's time by now if it still existed.
    tokio::time::sleep(StdDuration::from_secs(8)).await;
    assert_eq!(sms_count(&moto_sent().await, &m), 0);
    assert_eq!(balance(&app, key).await, 10);
    let r = call(&app, key, "POST", &format!("/campaigns/{id}/cancel"), None).await;
    assert_eq!(r.status, 200, "cancelling twice is harmless");
}

#[tokio::test]
async fn a_repeating_campaign_runs_once_per_firing_with_a_fresh_audience() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 20).await;
    let (m1, m2) = (unique_mobile(), unique_mobile());
    patient(&app, key, &m1).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, Some("weekly")).await;
    let id = created["id"].as_str().unwrap();
    assert!(
        created["schedule_expression"]
            .as_str()
            .unwrap()
            .starts_with("cron(")
    );
    assert!(created["next_send_at"].is_string());

    let first = fire(&app, &event(&c, id, "2026-12-01T09:00:00Z"), &limits(300))
        .await
        .unwrap();
    let FireOutcome::Finished { run_id: run1, .. } = first else {
        panic!("{first:?}")
    };
    let after_first = call(&app, key, "GET", &format!("/campaigns/{id}"), None)
        .await
        .json;
    assert_eq!(
        after_first["status"], "scheduled",
        "a repeating campaign goes on"
    );
    patient(&app, key, &m2).await;
    let second = fire(&app, &event(&c, id, "2026-12-08T09:00:00Z"), &limits(300))
        .await
        .unwrap();
    let FireOutcome::Finished {
        run_id: run2,
        counts,
    } = second
    else {
        panic!("{second:?}")
    };
    assert_ne!(run1, run2);
    assert_eq!(counts.sent, 2, "the second run reads the audience afresh");
    let sent = moto_sent().await;
    assert_eq!(sms_count(&sent, &m1), 2, "one message per run");
    assert_eq!(sms_count(&sent, &m2), 1);
    let c2 = call(&app, key, "GET", &format!("/campaigns/{id}"), None)
        .await
        .json;
    assert_eq!(c2["runs"], 2);
    assert_eq!(c2["last_run_id"], run2.as_str());
    assert_eq!(c2["credits_used"], 3);
    let (rows, _) = list_all(
        &app,
        key,
        &format!("/campaigns/{id}/recipients?run_id={run1}&limit=10"),
    )
    .await;
    assert_eq!(rows.len(), 1);

    let r = call(&app, key, "POST", &format!("/campaigns/{id}/cancel"), None).await;
    assert_eq!(r.json["status"], "cancelled");
    let third = fire(&app, &event(&c, id, "2026-12-15T09:00:00Z"), &limits(300))
        .await
        .unwrap();
    assert!(matches!(third, FireOutcome::Ignored { .. }));
}

#[tokio::test]
async fn a_daily_campaign_made_without_send_at_first_fires_now_then_daily_until_cancelled() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let m = unique_mobile();
    patient(&app, key, &m).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let template = sms_template(&app, key).await;
    let before = Utc::now();
    let created = campaign(
        &app,
        key,
        json!({"name": "Daily", "report_id": report_id, "channels": {"sms": template},
               "repeat": "daily"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    // Schedules name whole minutes: the first firing is the next one, not this time tomorrow.
    let first: chrono::DateTime<Utc> = created["next_send_at"].as_str().unwrap().parse().unwrap();
    assert!(
        first > before && first <= before + Duration::seconds(66),
        "{created}"
    );
    assert_eq!(created["send_at"], created["next_send_at"], "{created}");

    // The scheduler bridge fires it (as AWS would, never for a time before it was made).
    let fired = wait_for(&app, key, id, 100, |c| c["runs"] == 1).await;
    assert_eq!(fired["status"], "scheduled", "{fired}");
    assert_eq!(fired["counts"]["sent"], 1, "{fired}");
    let next: chrono::DateTime<Utc> = fired["next_send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, first + Duration::days(1), "{fired}");
    assert_eq!(sms_count(&moto_sent().await, &m), 1);

    let r = call(&app, key, "POST", &format!("/campaigns/{id}/cancel"), None).await;
    assert_eq!(r.json["status"], "cancelled", "{}", r.json);
    assert!(r.json["next_send_at"].is_null(), "{}", r.json);
    let schedules = scheduler_names().await;
    assert!(!schedules.iter().any(|n| n.contains(id)), "{schedules:?}");
}

#[tokio::test]
async fn provider_throttling_slows_a_run_but_loses_and_repeats_nothing() {
    let proxy = ProviderProxy::start(moto_url(), |_, attempt| {
        if attempt < 2 {
            Fault::Throttle
        } else {
            Fault::Pass
        }
    })
    .await;
    let app = app_via(&proxy.url).await;
    let (c, id, mobiles) = campaign_to_new_patients(&app, 50, 12).await;
    let (key, id) = (&c.staff_key, id.as_str());
    let out = fire(&app, &event(&c, id, "2026-11-30T09:00:00Z"), &limits(300))
        .await
        .unwrap();
    let FireOutcome::Finished { counts, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!((counts.sent, counts.failed, counts.recipients), (12, 0, 12));
    let sent = moto_sent().await;
    for m in &mobiles {
        assert_eq!(sms_count(&sent, m), 1);
        let calls = proxy
            .calls()
            .into_iter()
            .filter(|c| &c.recipient == m)
            .count();
        assert_eq!(
            calls, 3,
            "two throttled attempts, then the one that went through"
        );
    }
    assert_eq!(balance(&app, key).await, 38);
    assert_ledger_matches(&app, &c).await;
}

#[tokio::test]
async fn campaign_input_is_checked_and_clinics_are_kept_apart() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let key = &c.staff_key;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let template = sms_template(&app, key).await;
    let email_template = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "E", "channel": "email", "subject": "Hi", "body": "Hello {{ first_name }}"})),
    )
    .await
    .id();
    let ok = json!({"name": "X", "report_id": report_id, "channels": {"sms": template}});
    let before = snapshot(&app, &c.id).await;
    for (patch, field, status) in [
        (json!({"report_id": "nope"}), "report_id", 400),
        (
            json!({"channels": {"sms": email_template}}),
            "channels.sms",
            400,
        ),
        (json!({"channels": {"sms": "nope"}}), "channels.sms", 400),
        (json!({"channels": {}}), "channels", 400),
        (json!({"send_at": "2020-01-01T00:00:00Z"}), "send_at", 400),
        (json!({"send_at": "tomorrow"}), "send_at", 400),
        (json!({"repeat": "fortnightly"}), "repeat", 400),
        (json!({"repeat": "cron(0 25 * * ? *)"}), "repeat", 400),
        (json!({"repeat": "cron(0 9 ? * 6#6 *)"}), "repeat", 400),
        (json!({"repeat": "cron(0 9 31 2 ? *)"}), "repeat", 400),
        (json!({"upload_id": "u"}), "upload_id", 400),
        (json!({"on_behalf_of": "nope"}), "on_behalf_of", 400),
        (json!({"colour": "red"}), "colour", 400),
        (json!({"name": ""}), "name", 400),
    ] {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = call(&app, key, "POST", "/campaigns", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, status, field).await;
    }
    let r = call(&app, key, "GET", "/campaigns?status=done", None).await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "status"));
    // The communication report shows when an expression's schedule next sends, too.
    for repeat in ["cron(0 9 ? * 2 *)", "rate(2 hours)"] {
        let mut body = ok.clone();
        body["repeat"] = json!(repeat);
        let made = campaign(&app, key, body).await;
        let next = made["next_send_at"].as_str().unwrap_or_default();
        let next: chrono::DateTime<Utc> = next.parse().expect("a next send time");
        assert!(
            next > Utc::now() && next <= Utc::now() + Duration::days(7),
            "{made}"
        );
        let r = call(
            &app,
            key,
            "POST",
            &format!("/campaigns/{}/cancel", made["id"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(r.status, 200);
    }

    // Another clinic's report cannot be used, and its campaigns cannot be seen or touched.
    let theirs = call(
        &app,
        &other.staff_key,
        "POST",
        "/campaigns",
        Some(ok.clone()),
    )
    .await;
    assert_eq!((theirs.status.as_u16(), theirs.field()), (400, "report_id"));
    let created = campaign(&app, key, {
        let mut b = ok.clone();
        b["send_at"] = json!(in_seconds(86_400));
        b
    })
    .await;
    let id = created["id"].as_str().unwrap();
    for (method, path, body) in [
        ("GET", format!("/campaigns/{id}"), None),
        (
            "PATCH",
            format!("/campaigns/{id}"),
            Some(json!({"name": "Mine"})),
        ),
        ("POST", format!("/campaigns/{id}/cancel"), None),
        ("GET", format!("/campaigns/{id}/recipients"), None),
    ] {
        let r = call(&app, &other.staff_key, method, &path, body).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.json);
    }
    let (listed, _) = list_all(&app, &other.staff_key, "/campaigns?limit=10").await;
    assert!(listed.is_empty());
    let r = call(&app, key, "POST", &format!("/campaigns/{id}/cancel"), None).await;
    assert_eq!(r.json["status"], "cancelled");
}

#[tokio::test]
async fn a_run_out_of_time_continues_from_its_checkpoint_through_the_scheduler() {
    let app = app().await;
    let n = tidings_app::services::campaign_run::PAGE + 10;
    let (c, id, mobiles) = seeded_campaign(&app, n as i64, n).await;
    let (key, id) = (&c.staff_key, id.as_str());
    // An invocation whose time is already up sends one page, then hands over.
    let spent = Limits {
        stop_at: tokio::time::Instant::now(),
        lease: Duration::minutes(5),
    };
    let out = fire(&app, &event(&c, id, "2026-12-01T09:00:00Z"), &spent)
        .await
        .unwrap();
    assert!(matches!(out, FireOutcome::Continued { .. }), "{out:?}");
    // The continuation schedule fires through the bridge and the campaign function finishes.
    let done = wait_for(&app, key, id, 60, |c| c["status"] == "sent").await;
    assert_eq!(done["counts"]["sent"].as_u64(), Some(n as u64), "{done}");
    let sent = moto_sent().await;
    for m in &mobiles {
        assert_eq!(sms_count(&sent, m), 1, "{m}");
    }
    assert_eq!(balance(&app, key).await, 0);
}

/// A page's last messages still with the provider do not hold up the next page: it begins once
/// the page has claimed all its messages, and its first sends go out beside them (before, the
/// next page waited for the slowest answer of the page and the writes between two pages).
#[tokio::test]
async fn the_next_page_goes_out_while_a_pages_last_messages_are_with_the_provider() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tidings_app::services::campaign_run::PAGE;
    let base = app().await;
    let n = PAGE + 40;
    let (c, id, mobiles) = seeded_campaign(&base, n as i64, n).await;
    let (key, id) = (&c.staff_key, id.as_str());
    // The provider answers the first PAGE - 5 calls, then holds every call unanswered (the
    // first page's last five among them) until the test lets them through.
    let (calls, held) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(true)),
    );
    let (counted, holding) = (calls.clone(), held.clone());
    let proxy = ProviderProxy::start(moto_url(), move |_, _| {
        let k = counted.fetch_add(1, Ordering::SeqCst);
        if k >= PAGE - 5 && holding.load(Ordering::SeqCst) {
            Fault::Hang
        } else {
            Fault::Pass
        }
    })
    .await;
    let app = app_via(&proxy.url).await;
    let (ev, time) = (event(&c, id, "2026-12-02T09:00:00Z"), limits(300));
    let run = fire(&app, &ev, &time);
    let watch = async {
        let until = tokio::time::Instant::now() + StdDuration::from_secs(120);
        while calls.load(Ordering::SeqCst) < PAGE - 5 && tokio::time::Instant::now() < until {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        // The SDK gives up on a held call after 5 s: until then the first page is not done.
        let until = tokio::time::Instant::now() + StdDuration::from_secs(4);
        while calls.load(Ordering::SeqCst) <= PAGE && tokio::time::Instant::now() < until {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        let seen = calls.load(Ordering::SeqCst);
        held.store(false, Ordering::SeqCst);
        seen
    };
    let (out, seen) = tokio::join!(run, watch);
    assert!(
        seen > PAGE,
        "the second page waited for the first page's last answers: {seen} calls"
    );
    let out = out.unwrap();
    assert!(matches!(out, FireOutcome::Finished { .. }), "{out:?}");
    // Nothing twice, nothing lost: each person's message sent, or unconfirmed where the held
    // call was given up on.
    let sent = moto_sent().await;
    for m in &mobiles {
        assert!(sms_count(&sent, m) <= 1, "{m}");
    }
    let done = call(&base, key, "GET", &format!("/campaigns/{id}"), None)
        .await
        .json;
    let counts = &done["counts"];
    let (ok, unconfirmed) = (
        counts["sent"].as_u64().unwrap(),
        counts["unconfirmed"].as_u64().unwrap_or(0),
    );
    assert_eq!(ok + unconfirmed, n as u64, "{done}");
    let delivered = mobiles.iter().filter(|m| sms_count(&sent, m) == 1).count();
    assert_eq!(delivered as u64, ok, "{done}");
    assert_ledger_matches(&base, &c).await;
}

/// Seed 002's mass mailing: a one-off message to all patients of one gender is a campaign from
/// a `patient` report, sent when it fires (the example in docs/api.md).
#[tokio::test]
async fn a_mass_mailing_to_one_gender_reaches_exactly_those_patients() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 20).await;
    let mut mobiles = Vec::new();
    for gender in ["female", "female", "male", ""] {
        let m = unique_mobile();
        let mut body = json!({"first_name": "Pat", "last_name": "Doe", "mobile": m});
        if !gender.is_empty() {
            body["gender"] = json!(gender);
        }
        let r = call(&app, key, "POST", "/patients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        mobiles.push(m);
    }
    let women = report(
        &app,
        key,
        json!({"name": "Women", "type": "patient", "filters": {"gender": "female"}}),
    )
    .await;
    let everyone = report(&app, key, json!({"name": "Everyone", "type": "patient"})).await;
    let template = sms_template(&app, key).await;
    for (report_id, expected) in [(women, [1, 1, 0, 0]), (everyone, [2, 2, 1, 1])] {
        let created = campaign(
            &app,
            key,
            json!({"name": "Mass mailing", "report_id": report_id, "channels": {"sms": template}}),
        )
        .await;
        let id = created["id"].as_str().unwrap();
        // Fired here at its scheduled time; the bridge's firing of the same time is the same
        // run, so whichever comes second finds it running or done and sends nothing more.
        let at = created["next_send_at"].as_str().unwrap();
        fire(&app, &event(&c, id, at), &limits(300)).await.unwrap();
        wait_for(&app, key, id, 60, |v| v["status"] == "sent").await;
        let sent = moto_sent().await;
        let counts: Vec<usize> = mobiles.iter().map(|m| sms_count(&sent, m)).collect();
        assert_eq!(counts, expected);
    }
}

/// The recipients CSV goes through the one CSV writer: an address that a spreadsheet would run
/// as a formula comes back as text.
#[tokio::test]
async fn the_recipients_csv_neutralises_formula_cells() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let formula = format!("=1+2-{}@harbour.example", uuid::Uuid::new_v4().simple());
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Pat", "last_name": "Doe", "email": formula})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let template = call(
        &app,
        &c.staff_key,
        "POST",
        "/templates",
        Some(
            json!({"name": "News", "channel": "email", "category": "general",
            "subject": "News", "body": "Hi {{ first_name }}"}),
        ),
    )
    .await;
    assert_eq!(template.status, 201, "{}", template.json);
    let report_id = report(
        &app,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let created = campaign(
        &app,
        &c.staff_key,
        json!({"name": "News", "report_id": report_id,
        "channels": {"email": template.id()}, "send_at": in_seconds(86_400)}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    fire(&app, &event(&c, id, &in_seconds(0)), &limits(60))
        .await
        .unwrap();
    let csv = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/campaigns/{id}/recipients?format=csv"),
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    let mut rows = csv::Reader::from_reader(csv.body.as_slice());
    let to: Vec<String> = rows.records().map(|r| r.unwrap()[5].to_owned()).collect();
    assert_eq!(to, [format!("'{formula}")]);
}

#[tokio::test]
async fn campaign_schedules_keep_the_firings_scheduler_cannot_deliver() {
    // Made at run time, so the template cannot give them a dead-letter queue: the code does.
    let app = app().await;
    let (_, id, _) = campaign_to_new_patients(&app, 0, 1).await;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_scheduler::Client::new(&aws);
    let group = std::env::var("SCHEDULE_GROUP").unwrap();
    let name = scheduler_names()
        .await
        .into_iter()
        .find(|n| n.contains(&id))
        .expect("the campaign's schedule");
    let s = client
        .get_schedule()
        .name(&name)
        .group_name(&group)
        .send()
        .await
        .unwrap();
    let target = s.target().unwrap();
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(std::env::var("FAILED_EVENTS_QUEUE_ARN").unwrap().as_str())
    );
    let retry = target.retry_policy().unwrap();
    assert_eq!(
        (
            retry.maximum_retry_attempts(),
            retry.maximum_event_age_in_seconds()
        ),
        (Some(5), Some(3600))
    );
}
