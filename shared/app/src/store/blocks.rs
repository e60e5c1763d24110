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

impl Store {
    /// Opts `e164` out of (or back into) the clinic's SMS.
    pub async fn set_sms_opt_out(
        &self,
        clinic_id: &str,
        e164: &str,
        out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (pk, sk) = (keys::clinic_pk(clinic_id), keys::sms_block_sk(e164));
        if out {
            let item = Item::from([
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sk)),
                ("reason".to_owned(), s("opted_out")),
                ("at".to_owned(), ts(&at)),
            ]);
            self.put(item).await
        } else {
            self.delete(pk, sk).await
        }
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
