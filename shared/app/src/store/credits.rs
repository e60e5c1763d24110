//! Credit balances (`CREDITS#<account>`, attribute `balance`) and their ledgers
//! (`LEDGER#<account>#<entry id>`). A balance only ever changes in the same transaction as the
//! ledger entry that explains it.

use super::{Item, Page, Query, Store, StoreError, from_item, keys, n, s, to_item};
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use tidings_domain::credits::LedgerEntry;

impl Store {
    /// The balance of an account; 0 before its first entry.
    pub async fn credit_balance(&self, clinic_id: &str, account: &str) -> Result<i64, StoreError> {
        let item = self
            .get(keys::clinic_pk(clinic_id), keys::credits_sk(account))
            .await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("balance"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Adds credits (a grant by ops) with its ledger entry.
    pub async fn grant_credits(
        &self,
        clinic_id: &str,
        entry: &LedgerEntry,
    ) -> Result<(), StoreError> {
        let tx = vec![
            (
                self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                (),
            ),
            (self.tx_ledger(clinic_id, entry)?, ()),
        ];
        self.transact(tx).await.map_err(|e| match e {
            super::TxError::Store(s) => s,
            super::TxError::Condition(()) => StoreError::Sdk {
                op: "TransactWriteItems",
                detail: "ledger entry id collided".into(),
            },
        })
    }

    /// A page of an account's ledger, newest first, after the entry `after_id`.
    pub async fn list_ledger(
        &self,
        clinic_id: &str,
        account: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<LedgerEntry>, Option<String>), StoreError> {
        let prefix = keys::ledger_prefix(account);
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), prefix.clone());
        q.forward = false;
        let after = after_id.map(|id| keys::ledger_sk(account, id));
        let Page { items, next_after } = self.page(&q, after, limit).await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = next_after.and_then(|sk| sk.strip_prefix(&prefix).map(str::to_owned));
        Ok((list, next))
    }

    /// Every ledger entry of every account of the clinic (open or closed) made from `from` to
    /// before `to`, a page at a time. Reads the clinic's whole ledger: for statistics.
    pub async fn ledger_between(
        &self,
        clinic_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        // Stored times are RFC 3339 in UTC with a `Z`; a bound without it sorts before every
        // time in its second, whatever its fraction.
        let bound = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), keys::LEDGER_PREFIX);
        q.filter = Some("created_at >= :from AND created_at < :to");
        q.values.insert(":from".into(), s(bound(from)));
        q.values.insert(":to".into(), s(bound(to)));
        q.limit = 1000;
        self.query_all(q).await
    }

    /// Every ledger entry of an account (tests and reconciliation).
    pub async fn all_ledger(
        &self,
        clinic_id: &str,
        account: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        self.query_all(Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::ledger_prefix(account),
        ))
        .await
    }

    /// Takes `credits` from the account if it has them (the condition fails otherwise).
    pub(crate) fn tx_take_credits(
        &self,
        clinic_id: &str,
        account: &str,
        credits: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_update(
            keys::clinic_pk(clinic_id),
            keys::credits_sk(account),
            "SET balance = balance - :c",
            "balance >= :c",
            Item::from([(":c".to_owned(), n(credits))]),
        )
    }

    /// Adds `credits` to the account, creating it at 0 first if needed.
    pub(crate) fn tx_add_credits(
        &self,
        clinic_id: &str,
        account: &str,
        credits: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::credits_sk(account),
            "ADD balance :c",
            None,
            Default::default(),
            Item::from([(":c".to_owned(), n(credits))]),
        )
    }

    pub(crate) fn tx_ledger(
        &self,
        clinic_id: &str,
        entry: &LedgerEntry,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = to_item(entry)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::ledger_sk(&entry.account, &entry.id)));
        self.tx_put(item, "attribute_not_exists(pk)", None)
    }
}
