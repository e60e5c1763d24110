//! Credits: the prepaid balance SMS (and, where configured, email) is paid from. Every change
//! of a balance is a ledger entry, so the balance always equals the sum of its ledger.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The account of the whole clinic (practitioners' own accounts come later).
pub const GROUP_ACCOUNT: &str = "group";

/// The name of a practitioner's own account.
pub fn practitioner_account(practitioner_id: &str) -> String {
    format!("practitioner:{practitioner_id}")
}

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Credits added by ops (the admin command).
    Grant,
    /// Credits taken for a send, before anything is sent.
    Debit,
    /// Credits given back for a message that failed.
    Refund,
}

/// One change of a balance. `credits` is positive for grants and refunds, negative for debits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    pub account: String,
    pub kind: EntryKind,
    pub credits: i64,
    /// The send request or message the entry is for.
    pub reference: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}
