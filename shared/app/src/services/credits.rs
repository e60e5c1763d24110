//! Credit balances and their ledgers.

use super::load_clinic;
use crate::store::{AccountWrite, TxError};
use crate::{App, ServiceError, ids, store::Store};
use serde::Serialize;
use tidings_domain::FieldError;
use tidings_domain::credits::{
    CreditAccount, EntryKind, GROUP_ACCOUNT, LedgerEntry, parse_account, practitioner_account,
};

/// The most credits one grant may add.
pub const MAX_GRANT: i64 = 1_000_000;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Account {
    /// `group`, or `practitioner:<id>` for a practitioner's own account.
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practitioner_id: Option<String>,
    pub balance: i64,
}

/// `GET /credits`: the balances and what things cost.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreditsView {
    pub accounts: Vec<Account>,
    pub sms_credits_per_segment: u32,
    pub email_credit_cost: u32,
}

/// `GET /credits`: the group account first, then each practitioner's own.
pub async fn summary(app: &App, clinic_id: &str) -> Result<CreditsView, ServiceError> {
    let store = &app.store;
    let mut accounts = vec![Account {
        account: GROUP_ACCOUNT.to_owned(),
        practitioner_id: None,
        balance: store.credit_balance(clinic_id, GROUP_ACCOUNT).await?,
    }];
    for a in store.credit_accounts(clinic_id).await? {
        accounts.push(Account {
            balance: store.credit_balance(clinic_id, &a.account).await?,
            account: a.account,
            practitioner_id: Some(a.practitioner_id),
        });
    }
    Ok(CreditsView {
        accounts,
        sms_credits_per_segment: 1,
        email_credit_cost: app.config.email_credit_cost,
    })
}

/// `GET /credits/ledger?account=`: one account's history, newest first (default: the group's).
pub async fn ledger(
    store: &Store,
    clinic_id: &str,
    account: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<LedgerEntry>, Option<String>), ServiceError> {
    let account = match account {
        Some(a) => parse_account("account", a)?,
        None => GROUP_ACCOUNT.to_owned(),
    };
    Ok(store.list_ledger(clinic_id, &account, after, limit).await?)
}

/// The account a request names (`group` when it names none), which must be the group's or an
/// open practitioner account: otherwise a 400 on `account`.
pub async fn named_account(
    store: &Store,
    clinic_id: &str,
    name: Option<&str>,
) -> Result<String, ServiceError> {
    let account = match name {
        Some(a) => parse_account("account", a)?,
        None => GROUP_ACCOUNT.to_owned(),
    };
    if let Some(id) = account.strip_prefix("practitioner:")
        && store.credit_account(clinic_id, id).await?.is_none()
    {
        return Err(FieldError::new("account", "not_found", "no such credit account").into());
    }
    Ok(account)
}

/// A practitioner's own account as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: CreditAccount,
    pub balance: i64,
}

/// `POST /practitioners/{id}/credit-account`: opens the practitioner's own account (empty;
/// ops grant credits to it, and purchases come with the Stripe work). From then on it pays for
/// their reminders and for messages sent on their behalf.
pub async fn open(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
) -> Result<AccountView, ServiceError> {
    let a = CreditAccount {
        account: practitioner_account(practitioner_id),
        practitioner_id: practitioner_id.to_owned(),
        created_at: app.now(),
    };
    match app.store.open_credit_account(clinic_id, &a).await {
        Ok(()) => {}
        Err(TxError::Condition(AccountWrite::UnknownPractitioner)) => {
            return Err(ServiceError::NotFound("practitioner"));
        }
        Err(TxError::Condition(_)) => {
            return Err(ServiceError::conflict(
                "account_exists",
                None,
                "this practitioner already has a credit account",
            ));
        }
        Err(TxError::Store(e)) => return Err(e.into()),
    }
    let balance = app.store.credit_balance(clinic_id, &a.account).await?;
    Ok(AccountView {
        account: a,
        balance,
    })
}

/// `GET /practitioners/{id}/credit-account`.
pub async fn get_account(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
) -> Result<AccountView, ServiceError> {
    let a = app
        .store
        .credit_account(clinic_id, practitioner_id)
        .await?
        .ok_or(ServiceError::NotFound("credit account"))?;
    let balance = app.store.credit_balance(clinic_id, &a.account).await?;
    Ok(AccountView {
        account: a,
        balance,
    })
}

/// What closing an account did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Closed {
    /// Credits moved from the practitioner's account to the group's.
    pub moved_to_group: i64,
}

/// `DELETE /practitioners/{id}/credit-account`: the practitioner goes back to the group
/// account, and what was left of their balance is moved to it (both ledgers show the transfer).
pub async fn close(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
) -> Result<Closed, ServiceError> {
    let store = &app.store;
    let account = practitioner_account(practitioner_id);
    // A debit between reading the balance and closing makes the transaction fail: read again.
    for _ in 0..5 {
        if store
            .credit_account(clinic_id, practitioner_id)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound("credit account"));
        }
        let balance = store.credit_balance(clinic_id, &account).await?.max(0);
        match store
            .close_credit_account(clinic_id, practitioner_id, balance, app.now())
            .await
        {
            Ok(()) => {
                return Ok(Closed {
                    moved_to_group: balance,
                });
            }
            Err(TxError::Condition(AccountWrite::Missing)) => {
                return Err(ServiceError::NotFound("credit account"));
            }
            Err(TxError::Condition(_)) => continue,
            Err(TxError::Store(e)) => return Err(e.into()),
        }
    }
    Err(super::concurrent_update())
}

/// The one place that decides which account pays for a message: a practitioner's own account
/// when the message is theirs (a reminder of their appointment, a message on their behalf) and
/// they have one; otherwise the clinic's group account.
pub async fn paying_account(
    store: &Store,
    clinic_id: &str,
    practitioner_id: Option<&str>,
) -> Result<String, ServiceError> {
    if let Some(id) = practitioner_id
        && let Some(own) = store.credit_account(clinic_id, id).await?
    {
        return Ok(own.account);
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
    grant_to(store, clinic_id, GROUP_ACCOUNT, credits, note).await
}

/// Adds credits to one of a clinic's accounts (ops): the group's, or an open practitioner
/// account.
pub async fn grant_to(
    store: &Store,
    clinic_id: &str,
    account: &str,
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
    let account = named_account(store, clinic_id, Some(account)).await?;
    let entry = LedgerEntry {
        id: ids::new_id(),
        account,
        kind: EntryKind::Grant,
        credits,
        reference: None,
        note,
        created_at: store.now(),
        spent_on: None,
    };
    store.grant_credits(clinic_id, &entry).await?;
    Ok(entry)
}

/// One currency's price tiers as `GET /credits/prices` shows them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Prices {
    pub currency: String,
    pub tiers: Vec<tidings_domain::pricing::TierView>,
}

/// `GET /credits/prices`: the deployment's price tiers per currency (buying more lowers the
/// price per credit).
pub fn prices(app: &App) -> Vec<Prices> {
    app.config
        .prices
        .iter()
        .map(|l| Prices {
            currency: l.currency.clone(),
            tiers: l.view(),
        })
        .collect()
}
