//! Numbers and addresses a clinic must not send to: SMS opt-outs (a STOP reply) and email
//! suppressions (a permanent bounce or a complaint). Sends read them all in one query.

use super::{Item, Query, SortKey, Store, StoreError, keys, s, ts};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// What a clinic must not send to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// E.164 numbers opted out of SMS.
    pub sms: HashSet<String>,
    /// Lower-case email addresses suppressed.
    pub email: HashSet<String>,
}

impl Blocked {
    pub fn is_empty(&self) -> bool {
        self.sms.is_empty() && self.email.is_empty()
    }
}

/// A patient's STOP or START, with the time they sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub e164: String,
    pub opted_out: bool,
    pub at: DateTime<Utc>,
}

impl Store {
    /// The writes that apply a consent change, only if no later one was applied to the number
    /// (the first is conditional on that; the caller knows its failure means "outdated").
    pub(crate) fn tx_consent(
        &self,
        clinic_id: &str,
        c: &ConsentChange,
    ) -> Result<Vec<super::TransactWriteItem>, StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let consent = Item::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s(keys::sms_consent_sk(&c.e164))),
            // Milliseconds since 1970: a number orders correctly where RFC 3339 strings with
            // and without fractions of a second do not.
            ("sent_ms".to_owned(), super::n(c.at.timestamp_millis())),
            (
                "state".to_owned(),
                s(if c.opted_out { "opted_out" } else { "opted_in" }),
            ),
        ]);
        let guard = self.tx_put(
            consent,
            "attribute_not_exists(pk) OR sent_ms <= :at",
            Some(Item::from([(
                ":at".to_owned(),
                super::n(c.at.timestamp_millis()),
            )])),
        )?;
        let block = if c.opted_out {
            let item = Item::from([
                ("pk".to_owned(), s(&pk)),
                ("sk".to_owned(), s(keys::sms_block_sk(&c.e164))),
                ("reason".to_owned(), s("opted_out")),
                ("at".to_owned(), ts(&c.at)),
            ]);
            self.tx_put_any(item)?
        } else {
            self.tx_delete_any(pk, keys::sms_block_sk(&c.e164))?
        };
        Ok(vec![guard, block])
    }

    /// Claims the one automatic answer of `kind` a number gets in a day: `Ok(false)` when it
    /// had one in the last 24 hours, so a flood of posts cannot run up an SMS bill.
    pub async fn claim_auto_answer(
        &self,
        clinic_id: &str,
        e164: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let until = now + chrono::Duration::days(1);
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::auto_answer_sk(e164, kind))),
            ("answered_until".to_owned(), super::n(until.timestamp())),
            ("expires_at".to_owned(), super::n(until.timestamp())),
        ]);
        self.put_if(
            item,
            "attribute_not_exists(pk) OR answered_until < :now",
            Some(Item::from([(":now".to_owned(), super::n(now.timestamp()))])),
        )
        .await
    }

    /// Stops the clinic's email to `address` (`reason`: `bounced` or `complained`).
    pub async fn suppress_email(
        &self,
        clinic_id: &str,
        address: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::email_block_sk(address))),
            ("reason".to_owned(), s(reason)),
            ("at".to_owned(), ts(&at)),
        ]);
        self.put(item).await
    }

    /// Everything the clinic must not send to.
    pub async fn blocked(&self, clinic_id: &str) -> Result<Blocked, StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), keys::BLOCK_PREFIX);
        let mut out = Blocked::default();
        for SortKey { sk } in self.query_all::<SortKey>(q).await? {
            if let Some(n) = sk.strip_prefix("BLOCK#SMS#") {
                out.sms.insert(n.to_owned());
            } else if let Some(a) = sk.strip_prefix("BLOCK#EMAIL#") {
                out.email.insert(a.to_owned());
            }
        }
        Ok(out)
    }
}
