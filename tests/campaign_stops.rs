//! Runs that end early, against the local stack: what a copy that died had reserved goes back
//! when the run is cancelled or fails, once no copy is doing a page of it; a firing of a
//! cancelled campaign ends the run its dead copy left sending.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use serde_json::json;
use tidings_app::App;
use tidings_app::services::campaign_runner::{FireEvent, FireOutcome, fire};
use tidings_app::store::PageClaim;
use tidings_domain::campaign::{CampaignRun, RunStatus};
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry};
use tidings_tests::campaigns::{
    assert_ledger_matches, balance, day_ahead_campaign, event, limits, report, seed_patients,
};
use tidings_tests::{TestClinic, app, call, grant, list_all, moto_sent, new_clinic, unique_mobile};

/// The ledger note of a settlement's refund.
const SETTLED: &str = "reserved for messages no copy of the run claimed";

/// A campaign to three patients of a clinic with 10 credits, and a copy of its firing at
/// `at` that started the run, claimed its page under a lease until `lease_until`, reserved
/// the page's 3 credits, and then died or is still at work.
struct Started {
    app: App,
    c: TestClinic,
    report_id: String,
    ev: FireEvent,
    run_id: String,
    mobiles: Vec<String>,
}

async fn reserved_then_stopped(at: &str, lease_until: chrono::DateTime<Utc>) -> Started {
    let app = app().await;
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
    let debit = LedgerEntry {
        id: tidings_app::ids::new_id(),
        account: GROUP_ACCOUNT.to_owned(),
        kind: EntryKind::Debit,
        credits: -3,
        reference: Some(run_id.clone()),
        note: Some("test".into()),
        created_at: Utc::now(),
        spent_on: None,
    };
    store
        .reserve_run_credits(&c.id, (&id, &run_id), &debit)
        .await
        .unwrap();
    assert_eq!(balance(&app, key).await, 7);
    let ev = event(&c, &id, at);
    Started {
        app,
        c,
        report_id,
        ev,
        run_id,
        mobiles,
    }
}

impl Started {
    async fn cancel(&self) {
        let path = format!("/campaigns/{}/cancel", self.ev.campaign_id);
        let r = call(&self.app, &self.c.staff_key, "POST", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
    }

    async fn run(&self) -> CampaignRun {
        let store = &self.app.store;
        let run = store.get_run(&self.c.id, &self.ev.campaign_id, &self.run_id);
        run.await.unwrap().unwrap()
    }

    /// The run ended as `status`, settled, its dead copy's 3 credits back, nothing sent.
    async fn settled_as(&self, status: RunStatus) {
        let run = self.run().await;
        assert_eq!(run.status, status, "{run:?}");
        assert!(run.settled_at.is_some(), "{run:?}");
        assert_eq!((run.reserved, run.returned), (3, 3));
        assert_eq!(balance(&self.app, &self.c.staff_key).await, 10);
        let (entries, _) =
            list_all(&self.app, &self.c.staff_key, "/credits/ledger?limit=100").await;
        let refunds: Vec<_> = entries.iter().filter(|e| e["note"] == SETTLED).collect();
        assert_eq!(refunds.len(), 1, "{entries:?}");
        assert_eq!(refunds[0]["credits"], 3);
        assert_ledger_matches(&self.app, &self.c).await;
        let sent = moto_sent().await;
        assert!(self.mobiles.iter().all(|m| sent.sms_to(m).is_empty()));
    }
}

#[tokio::test]
async fn a_cancelled_run_its_copy_left_sending_is_ended_and_settled_by_the_next_firing() {
    let dead = Utc::now() - Duration::seconds(1);
    let s = reserved_then_stopped("2026-12-08T09:00:00Z", dead).await;
    s.cancel().await;
    // Lambda delivers the dead copy's event again.
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(
        matches!(&out, FireOutcome::Stopped { reason, .. } if reason == "cancelled"),
        "{out:?}"
    );
    s.settled_as(RunStatus::Cancelled).await;
    // Once more: nothing changes.
    let again = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(matches!(again, FireOutcome::Ignored { .. }), "{again:?}");
    s.settled_as(RunStatus::Cancelled).await;
}

#[tokio::test]
async fn a_cancelled_run_is_left_to_the_copy_doing_its_page() {
    let live = Utc::now() + Duration::minutes(1);
    let s = reserved_then_stopped("2026-12-09T09:00:00Z", live).await;
    s.cancel().await;
    // A copy is still doing the page: it may yet claim what it reserved for, and it ends the
    // run when it sees the cancellation. Nothing is ended or given back under it.
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(matches!(out, FireOutcome::Ignored { .. }), "{out:?}");
    let run = s.run().await;
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
    s.settled_as(RunStatus::Cancelled).await;
}

#[tokio::test]
async fn a_run_that_fails_gives_back_what_its_dead_copy_reserved() {
    let dead = Utc::now() - Duration::seconds(1);
    let s = reserved_then_stopped("2026-12-10T09:00:00Z", dead).await;
    let path = format!("/reports/{}", s.report_id);
    let r = call(&s.app, &s.c.staff_key, "DELETE", &path, None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    let out = fire(&s.app, &s.ev, &limits(300)).await.unwrap();
    assert!(
        matches!(&out, FireOutcome::Stopped { reason, .. } if reason == "report_deleted"),
        "{out:?}"
    );
    s.settled_as(RunStatus::Failed).await;
}
