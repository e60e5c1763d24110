//! Leases of campaign runs against the local stack: a page that takes longer to send than a
//! lease stays with the live copy sending it; a copy whose page was taken over, or whose
//! lease ran out, claims no more of it; a page slower than the invocation's time left is cut
//! there and handed to the continuation at once. Every person receives one message each way.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use chrono::{Duration, Utc};
use std::time::Duration as StdDuration;
use tidings_app::App;
use tidings_app::services::campaign_run::{FireEvent, FireOutcome, IgnoreReason, Limits, fire};
use tidings_app::store::Store;
use tidings_tests::campaigns::{
    assert_ledger_matches, balance, event, limits, paced_campaign, wait_for,
};
use tidings_tests::{TestClinic, moto_sent};

/// People in the audience: one page, sent at [`RATE`] in five seconds.
const PEOPLE: usize = 200;
/// Texts a second: the page takes five seconds against a lease of [`LEASE_SECS`], while a
/// text is sent well within the lease of its claim (claims run about a second ahead: two
/// batches at this rate).
const RATE: u32 = 40;
const LEASE_SECS: i64 = 3;

/// A clinic with [`PEOPLE`] patients and the credits for them, a campaign to them all, an app
/// that sends at [`RATE`], and the firing at `at`.
async fn slow_campaign(at: &str) -> (App, TestClinic, FireEvent, Vec<String>) {
    let (app, c, id, mobiles) = paced_campaign(PEOPLE as i64, PEOPLE, RATE).await;
    let ev = event(&c, &id, at);
    (app, c, ev, mobiles)
}

/// How many of `mobiles` moto has texted so far.
async fn texted(mobiles: &[String]) -> usize {
    let sent = moto_sent().await;
    mobiles
        .iter()
        .filter(|m| !sent.sms_to(m).is_empty())
        .count()
}

/// Every person received exactly one text, the credits add up, and the run is sent.
async fn each_sent_once(app: &App, c: &TestClinic, mobiles: &[String]) {
    let sent = moto_sent().await;
    let counts: Vec<usize> = mobiles.iter().map(|m| sent.sms_to(m).len()).collect();
    let twice = counts.iter().filter(|n| **n > 1).count();
    let never = counts.iter().filter(|n| **n == 0).count();
    assert_eq!((twice, never), (0, 0), "people texted twice, and never");
    assert_eq!(balance(app, &c.staff_key).await, 0);
    assert_ledger_matches(app, c).await;
}

#[tokio::test]
async fn a_page_slower_than_its_lease_stays_with_the_live_copy_sending_it() {
    let (app, c, ev, mobiles) = slow_campaign("2026-12-06T09:00:00Z").await;
    let copy = || async { fire(&app, &ev, &limits(LEASE_SECS)).await.unwrap() };
    // The same firing again, once the page's first lease would have run out: the first copy
    // has renewed it, so this copy waits for the page instead of taking it over.
    let (first, second) = tokio::join!(copy(), async {
        // A real wait (as in every test here): the live copy renews its lease on tokio's timer
        // while it sends, and those renewals are what is tested; moving the app's clock
        // instead would only make the live copy see its own lease run out.
        tokio::time::sleep(StdDuration::from_millis(3_500)).await;
        copy().await
    });
    for out in [&first, &second] {
        assert!(matches!(out, FireOutcome::Finished { .. }), "{out:?}");
    }
    each_sent_once(&app, &c, &mobiles).await;
    let run_id =
        tidings_domain::campaign::run_id(&ev.campaign_id, "2026-12-06T09:00:00Z".parse().unwrap());
    let run = app
        .store
        .get_run(&c.id, &ev.campaign_id, &run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.counts.sent, PEOPLE as u64, "{run:?}");
}

#[tokio::test]
async fn a_copy_whose_page_was_taken_over_claims_no_more_of_it() {
    let at = "2026-12-07T09:00:00Z";
    let (app, c, ev, mobiles) = slow_campaign(at).await;
    let store = &app.store;
    let run_id = tidings_domain::campaign::run_id(&ev.campaign_id, at.parse().unwrap());
    // Long enough that no message the first copy claimed outlives its lease before its send,
    // however slowly moto answers while other tests run: the page is taken over by moving its
    // lease, not by waiting for it.
    let lease = 6;
    let copy = || async { fire(&app, &ev, &limits(lease)).await.unwrap() };
    let take_over = async {
        // As if the first copy had stalled past its lease: the page's lease is moved to a
        // time that has passed. Its next renewal finds the page gone.
        tokio::time::sleep(StdDuration::from_millis(1_200)).await;
        let past = Utc::now() - Duration::seconds(1);
        loop {
            let claim = store.get_page_claim(&c.id, &run_id, None).await.unwrap();
            let lease = claim.unwrap().lease_until;
            if store
                .hold_page(&c.id, &run_id, None, &lease, &past)
                .await
                .unwrap()
            {
                break;
            }
        }
        // The first copy renews every third of its lease (two seconds): by now it has found
        // the page gone.
        tokio::time::sleep(StdDuration::from_millis(3_500)).await;
        // A second copy takes the page over and sends what the first left unclaimed.
        copy().await
    };
    let (first, second) = tokio::join!(copy(), take_over);
    assert!(matches!(second, FireOutcome::Finished { .. }), "{second:?}");
    each_sent_once(&app, &c, &mobiles).await;
    assert_eq!(
        first,
        FireOutcome::Ignored {
            reason: IgnoreReason::PageTakenOver
        }
    );
}

/// Fails every renewal of a page's lease (an `UpdateItem` of `lease_until` on a page claim).
#[derive(Debug)]
struct RefusePageRenewals;

impl Intercept for RefusePageRenewals {
    fn name(&self) -> &'static str {
        "refuse-page-renewals"
    }

    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = ctx.input().downcast_ref::<UpdateItemInput>() else {
            return Ok(());
        };
        let page = input
            .key()
            .and_then(|k| k.get("sk"))
            .and_then(|sk| sk.as_s().ok())
            .is_some_and(|sk| sk.starts_with("PAGE#"));
        if page && input.update_expression() == Some("SET lease_until = :until") {
            return Err("injected: page lease not renewed".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_copy_whose_lease_ran_out_claims_no_more_and_a_retry_takes_the_page_over() {
    let (app, c, ev, mobiles) = slow_campaign("2026-12-11T09:00:00Z").await;
    let aws = aws_config::load_from_env().await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws)
        .interceptor(RefusePageRenewals)
        .build();
    let stalled = App {
        store: Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            &app.config.table_name,
        ),
        ..app.clone()
    };
    // The first copy: its page's lease (a second) is never renewed, so it claims no more from
    // its next batch on, sends what it claimed and fails.
    let err = fire(&stalled, &ev, &limits(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            tidings_app::services::campaign_run::RunError::PageLeaseRanOut
        ),
        "{err:?}"
    );
    let texted = texted(&mobiles).await;
    assert!(texted < PEOPLE, "the copy claimed on: {texted} texted");
    // Lambda retries an invocation once it has failed: the retry takes the page over (its
    // lease ran out) and sends the rest. (A copy running beside a live one is
    // `a_page_slower_than_its_lease_stays_with_the_live_copy_sending_it`; beside one that
    // stalled, `a_copy_whose_page_was_taken_over_claims_no_more_of_it`.)
    let second = fire(&app, &ev, &limits(LEASE_SECS)).await.unwrap();
    assert!(matches!(second, FireOutcome::Finished { .. }), "{second:?}");
    each_sent_once(&app, &c, &mobiles).await;
}

#[tokio::test]
async fn a_page_slower_than_the_time_left_is_cut_and_its_continuation_takes_the_rest_at_once() {
    let at = "2026-12-08T09:00:00Z";
    let (app, c, ev, mobiles) = slow_campaign(at).await;
    let run_id = tidings_domain::campaign::run_id(&ev.campaign_id, at.parse().unwrap());
    // Two seconds to go, and the usual five-minute lease: the page needs five seconds.
    let short = Limits {
        stop_at: tokio::time::Instant::now() + StdDuration::from_secs(2),
        lease: Duration::minutes(5),
    };
    let first = fire(&app, &ev, &short).await.unwrap();
    // Read at once: the continuation is already scheduled, and takes the page over as soon as
    // the scheduler bridge fires it.
    let claim = app
        .store
        .get_page_claim(&c.id, &run_id, None)
        .await
        .unwrap();
    let read_at = Utc::now();
    assert!(matches!(first, FireOutcome::Continued { .. }), "{first:?}");
    // The page is not done, and its lease is given up rather than held for five minutes.
    let claim = claim.unwrap();
    assert!(!claim.page_done, "{claim:?}");
    assert!(claim.lease_until <= read_at, "{claim:?}");
    assert!(texted(&mobiles).await > 0, "none texted before the cut");

    // The continuation (fired by the scheduler bridge through cargo lambda watch) takes the
    // page over at once and sends the rest: within a minute, not after the old lease.
    let done = wait_for(&app, &c.staff_key, &ev.campaign_id, 60, |c| {
        c["status"] == "sent"
    })
    .await;
    assert_eq!(done["counts"]["sent"], PEOPLE, "{done}");
    each_sent_once(&app, &c, &mobiles).await;
}
