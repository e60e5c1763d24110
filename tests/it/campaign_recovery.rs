//! Campaign runs that recover, against the local stack:
//! - pages of the audience claimed by other copies of the run: a page another copy did is
//!   passed over; a page another copy is doing is waited for; a page whose copy died before it
//!   was done is taken over, up to where that copy ended it (more than a page's worth when
//!   people joined it since);
//! - when DynamoDB refuses batch writes, messages are claimed and recorded one by one;
//! - credits a copy reserved and never claimed go back when the run finishes, once;
//! - page claims carry the time to live that deletes them.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use chrono::{Duration, Utc};
use serde_json::json;
use std::time::Duration as StdDuration;
use tidings_app::App;
use tidings_app::services::campaign_run::{FireOutcome, Limits, PAGE, fire};
use tidings_app::store::{PageClaim, Reservation, Store, TxError, keys};
use tidings_domain::campaign::{CampaignRun, RunStatus};
use tidings_domain::credits::EntryKind;
use tidings_tests::campaigns::{
    assert_ledger_matches, balance, day_ahead_campaign, event, limits, patient, report,
    reserved_run, run_entry, seed_patients, wait_for,
};
use tidings_tests::{app, grant, list_all, moto_sent, new_clinic, unique_mobile};

#[tokio::test]
async fn pages_of_other_copies_are_passed_over_waited_for_or_taken_over() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    // Patient ids are UUID v7: the patient report lists them in this order.
    let mut mobiles = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let m = unique_mobile();
        ids.push(patient(&app, key, &m).await);
        mobiles.push(m);
    }
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap();
    let at = "2026-12-02T09:00:00Z";
    let run_id = tidings_domain::campaign::run_id(id, at.parse().unwrap());
    let store = &app.store;
    // Another copy did the first page (the first two patients), and is doing the next one
    // (the third patient) under a lease that has a minute to go.
    let done = PageClaim {
        next: Some(ids[1].clone()),
        page_done: true,
        lease_until: Utc::now(),
    };
    assert_eq!(
        store.claim_page(&c.id, &run_id, None, &done).await.unwrap(),
        None
    );
    let live = Utc::now() + Duration::minutes(1);
    let doing = PageClaim {
        next: Some(ids[2].clone()),
        page_done: false,
        lease_until: live,
    };
    let second = Some(ids[1].as_str());
    assert_eq!(
        store
            .claim_page(&c.id, &run_id, second, &doing)
            .await
            .unwrap(),
        None
    );

    // A copy with two seconds to work waits for that page, then hands over.
    let short = Limits {
        stop_at: tokio::time::Instant::now() + StdDuration::from_secs(2),
        lease: Duration::minutes(5),
    };
    let ev = event(&c, id, at);
    let out = fire(&app, &ev, &short).await.unwrap();
    // It waited: no page past the one being done was claimed.
    let beyond = store.get_page_claim(&c.id, &run_id, Some(&ids[2])).await;
    assert_eq!(beyond.unwrap(), None);
    assert!(matches!(out, FireOutcome::Continued { .. }), "{out:?}");
    let sent = moto_sent().await;
    assert!(
        mobiles.iter().all(|m| sent.sms_to(m).is_empty()),
        "nothing is sent while another copy holds the page"
    );

    // That copy dies: its lease runs out before the page is done.
    let expired = Utc::now() - Duration::seconds(1);
    assert!(
        store
            .hold_page(&c.id, &run_id, second, &live, &expired)
            .await
            .unwrap()
    );
    fire(&app, &ev, &limits(300)).await.unwrap();
    let sent = moto_sent().await;
    let counts: Vec<usize> = mobiles.iter().map(|m| sent.sms_to(m).len()).collect();
    // The first page was the other copy's; the abandoned page is taken over up to where its
    // claimer ended it (the third patient), and the fourth patient's page is claimed afresh.
    assert_eq!(counts, [0, 0, 1, 1]);
    let after = store.get_page_claim(&c.id, &run_id, second).await.unwrap();
    assert!(after.is_some_and(|p| p.page_done));
    let third = store
        .get_page_claim(&c.id, &run_id, Some(&ids[2]))
        .await
        .unwrap()
        .unwrap();
    assert!(third.page_done);
    assert_eq!(third.next, None);

    // The continuations the short copy scheduled (fired by the bridge, perhaps racing this
    // copy for the abandoned page) send nothing more.
    let shown = wait_for(&app, key, id, 30, |c| c["status"] == "sent").await;
    assert_eq!(shown["counts"]["sent"], 2, "{shown}");
    // A real wait: the continuations are fired by the scheduler bridge, another process on
    // the wall clock.
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let later = moto_sent().await;
    let again: Vec<usize> = mobiles.iter().map(|m| later.sms_to(m).len()).collect();
    assert_eq!(again, [0, 0, 1, 1]);
    assert_eq!(balance(&app, key).await, 8);
    assert_ledger_matches(&app, &c).await;
}

/// Fails every `BatchWriteItem`: the batches of claims and of sent records alike.
#[derive(Debug)]
struct RefuseBatchWrites;

impl Intercept for RefuseBatchWrites {
    fn name(&self) -> &'static str {
        "refuse-batch-writes"
    }

    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if ctx.input().downcast_ref::<BatchWriteItemInput>().is_some() {
            return Err("injected: batch write refused".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn when_batch_writes_are_refused_each_message_is_claimed_and_recorded_by_itself() {
    let base = app().await;
    let aws = aws_config::load_from_env().await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws)
        .interceptor(RefuseBatchWrites)
        .build();
    let app = App {
        store: Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            &base.config.table_name,
        ),
        ..base
    };
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let mobiles: Vec<String> = (0..3).map(|_| unique_mobile()).collect();
    for m in &mobiles {
        patient(&app, key, m).await;
    }
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap();
    let out = fire(&app, &event(&c, id, "2026-12-03T09:00:00Z"), &limits(3))
        .await
        .unwrap();
    // Unclaimed, the messages would not be sent; claimed but left queued, they would hold the
    // run until their lease ran out, and then be taken over and sent again.
    assert!(matches!(out, FireOutcome::Finished { .. }), "{out:?}");
    let shown = wait_for(&app, key, id, 10, |c| c["status"] == "sent").await;
    assert_eq!(shown["counts"]["sent"], 3, "{shown}");
    let sent = moto_sent().await;
    for m in &mobiles {
        assert_eq!(sent.sms_to(m).len(), 1, "{m}");
    }
    let (recipients, _) = list_all(&app, key, &format!("/campaigns/{id}/recipients")).await;
    assert_eq!(recipients.len(), 3);
    for r in &recipients {
        assert_eq!(r["status"], "sent", "{r}");
        assert!(r["sent_at"].is_string(), "{r}");
    }
    assert_eq!(balance(&app, key).await, 7);
}

#[tokio::test]
async fn a_page_taken_over_is_sent_up_to_where_its_claimer_ended_it() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    let n = PAGE + 5;
    grant(&app, &c.id, n as i64).await;
    let mobiles: Vec<String> = (0..n).map(|_| unique_mobile()).collect();
    let ids = seed_patients(&app, &c.id, &mobiles).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap();
    let at = "2026-12-04T09:00:00Z";
    let run_id = tidings_domain::campaign::run_id(id, at.parse().unwrap());
    // A copy claimed a first page that ends at the last patient, more than a page's worth now
    // (as an appointment report's page does when appointments are booked inside it after the
    // claim), and died before the page was done.
    let abandoned = PageClaim {
        next: Some(ids[n - 1].clone()),
        page_done: false,
        lease_until: Utc::now() - Duration::seconds(1),
    };
    let claimed = app.store.claim_page(&c.id, &run_id, None, &abandoned).await;
    assert_eq!(claimed.unwrap(), None);
    let out = fire(&app, &event(&c, id, at), &limits(300)).await.unwrap();
    assert!(matches!(out, FireOutcome::Finished { .. }), "{out:?}");
    // The page is read up to where the claim ends it, not just one page's worth.
    let sent = moto_sent().await;
    for m in &mobiles {
        assert_eq!(sent.sms_to(m).len(), 1, "{m}");
    }
    assert_eq!(balance(&app, key).await, 0);
}

#[tokio::test]
async fn credits_a_copy_reserved_and_never_claimed_go_back_when_the_run_finishes() {
    // A copy started the run, claimed its one page, reserved the page's 3 credits and died
    // before it claimed any message.
    let dead = Utc::now() - Duration::seconds(1);
    let r = reserved_run("2026-12-05T09:00:00Z", dead).await;
    let (app, c, mobiles, run_id) = (&r.app, &r.c, &r.mobiles, &r.run_id);
    let (key, id, store) = (&c.staff_key, r.ev.campaign_id.as_str(), &app.store);

    // The next copy takes the page over, reserves for it again, sends it and finishes.
    let out = fire(app, &r.ev, &limits(300)).await.unwrap();
    assert!(matches!(out, FireOutcome::Finished { .. }), "{out:?}");
    let sent = moto_sent().await;
    for m in mobiles {
        assert_eq!(sent.sms_to(m).len(), 1, "{m}");
    }
    // The dead copy's reservation went back as the run finished: 3 messages cost 3.
    assert_eq!(balance(app, key).await, 7);
    assert_ledger_matches(app, c).await;
    let (entries, _) = list_all(app, key, "/credits/ledger?limit=100").await;
    let settled: Vec<_> = entries
        .iter()
        .filter(|e| e["note"] == "reserved for messages no copy of the run claimed")
        .collect();
    assert_eq!(settled.len(), 1, "{entries:?}");
    assert_eq!(settled[0]["credits"], 3);
    let ended = store.get_run(&c.id, id, run_id).await.unwrap().unwrap();
    assert_eq!((ended.reserved, ended.returned), (6, 3));
    assert!(ended.settled_at.is_some());

    // Once settled, the run takes no late return (it was part of the settlement) and no
    // new reservation.
    let late = run_entry(run_id, EntryKind::Refund, 2);
    let returned = store.return_run_credits(&c.id, (id, run_id), &late).await;
    assert!(!returned.unwrap());
    let again = run_entry(run_id, EntryKind::Debit, -1);
    let reserved = store.reserve_run_credits(&c.id, (id, run_id), &again).await;
    assert!(matches!(
        reserved,
        Err(TxError::Condition(Reservation::RunSettled))
    ));
    assert_eq!(balance(app, key).await, 7);
    assert_ledger_matches(app, c).await;
}

#[tokio::test]
async fn a_settlement_commits_only_on_the_counts_it_read() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let report_id = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let created = day_ahead_campaign(&app, &c, &report_id, None).await;
    let id = created["id"].as_str().unwrap();
    let scheduled = "2026-12-06T09:00:00Z".parse().unwrap();
    let run_id = tidings_domain::campaign::run_id(id, scheduled);
    let store = &app.store;
    let mut run = CampaignRun::start(run_id.clone(), id.to_owned(), scheduled, Utc::now());
    run.audience_done = true;
    assert!(store.start_run(&c.id, &run).await.unwrap());
    let debit = run_entry(&run_id, EntryKind::Debit, -5);
    store
        .reserve_run_credits(&c.id, (id, &run_id), &debit)
        .await
        .unwrap();
    // A settlement works out its refund from reserved 5, returned 0; meanwhile a copy gives
    // 2 back.
    run.reserved = 5;
    let back = run_entry(&run_id, EntryKind::Refund, 2);
    assert!(
        store
            .return_run_credits(&c.id, (id, &run_id), &back)
            .await
            .unwrap()
    );
    run.status = RunStatus::Sent;
    run.finished_at = Some(Utc::now());
    run.settled_at = run.finished_at;
    let stale = run_entry(&run_id, EntryKind::Refund, 5);
    let refused = store.finish_settled_run(&c.id, &run, Some(&stale)).await;
    assert!(!refused.unwrap(), "the counts moved: nothing is written");
    assert_eq!(balance(&app, key).await, 7);
    // Worked out again from what is stored now, it commits.
    run.returned = 2;
    let fresh = run_entry(&run_id, EntryKind::Refund, 3);
    let settled = store.finish_settled_run(&c.id, &run, Some(&fresh)).await;
    assert!(settled.unwrap());
    assert_eq!(balance(&app, key).await, 10);
    assert_ledger_matches(&app, &c).await;
    let ended = store.get_run(&c.id, id, &run_id).await.unwrap().unwrap();
    assert_eq!(
        (ended.status, ended.reserved, ended.returned),
        (RunStatus::Sent, 5, 5)
    );
}

#[tokio::test]
async fn page_claims_expire_through_the_tables_time_to_live() {
    use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
    let app = app().await;
    let c = new_clinic(&app).await;
    let run_id = tidings_app::ids::new_id();
    let claim = PageClaim {
        next: None,
        page_done: false,
        lease_until: Utc::now() + Duration::minutes(5),
    };
    let ours = app.store.claim_page(&c.id, &run_id, None, &claim).await;
    assert_eq!(ours.unwrap(), None);
    let ddb = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);
    let table = std::env::var("TABLE_NAME").unwrap();
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(keys::clinic_pk(&c.id)))
        .key("sk", AttributeValue::S(keys::page_claim_sk(&run_id, None)))
        .send()
        .await
        .unwrap();
    let expires: i64 = item.item().unwrap()["expires_at"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    let days = (expires - Utc::now().timestamp()) / 86_400;
    assert!((29..=30).contains(&days), "{days}");
}
