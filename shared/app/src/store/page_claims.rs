//! Page claims (`PAGE#<run id>#<start>`): which copy of a campaign run plans and claims one
//! page of its audience.
//!
//! Every copy of a run walks the same chain of pages: each claim records where its page ends,
//! and a copy that finds a page claimed and done goes on from there. The copy that holds a
//! page's claim is the only one to write its messages, so it may write them in batches, without
//! a condition on each ([`Store::claim_messages`]). A page not done before its claim's lease ran
//! out (its copy died) is taken over, and its messages claimed one by one, each if absent. A
//! copy renews its lease while it works on a page ([`Store::hold_page`]), so a slow page is
//! never taken from a copy that is still alive.
//! Claims expire ([`KEPT_DAYS`] after they are made) through the table's time to live.

use super::{Item, Query, Store, StoreError, attr, from_item, keys, s, to_item, ts};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A claimed page of a run's audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageClaim {
    /// Where the page ends: the position the next page starts after (`None`: the last page).
    pub next: Option<String>,
    /// Whether the page's messages have all been claimed and handed to the provider.
    pub page_done: bool,
    /// Until when the page is its claimer's while it is not done.
    pub lease_until: DateTime<Utc>,
}

/// How long a page claim is kept: far longer than any run lasts (a run paused for credits
/// ends within a day). DynamoDB's time to live (`expires_at`) then deletes it.
const KEPT_DAYS: i64 = 30;

/// The key of the claim of run `run_id`'s page that starts after `start`.
fn page_key(clinic_id: &str, run_id: &str, start: Option<&str>) -> (String, String) {
    (
        keys::clinic_pk(clinic_id),
        keys::page_claim_sk(run_id, start),
    )
}

impl Store {
    /// Claims the page of run `run_id` that starts after `start`; `Ok(None)` when the claim is
    /// this copy's, or the claim another copy holds.
    pub async fn claim_page(
        &self,
        clinic_id: &str,
        run_id: &str,
        start: Option<&str>,
        claim: &PageClaim,
    ) -> Result<Option<PageClaim>, StoreError> {
        let (pk, sk) = page_key(clinic_id, run_id, start);
        let mut item = to_item(claim)?;
        item.insert("pk".into(), s(&pk));
        item.insert("sk".into(), s(&sk));
        let expires = self.now() + chrono::Duration::days(KEPT_DAYS);
        item.insert("expires_at".into(), super::n(expires.timestamp()));
        if self.put_if(item, "attribute_not_exists(pk)", None).await? {
            return Ok(None);
        }
        // Claims are kept for longer than any run lasts, so the one that stopped this put is
        // there to read.
        self.get(pk, sk)
            .await?
            .map(from_item)
            .transpose()?
            .ok_or(StoreError::Missing("page claim"))
            .map(Some)
    }

    /// The claim of the page of run `run_id` that starts after `start`, if there is one.
    pub async fn get_page_claim(
        &self,
        clinic_id: &str,
        run_id: &str,
        start: Option<&str>,
    ) -> Result<Option<PageClaim>, StoreError> {
        let (pk, sk) = page_key(clinic_id, run_id, start);
        self.get(pk, sk).await?.map(from_item).transpose()
    }

    /// Records that the page is done.
    pub async fn page_done(
        &self,
        clinic_id: &str,
        run_id: &str,
        start: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = page_key(clinic_id, run_id, start);
        let values = Item::from([(":t".to_owned(), attr(&true)?)]);
        self.update_if(key, "SET page_done = :t", "attribute_exists(pk)", values)
            .await?;
        Ok(())
    }

    /// Moves the lease of a page that is not done from `prev` to `until`: a copy takes over a
    /// page whose claimer's lease ran out, and keeps its own page while it works on it.
    /// `Ok(false)` if the lease is no longer `prev` (another copy took the page) or it is done.
    pub async fn hold_page(
        &self,
        clinic_id: &str,
        run_id: &str,
        start: Option<&str>,
        prev: &DateTime<Utc>,
        until: &DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = page_key(clinic_id, run_id, start);
        let values = Item::from([
            (":f".to_owned(), attr(&false)?),
            (":prev".to_owned(), ts(prev)),
            (":until".to_owned(), ts(until)),
        ]);
        self.update_if(
            key,
            "SET lease_until = :until",
            "page_done = :f AND lease_until = :prev",
            values,
        )
        .await
    }

    /// Whether a copy is doing a page of run `run_id` at `now`: a claim not done whose lease
    /// has not run out.
    pub async fn page_in_progress(
        &self,
        clinic_id: &str,
        run_id: &str,
        now: &DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut q = Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::page_claims_prefix(run_id),
        );
        q.filter = Some("page_done = :f");
        q.values = Item::from([(":f".to_owned(), attr(&false)?)]);
        q.limit = 1000;
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                let claim: PageClaim = from_item(item)?;
                if claim.lease_until > *now {
                    return Ok(true);
                }
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => return Ok(false),
            }
        }
    }
}
