//! The events a clinic's endpoints can subscribe to, and how a change Tidings stored becomes
//! one. An event carries ids and states, never a name, number, address or message body: the
//! receiver reads those through the API with its own key.

use crate::FieldError;
use crate::campaign::CampaignStatus;
use crate::message::Status;
use crate::message_template::{Category, Channel};
use crate::notification::{Notification, NotificationKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A credit account whose balance falls below this many credits raises `credits.low`.
pub const LOW_CREDITS: i64 = 50;

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
pub enum EventType {
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    #[serde(rename = "message.failed")]
    MessageFailed,
    #[serde(rename = "reply.received")]
    ReplyReceived,
    #[serde(rename = "patient.opted_out")]
    PatientOptedOut,
    #[serde(rename = "patient.opted_in")]
    PatientOptedIn,
    #[serde(rename = "appointment.confirmed")]
    AppointmentConfirmed,
    #[serde(rename = "appointment.cancellation_requested")]
    AppointmentCancellationRequested,
    #[serde(rename = "campaign.sent")]
    CampaignSent,
    #[serde(rename = "campaign.paused")]
    CampaignPaused,
    #[serde(rename = "credits.low")]
    CreditsLow,
    #[serde(rename = "top_up.failed")]
    TopUpFailed,
}

impl EventType {
    pub const ALL: [Self; 11] = [
        Self::MessageDelivered,
        Self::MessageFailed,
        Self::ReplyReceived,
        Self::PatientOptedOut,
        Self::PatientOptedIn,
        Self::AppointmentConfirmed,
        Self::AppointmentCancellationRequested,
        Self::CampaignSent,
        Self::CampaignPaused,
        Self::CreditsLow,
        Self::TopUpFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageDelivered => "message.delivered",
            Self::MessageFailed => "message.failed",
            Self::ReplyReceived => "reply.received",
            Self::PatientOptedOut => "patient.opted_out",
            Self::PatientOptedIn => "patient.opted_in",
            Self::AppointmentConfirmed => "appointment.confirmed",
            Self::AppointmentCancellationRequested => "appointment.cancellation_requested",
            Self::CampaignSent => "campaign.sent",
            Self::CampaignPaused => "campaign.paused",
            Self::CreditsLow => "credits.low",
            Self::TopUpFailed => "top_up.failed",
        }
    }
}

/// The `events` of an endpoint: at least one, each known, without repeats (kept in order).
pub fn parse_types(field: &str, raw: &[String]) -> Result<Vec<EventType>, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            "name at least one event, e.g. [\"reply.received\"]",
        ));
    }
    let mut out = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let t = EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == name.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                FieldError::new(
                    format!("{field}[{i}]"),
                    "unknown_event",
                    format!("known events: {}", known.join(", ")),
                )
            })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(out)
}

/// The parts of a message an event names.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRef {
    pub id: String,
    pub patient_id: String,
    pub contact_id: Option<String>,
    pub channel: Channel,
    pub category: Category,
    pub appointment_id: Option<String>,
}

/// A change Tidings stored that may be an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A notification was raised.
    Notification(Notification),
    MessageStatus {
        message: MessageRef,
        from: Option<Status>,
        to: Status,
    },
    CampaignStatus {
        campaign_id: String,
        run_id: Option<String>,
        from: Option<CampaignStatus>,
        to: CampaignStatus,
    },
    Balance {
        account: String,
        from: Option<i64>,
        to: i64,
    },
}

/// The event a change is, with its data; None when it is none.
pub fn event_of(change: &Change) -> Option<(EventType, Value)> {
    match change {
        Change::Notification(n) => {
            let t = match n.kind {
                NotificationKind::Reply | NotificationKind::UnmatchedReply => {
                    EventType::ReplyReceived
                }
                NotificationKind::OptedOut => EventType::PatientOptedOut,
                NotificationKind::OptedIn => EventType::PatientOptedIn,
                NotificationKind::AppointmentConfirmed => EventType::AppointmentConfirmed,
                NotificationKind::CancellationRequested => {
                    EventType::AppointmentCancellationRequested
                }
                NotificationKind::TopUpFailed => {
                    // `from` names the credit account; `body` says why, in words for staff.
                    return Some((
                        EventType::TopUpFailed,
                        json!({"account": n.from, "notification_id": n.id}),
                    ));
                }
                // The campaign's own change says which campaign paused; an endpoint disabled
                // for failing is told to staff, not to the endpoint.
                NotificationKind::CampaignPaused | NotificationKind::WebhookEndpointDisabled => {
                    return None;
                }
            };
            Some((
                t,
                json!({
                    "notification_id": n.id,
                    "message_id": n.message_id,
                    "patient_id": n.patient_id,
                    "contact_id": n.contact_id,
                    "appointment_id": n.appointment_id,
                }),
            ))
        }
        Change::MessageStatus { message, from, to } => {
            let t = match to {
                Status::Delivered => EventType::MessageDelivered,
                Status::Failed => EventType::MessageFailed,
                _ => return None,
            };
            if *from == Some(*to) {
                return None;
            }
            Some((
                t,
                json!({
                    "message_id": message.id,
                    "patient_id": message.patient_id,
                    "contact_id": message.contact_id,
                    "channel": message.channel,
                    "category": message.category,
                    "appointment_id": message.appointment_id,
                    "status": to,
                }),
            ))
        }
        Change::CampaignStatus {
            campaign_id,
            run_id,
            from,
            to,
        } => {
            let t = match to {
                CampaignStatus::Sent => EventType::CampaignSent,
                CampaignStatus::Paused => EventType::CampaignPaused,
                _ => return None,
            };
            if *from == Some(*to) {
                return None;
            }
            Some((t, json!({"campaign_id": campaign_id, "run_id": run_id})))
        }
        Change::Balance { account, from, to } => {
            let was_low = from.is_some_and(|b| b < LOW_CREDITS);
            (*to < LOW_CREDITS && !was_low).then(|| {
                (
                    EventType::CreditsLow,
                    json!({"account": account, "balance": to, "below": LOW_CREDITS}),
                )
            })
        }
    }
}

/// What an endpoint receives: JSON with a unique `id` (the same on every attempt: receivers
/// skip ids they have seen), `type`, `created_at` and the ids in `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub created_at: DateTime<Utc>,
    pub data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: Status, from: Option<Status>) -> Change {
        Change::MessageStatus {
            message: MessageRef {
                id: "m1".into(),
                patient_id: "p1".into(),
                contact_id: None,
                channel: Channel::Sms,
                category: Category::Appointment,
                appointment_id: Some("a1".into()),
            },
            from,
            to,
        }
    }

    #[test]
    fn a_message_is_an_event_when_it_becomes_delivered_or_failed() {
        let (t, data) = event_of(&message(Status::Delivered, Some(Status::Sent))).unwrap();
        assert_eq!(t, EventType::MessageDelivered);
        assert_eq!(data["message_id"], "m1");
        assert_eq!(data["status"], "delivered");
        assert_eq!(
            event_of(&message(Status::Failed, Some(Status::Queued))).map(|e| e.0),
            Some(EventType::MessageFailed)
        );
        assert_eq!(event_of(&message(Status::Sent, Some(Status::Queued))), None);
        // A write that leaves the status as it was (an event noted in the history) is none.
        assert_eq!(
            event_of(&message(Status::Delivered, Some(Status::Delivered))),
            None
        );
    }

    #[test]
    fn credits_low_is_raised_once_when_the_balance_crosses_below() {
        let balance = |from, to| Change::Balance {
            account: "group".into(),
            from,
            to,
        };
        assert!(event_of(&balance(Some(60), 49)).is_some());
        assert!(event_of(&balance(Some(49), 40)).is_none());
        assert!(event_of(&balance(Some(40), 60)).is_none());
        assert!(event_of(&balance(None, 0)).is_some());
    }

    #[test]
    fn event_names_are_what_integrators_subscribe_to() {
        let raw: Vec<String> = ["reply.received", "message.failed", "reply.received"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            parse_types("events", &raw).unwrap(),
            vec![EventType::MessageFailed, EventType::ReplyReceived]
        );
        let bad = parse_types("events", &["message.sent".to_owned()]).unwrap_err();
        assert_eq!(
            (bad.field.as_str(), bad.code),
            ("events[0]", "unknown_event")
        );
        assert_eq!(parse_types("events", &[]).unwrap_err().code, "required");
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
