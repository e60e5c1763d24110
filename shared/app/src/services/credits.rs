//! Credit balances and their ledgers.

use super::load_clinic;
use crate::{App, ServiceError, ids, store::Store};
use chrono::Utc;
use serde::Serialize;
use tidings_domain::FieldError;
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry, practitioner_account};

/// The most credits one grant may add.
pub const MAX_GRANT: i64 = 1_000_000;

#[derive(Debug, Serialize)]
pub struct Account {
    pub account: &'static str,
    pub balance: i64,
}

/// `GET /credits`: the balances and what things cost.
#[derive(Debug, Serialize)]
pub struct CreditsView {
    pub accounts: Vec<Account>,
    pub sms_credits_per_segment: u32,
    pub email_credit_cost: u32,
}

pub async fn summary(app: &App, clinic_id: &str) -> Result<CreditsView, ServiceError> {
    let balance = app.store.credit_balance(clinic_id, GROUP_ACCOUNT).await?;
    Ok(CreditsView {
        accounts: vec![Account {
            account: GROUP_ACCOUNT,
            balance,
        }],
        sms_credits_per_segment: 1,
        email_credit_cost: app.config.email_credit_cost,
    })
}

pub async fn ledger(
    store: &Store,
    clinic_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<LedgerEntry>, Option<String>), ServiceError> {
    Ok(store
        .list_ledger(clinic_id, GROUP_ACCOUNT, after, limit)
        .await?)
}

/// The one place that decides which account pays for a message: a practitioner's own account
/// when the message is theirs (a reminder of their appointment, a message on their behalf) and
/// they have one; otherwise the clinic's group account.
pub async fn paying_account(
    store: &Store,
    clinic_id: &str,
    practitioner_id: Option<&str>,
) -> Result<String, ServiceError> {
    if let Some(id) = practitioner_id {
        let own = practitioner_account(id);
        if store.credit_account_exists(clinic_id, &own).await? {
            return Ok(own);
        }
    }
    Ok(GROUP_ACCOUNT.to_owned())
}

/// Adds credits to a clinic's group account (ops, through the admin command).
pub async fn grant(
    store: &Store,
    clinic_id: &str,
    credits: i64,
    note: Option<String>,
) -> Result<LedgerEntry, ServiceError> {
    if !(1..=MAX_GRANT).contains(&credits) {
        return Err(FieldError::new(
            "credits",
            "out_of_range",
            format!("credits must be from 1 to {MAX_GRANT}"),
        )
        .into());
    }
    load_clinic(store, clinic_id).await?;
    let entry = LedgerEntry {
        id: ids::new_id(),
        account: GROUP_ACCOUNT.to_owned(),
        kind: EntryKind::Grant,
        credits,
        reference: None,
        note,
        created_at: Utc::now(),
    };
    store.grant_credits(clinic_id, &entry).await?;
    Ok(entry)
}
