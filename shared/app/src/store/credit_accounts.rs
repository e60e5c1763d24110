//! Practitioners' own credit accounts (`ACCOUNT#practitioner:<id>`): opened once, closed with
//! what is left of the balance moved to the group account in the same transaction.

use super::{Item, Query, Store, StoreError, TxError, from_item, keys, n, s, to_item};
use chrono::{DateTime, Utc};
use tidings_domain::credits::{
    CreditAccount, EntryKind, GROUP_ACCOUNT, LedgerEntry, practitioner_account,
};

/// Why opening or closing an account did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountWrite {
    /// Opening: the practitioner has an account already. Closing: it has none.
    Exists,
    Missing,
    UnknownPractitioner,
    /// The balance changed while the account was being closed (retry).
    BalanceChanged,
}

impl Store {
    /// Opens a practitioner's account (balance 0).
    pub async fn open_credit_account(
        &self,
        clinic_id: &str,
        a: &CreditAccount,
    ) -> Result<(), TxError<AccountWrite>> {
        let pk = keys::clinic_pk(clinic_id);
        let mut item = to_item(a)?;
        item.insert("pk".into(), s(&pk));
        item.insert("sk".into(), s(keys::credit_account_sk(&a.account)));
        self.transact(vec![
            (
                self.tx_put(item, "attribute_not_exists(pk)", None)?,
                AccountWrite::Exists,
            ),
            (
                self.tx_check(
                    pk,
                    keys::practitioner_sk(&a.practitioner_id),
                    "attribute_exists(pk)",
                )?,
                AccountWrite::UnknownPractitioner,
            ),
        ])
        .await
    }

    pub async fn credit_account(
        &self,
        clinic_id: &str,
        practitioner_id: &str,
    ) -> Result<Option<CreditAccount>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::credit_account_sk(&practitioner_account(practitioner_id)),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    /// Every practitioner account of the clinic.
    pub async fn credit_accounts(&self, clinic_id: &str) -> Result<Vec<CreditAccount>, StoreError> {
        self.query_all(Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::CREDIT_ACCOUNT_PREFIX,
        ))
        .await
    }

    /// Closes a practitioner's account whose balance is `balance`: the account record goes,
    /// the balance drops to 0 and the group's rises by as much, each with its ledger entry.
    pub async fn close_credit_account(
        &self,
        clinic_id: &str,
        practitioner_id: &str,
        balance: i64,
        at: DateTime<Utc>,
    ) -> Result<(), TxError<AccountWrite>> {
        let pk = keys::clinic_pk(clinic_id);
        let account = practitioner_account(practitioner_id);
        let mut tx = vec![(
            self.tx_delete(
                pk.clone(),
                keys::credit_account_sk(&account),
                "attribute_exists(pk)",
                None,
            )?,
            AccountWrite::Missing,
        )];
        if balance > 0 {
            tx.push((
                self.tx_update(
                    pk,
                    keys::credits_sk(&account),
                    "SET balance = :zero",
                    "balance = :b",
                    Item::from([(":zero".to_owned(), n(0)), (":b".to_owned(), n(balance))]),
                )?,
                AccountWrite::BalanceChanged,
            ));
            tx.push((
                self.tx_add_credits(clinic_id, GROUP_ACCOUNT, balance)?,
                AccountWrite::BalanceChanged,
            ));
            let entry = |account: &str, credits: i64, note: &str| LedgerEntry {
                id: crate::ids::new_id(),
                account: account.to_owned(),
                kind: EntryKind::Transfer,
                credits,
                reference: Some(account.to_owned()),
                note: Some(note.to_owned()),
                created_at: at,
                spent_on: None,
            };
            for e in [
                entry(
                    &account,
                    -balance,
                    "account closed: balance moved to the group",
                ),
                entry(GROUP_ACCOUNT, balance, "from a closed practitioner account"),
            ] {
                tx.push((self.tx_ledger(clinic_id, &e)?, AccountWrite::BalanceChanged));
            }
        }
        self.transact(tx).await
    }
}
