//! The account's SMS rate holds across campaigns: SNS's quota is the account's, so two
//! campaigns running at once share `CAMPAIGN_SMS_PER_SECOND` instead of each taking it.

use tidings_app::App;
use tidings_app::services::campaign_run::fire;
use tidings_tests::campaigns::{event, limits, paced_campaign};
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{app_via, moto_url};

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
    let last =
        |v: &Vec<&tidings_tests::provider_proxy::Call>| v.iter().map(|c| c.at).max().unwrap();
    let first =
        |v: &Vec<&tidings_tests::provider_proxy::Call>| v.iter().map(|c| c.at).min().unwrap();
    assert!(first(&of_b) < last(&of_a) && first(&of_a) < last(&of_b));
}
