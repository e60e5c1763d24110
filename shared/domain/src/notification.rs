//! What the practice is told about: replies, opt-outs and answers to reminders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a notification was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A free-text reply from a known patient or contact.
    Reply,
    /// A reply from a number the clinic does not know.
    UnmatchedReply,
    OptedOut,
    OptedIn,
    /// A YES to a reminder confirmed the appointment.
    AppointmentConfirmed,
    /// A NO to a reminder: the practice should act on it.
    CancellationRequested,
    /// An automatic top-up of credits failed (`body` says why); top-ups stay off until the
    /// settings are saved again.
    TopUpFailed,
    /// A campaign ran out of credits and paused (`body` says how many messages wait).
    CampaignPaused,
    /// A webhook endpoint failed every delivery for days and was disabled (`from` is its id).
    WebhookEndpointDisabled,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    /// The received message it is about.
    pub message_id: String,
    pub patient_id: Option<String>,
    pub contact_id: Option<String>,
    pub appointment_id: Option<String>,
    /// The number the reply came from.
    pub from: String,
    pub body: String,
    pub read: bool,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// An unread notification about the credit account `account` (no message or person):
    /// a paused campaign, a failed top-up.
    pub fn about_account(
        id: String,
        kind: NotificationKind,
        account: &str,
        body: String,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            kind,
            message_id: String::new(),
            patient_id: None,
            contact_id: None,
            appointment_id: None,
            from: account.to_owned(),
            body,
            read: false,
            created_at: at,
            read_at: None,
        }
    }
}
