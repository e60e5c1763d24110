//! Runs that end early, against the local stack: what a copy that died had reserved goes back
//! when the run is cancelled or fails, once no copy is doing a page of it; a firing of a
//! cancelled campaign ends the run its dead copy left sending.

use chrono::{Duration, Utc};
use tidings_app::services::campaign_run::{FireOutcome, fire};
use tidings_domain::campaign::{CampaignRun, RunStatus, StopReason};
use tidings_tests::campaigns::{ReservedRun, assert_ledger_matches, balance, limits, reserved_run};
use tidings_tests::{call, list_all, moto_sent};

/// The ledger note of a settlement's refund.
const SETTLED: &str = "reserved for messages no copy of the run claimed";

async fn cancel(s: &ReservedRun) {
    let path = format!("/campaigns/{}/cancel", s.ev.campaign_id);
    let r = call(&s.app, &s.c.staff_key, "POST", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn run_of(s: &ReservedRun) -> CampaignRun {
    let store = &s.app.store;
    let run = store.get_run(&s.c.id, &s.ev.campaign_id, &s.run_id);
    run.await.unwrap().unwrap()
}

/// The run ended as `status`, settled, its dead copy's 3 credits back, nothing sent.
async fn settled_as(s: &ReservedRun, status: RunStatus) {
    let run = run_of(s).await;
    assert_eq!(run.status, status, "{run:?}");
    assert!(run.settled_at.is_some(), "{run:?}");
    assert_eq!((run.reserved, run.returned), (3, 3));
    assert_eq!(balance(&s.app, &s.c.staff_key).await, 10);
    let (entries, _) = list_all(&s.app, &s.c.staff_key, "/credits/ledger?limit=100").await;
    let refunds: Vec<_> = entries.iter().filter(|e| e["note"] == SETTLED).collect();
    assert_eq!(refunds.len(), 1, "{entries:?}");
    assert_eq!(refunds[0]["credits"], 3);
    assert_ledger_matches(&s.app, &s.c).await;
    let sent = moto_sent().await;
    assert!(s.mobiles.iter().all(|m| sent.sms_to(m).is_empty()));
}

#[tokio::test]
async fn a_cancelled_run_its_copy_left_sending_is_ended_and_settled_by_the_next_firing() {
    let dead = Utc::now() - Duration::seconds(1);
    let s = reserved_run("2026-12-08T09:00:00Z", dead).await;
    cancel(&s).await;
    // Lambda delivers the dead copy's event again.
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(
        matches!(&out, FireOutcome::Stopped { reason, .. } if *reason == StopReason::Cancelled),
        "{out:?}"
    );
    settled_as(&s, RunStatus::Cancelled).await;
    // Once more: nothing changes.
    let again = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    settled_as(&s, RunStatus::Cancelled).await;
}

#[tokio::test]
async fn a_cancelled_run_is_left_to_the_copy_doing_its_page() {
    let live = Utc::now() + Duration::minutes(1);
    let s = reserved_run("2026-12-09T09:00:00Z", live).await;
    cancel(&s).await;
    // A copy is still doing the page: it may yet claim what it reserved for, and it ends the
    // run when it sees the cancellation. Nothing is ended or given back under it.
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(matches!(out, FireOutcome::Ignored { .. }), "{out:?}");
    let run = run_of(&s).await;
    assert_eq!((run.status, run.settled_at), (RunStatus::Sending, None));
    assert_eq!(balance(&s.app, &s.c.staff_key).await, 7);
    // That copy dies: its lease runs out.
    let past = Utc::now() - Duration::seconds(1);
    let store = &s.app.store;
    let moved = store
        .hold_page(&s.c.id, &s.run_id, None, &live, &past)
        .await;
    assert!(moved.unwrap());
    fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    settled_as(&s, RunStatus::Cancelled).await;
}

#[tokio::test]
async fn a_run_that_fails_gives_back_what_its_dead_copy_reserved() {
    let dead = Utc::now() - Duration::seconds(1);
    let s = reserved_run("2026-12-10T09:00:00Z", dead).await;
    let path = format!("/reports/{}", s.report_id);
    let r = call(&s.app, &s.c.staff_key, "DELETE", &path, None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(
        matches!(&out, FireOutcome::Stopped { reason, .. } if *reason == StopReason::ReportDeleted),
        "{out:?}"
    );
    settled_as(&s, RunStatus::Failed).await;
}
