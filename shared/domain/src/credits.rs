//! Credits: the prepaid balance SMS (and, where configured, email) is paid from. Every change
//! of a balance is a ledger entry, so the balance always equals the sum of its ledger.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The account of the whole clinic (practitioners' own accounts come later).
pub const GROUP_ACCOUNT: &str = "group";

/// The name of a practitioner's own account.
pub fn practitioner_account(practitioner_id: &str) -> String {
    format!("{PRACTITIONER_PREFIX}{practitioner_id}")
}

const PRACTITIONER_PREFIX: &str = "practitioner:";

/// Checks an account name as a client gives it (`group` or `practitioner:<id>`).
pub fn parse_account(field: &str, value: &str) -> Result<String, crate::FieldError> {
    let v = value.trim();
    let ok = v == GROUP_ACCOUNT
        || v.strip_prefix(PRACTITIONER_PREFIX).is_some_and(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(crate::FieldError::new(
            field,
            "invalid",
            format!("{field} must be group or practitioner:<practitioner id>"),
        ))
    }
}

/// A practitioner's own credit account: it pays for their reminders and for messages sent on
/// their behalf (the balance is a separate record, like the group's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreditAccount {
    pub account: String,
    pub practitioner_id: String,
    pub created_at: DateTime<Utc>,
}

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Credits added by ops (the admin command).
    Grant,
    /// Credits taken for a send, before anything is sent.
    Debit,
    /// Credits given back for a message that failed.
    Refund,
    /// Credits bought by card (`reference`: Stripe's PaymentIntent).
    Purchase,
    /// Credits of a purchase taken back because its payment was refunded or disputed (negative;
    /// never more than the balance: what was already spent stays spent, and the note says so).
    Reversal,
    /// Credits moved between a clinic's accounts: what was left in a practitioner's account
    /// when it was closed goes to the group's (negative in one ledger, positive in the other).
    Transfer,
}

/// What credits were spent on: the notification type of `GET /credits/stats`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Spend {
    Reminder,
    Campaign,
    Greeting,
    /// A message sent through `POST /messages`.
    OneOff,
    /// A message sent through `POST /messages` in answer to a patient's reply.
    Reply,
}

impl Spend {
    pub const ALL: [Spend; 5] = [
        Spend::Reminder,
        Spend::Campaign,
        Spend::Greeting,
        Spend::OneOff,
        Spend::Reply,
    ];
}

/// One change of a balance. `credits` is positive for grants and refunds, negative for debits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LedgerEntry {
    pub id: String,
    pub account: String,
    pub kind: EntryKind,
    pub credits: i64,
    /// The send request or message the entry is for.
    pub reference: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Debits and refunds: what the credits were for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_on: Option<Spend>,
}

/// The default balance below which an automatic top-up is charged.
pub const DEFAULT_TOP_UP_THRESHOLD: i64 = 10;

/// `PUT /credits/auto-top-up`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoTopUpInput {
    pub account: Option<String>,
    pub enabled: Option<bool>,
    pub threshold: Option<i64>,
    pub credits: Option<u64>,
}

/// When an account falls below `threshold` after a debit, `credits` are bought with its saved
/// payment method, once; a failure turns top-ups off until the settings are saved again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AutoTopUp {
    pub account: String,
    pub enabled: bool,
    pub threshold: i64,
    pub credits: u64,
    /// The last failed top-up: when, and why.
    #[serde(default)]
    pub failed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub failure: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl AutoTopUpInput {
    pub fn validate(self, now: DateTime<Utc>) -> Result<AutoTopUp, crate::FieldError> {
        let account = match self.account.as_deref() {
            Some(a) => parse_account("account", a)?,
            None => GROUP_ACCOUNT.to_owned(),
        };
        let threshold = self.threshold.unwrap_or(DEFAULT_TOP_UP_THRESHOLD);
        if !(0..=100_000).contains(&threshold) {
            return Err(crate::FieldError::new(
                "threshold",
                "out_of_range",
                "threshold must be from 0 to 100000 credits",
            ));
        }
        let credits = self
            .credits
            .ok_or_else(|| crate::FieldError::required("credits"))?;
        if !(1..=crate::pricing::MAX_CREDITS).contains(&credits) {
            return Err(crate::FieldError::new(
                "credits",
                "out_of_range",
                format!("credits must be from 1 to {}", crate::pricing::MAX_CREDITS),
            ));
        }
        Ok(AutoTopUp {
            account,
            enabled: self.enabled.unwrap_or(true),
            threshold,
            credits,
            failed_at: None,
            failure: None,
            updated_at: now,
        })
    }
}
