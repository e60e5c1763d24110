//! What SES reports about an email: a delivery settles it; a permanent bounce fails it and
//! suppresses the address for the clinic; a complaint suppresses the address; a reject fails
//! it; a delay is added to its history. A complaint also opts the person out of campaign
//! email.

use crate::{App, ServiceError};
use serde::Serialize;
use tidings_domain::actor::{Actor, WebhookSource};
use tidings_domain::message::{Status, StatusEvent};
use tidings_domain::ses_event::{Event, Outcome};

/// What one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    Recorded,
    /// Not about a message this service sent, or already settled, or not acted on.
    Ignored,
}

pub async fn apply(app: &App, e: Event) -> Result<Applied, ServiceError> {
    let store = &app.store;
    let (Some(clinic_id), Some(id)) = (e.clinic_id, e.message_id) else {
        return Ok(Applied::Ignored);
    };
    let Some(m) = store.get_message(&clinic_id, &id).await? else {
        tracing::info!(
            clinic_id,
            message_id = id,
            "SES event for an unknown message"
        );
        return Ok(Applied::Ignored);
    };
    let now = app.now();
    // The addresses the event names, or else the one the message went to.
    let suppress = |recipients: Vec<String>, reason: &'static str| {
        let list = if recipients.is_empty() {
            m.to.clone().into_iter().collect()
        } else {
            recipients
        };
        let clinic_id = clinic_id.as_str();
        async move {
            for address in list {
                store
                    .suppress_email(clinic_id, &address, reason, now)
                    .await?;
            }
            Ok::<_, ServiceError>(())
        }
    };
    let done = match e.outcome {
        Outcome::Delivered => {
            store
                .record_receipt(&clinic_id, &id, true, None, now)
                .await?
        }
        Outcome::Bounced { recipients, reason } => {
            suppress(recipients, "bounced").await?;
            let reason = format!("bounced: {reason}");
            store
                .record_receipt(&clinic_id, &id, false, Some(&reason), now)
                .await?
        }
        Outcome::Complained { recipients } => {
            suppress(recipients, "complained").await?;
            // And out of campaign email, as an unsubscribe would, wherever the address moves.
            let person = tidings_domain::unsubscribe::Token {
                clinic_id: clinic_id.clone(),
                patient_id: m.patient_id.clone(),
                contact_id: m.contact_id.clone(),
                channel: tidings_domain::message_template::Channel::Email,
            };
            let by = Actor::Webhook {
                source: WebhookSource::Email,
            };
            super::unsubscribe::apply(store, &person, &by).await?;
            let event = StatusEvent {
                at: now,
                status: Status::Delivered,
                reason: Some("complained: the recipient marked it as spam".into()),
            };
            store.note_event(&clinic_id, &id, &event).await?
        }
        Outcome::Rejected { reason } => {
            let reason = format!("rejected: {reason}");
            store
                .record_receipt(&clinic_id, &id, false, Some(&reason), now)
                .await?
        }
        Outcome::Delayed { reason } => {
            let event = StatusEvent {
                at: now,
                status: m.status,
                reason: Some(format!("delayed: {reason}")),
            };
            store.note_event(&clinic_id, &id, &event).await?
        }
        Outcome::Other => false,
    };
    tracing::info!(clinic_id, message_id = id, applied = done, "SES event");
    Ok(if done {
        Applied::Recorded
    } else {
        Applied::Ignored
    })
}
