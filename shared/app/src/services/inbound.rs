//! What an SMS reply does, once its webhook post is verified: it is routed to the clinic
//! (by the number it was sent to) and to the patient or contact (by the number it came from),
//! stored once in their history with a notification for the practice, and acted on: opt
//! out, opt back in, help, or an answer to the reminder it replies to.

use super::load_clinic;
use crate::store::{ConsentChange, Holder, Inbound, StoreError};
use crate::{App, ServiceError, ids};
use chrono::Duration;
use serde::Serialize;
use tidings_domain::appointment::AppointmentStatus;
use tidings_domain::clinic::Clinic;
use tidings_domain::message::{Message, RecipientKind, Status};
use tidings_domain::message_template::{Category, Channel};
use tidings_domain::notification::{Notification, NotificationKind};
use tidings_domain::phone;
use tidings_domain::reply::{Keyword, classify};
use tidings_domain::webhook::{InboundSms, Provider, Receipt};

/// How long after a reminder a YES or NO still answers it.
const ANSWER_WINDOW_DAYS: i64 = 14;
/// The request id of every received message.
const INBOUND_REQUEST: &str = "inbound";

/// What the webhook did with a post.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Handled {
    Stored {
        message_id: String,
    },
    /// The same provider message was stored before.
    Replay,
    /// No clinic receives replies at the number it was sent to.
    NoClinic,
    ReceiptRecorded,
    /// A receipt for a message this service did not send, or one already settled.
    ReceiptIgnored,
    Ignored,
}

/// The provider every SMS is sent through: receipts from any other provider concern no
/// message of ours.
const SENDING_PROVIDER: Provider = Provider::Sns;

/// Stores and acts on an inbound SMS: the duplicate check comes before any effect, and a
/// consent change applies only if it is newer than the last one applied to the number.
pub async fn receive(
    app: &App,
    provider: Provider,
    sms: InboundSms,
) -> Result<Handled, ServiceError> {
    let store = &app.store;
    let Some(to) = phone::e164(&sms.to) else {
        return Ok(Handled::NoClinic);
    };
    let Some(clinic_id) = store.clinic_for_number(&to).await? else {
        tracing::info!(
            provider = provider.as_str(),
            "reply to a number no clinic has"
        );
        return Ok(Handled::NoClinic);
    };
    let clinic = load_clinic(store, &clinic_id).await?;
    let from = phone::e164(&sms.from).unwrap_or_else(|| sms.from.trim().to_owned());
    let (holder, last) = pick_holder(app, &clinic_id, &from).await?;
    let keyword = classify(&sms.body, &clinic.fields.opt_out_keywords);
    let now = app.now();
    // When the patient sent it; never later than now, so a provider's clock cannot lock
    // consent against what the patient sends next.
    let sent_at = sms.received_at.map_or(now, |t| t.min(now));
    let answered = last
        .as_ref()
        .filter(|m| {
            holder.is_some()
                && m.appointment_id.is_some()
                && m.created_at > now - Duration::days(ANSWER_WINDOW_DAYS)
        })
        .and_then(|m| m.appointment_id.clone());
    // An opt-out word answering a reminder opts out (carriers require it) and also asks to
    // cancel, so the practice calls the patient.
    let answer = match keyword {
        Some(Keyword::Yes) => answered.clone().map(|a| (a, AppointmentStatus::Confirmed)),
        Some(Keyword::No | Keyword::OptOut) => answered
            .clone()
            .map(|a| (a, AppointmentStatus::CancellationRequested)),
        _ => None,
    };
    let consent = match keyword {
        Some(Keyword::OptOut) => Some(true),
        Some(Keyword::OptIn) => Some(false),
        _ => None,
    }
    .map(|opted_out| ConsentChange {
        e164: from.clone(),
        opted_out,
        at: sent_at,
    });
    let id = ids::new_id();
    let mut m = Message::planned(
        id.clone(),
        INBOUND_REQUEST,
        Channel::Sms,
        Category::General,
        holder.as_ref().map_or("", |h| h.patient_id.as_str()),
        if holder.as_ref().is_some_and(|h| h.contact_id.is_some()) {
            RecipientKind::Contact
        } else {
            RecipientKind::Patient
        },
        now,
    );
    m.status = Status::Received;
    m.contact_id = holder.as_ref().and_then(|h| h.contact_id.clone());
    m.from = Some(from.clone());
    m.to = Some(to);
    m.body = Some(sms.body.clone());
    m.appointment_id = answer.as_ref().map(|(a, _)| a.clone());
    m.sent_at = sms.received_at;
    let notify = |kind: NotificationKind, appointment_id: Option<String>| Notification {
        id: ids::new_id(),
        kind,
        message_id: id.clone(),
        patient_id: holder.as_ref().map(|h| h.patient_id.clone()),
        contact_id: m.contact_id.clone(),
        appointment_id,
        from: from.clone(),
        body: sms.body.clone(),
        read: false,
        created_at: now,
        read_at: None,
    };
    // What the practice is told: the consent change (if it applies), the answer to the
    // reminder, or else a reply to read.
    let notifications = |consent_applies: bool| {
        let mut out = Vec::new();
        match (&consent, consent_applies) {
            (Some(c), true) if c.opted_out => out.push(notify(NotificationKind::OptedOut, None)),
            (Some(_), true) => out.push(notify(NotificationKind::OptedIn, None)),
            _ => {}
        }
        if let Some((a, status)) = &answer {
            let kind = if *status == AppointmentStatus::Confirmed {
                NotificationKind::AppointmentConfirmed
            } else {
                NotificationKind::CancellationRequested
            };
            out.push(notify(kind, Some(a.clone())));
        }
        if out.is_empty() {
            let kind = if holder.is_some() {
                NotificationKind::Reply
            } else {
                NotificationKind::UnmatchedReply
            };
            out.push(notify(kind, None));
        }
        out
    };
    let provider_id = &sms.provider_message_id;
    let mut consent_applied = consent.is_some();
    let mut outcome = store
        .record_inbound(
            &clinic_id,
            provider.as_str(),
            provider_id,
            &m,
            &notifications(consent_applied),
            consent.as_ref(),
        )
        .await?;
    if outcome == Inbound::ConsentOutdated {
        // The patient changed their mind since (a later STOP or START was applied first):
        // kept in the history, it changes nothing.
        tracing::info!(
            clinic_id,
            message_id = id,
            "consent change older than the last one applied"
        );
        consent_applied = false;
        outcome = store
            .record_inbound(
                &clinic_id,
                provider.as_str(),
                provider_id,
                &m,
                &notifications(false),
                None,
            )
            .await?;
    }
    match outcome {
        Inbound::Stored => {}
        Inbound::Replay => return Ok(Handled::Replay),
        Inbound::ConsentOutdated | Inbound::Collision => return Err(StoreError::Collision.into()),
    }
    tracing::info!(clinic_id, message_id = id, keyword = ?keyword, "reply stored");
    if let Some((appointment_id, status)) = answer {
        answer_appointment(app, &clinic_id, &appointment_id, status).await?;
    }
    let automatic = match keyword {
        Some(Keyword::OptOut) if consent_applied => Some((
            "opt_out",
            format!(
                "{}: you will get no more texts from us. Reply START to receive them again.",
                clinic.fields.name
            ),
        )),
        Some(Keyword::OptIn) if consent_applied => Some((
            "opt_in",
            format!(
                "{}: you will receive our texts again. Reply STOP to opt out.",
                clinic.fields.name
            ),
        )),
        Some(Keyword::Help) => Some(("help", help_text(&clinic))),
        _ => None,
    };
    if let Some((kind, text)) = automatic {
        if store
            .claim_auto_answer(&clinic_id, &from, kind, now)
            .await?
        {
            reply(app, &clinic, &from, &text).await;
        } else {
            tracing::info!(
                clinic_id,
                message_id = id,
                kind,
                "automatic answer already sent today"
            );
        }
    }
    Ok(Handled::Stored { message_id: id })
}

fn help_text(clinic: &Clinic) -> String {
    match &clinic.fields.phone {
        Some(p) => format!(
            "{}: call us on {p}. Reply STOP to opt out of texts.",
            clinic.fields.name
        ),
        None => format!("{}: reply STOP to opt out of texts.", clinic.fields.name),
    }
}

/// Sends a keyword's answer. The answer is a courtesy the carrier rules ask for: it is not
/// charged, and a failure is logged, not retried (the reply is already stored).
async fn reply(app: &App, clinic: &Clinic, to: &str, text: &str) {
    let sms = crate::delivery::Sms {
        to,
        text,
        sender_id: clinic.fields.sms_sender_id.as_str(),
        transactional: true,
    };
    // The provider's message can quote the number: only the kind of failure is logged.
    if let Err(e) = app.delivery.send_sms(&sms).await {
        let kind = e.kind();
        tracing::warn!(clinic_id = clinic.id, kind, "keyword answer not sent");
    }
}

/// Among the patients and contacts with the number `from`, the one who last received an SMS
/// from the clinic at that number (with that message); the first one when none did.
async fn pick_holder(
    app: &App,
    clinic_id: &str,
    from: &str,
) -> Result<(Option<Holder>, Option<Message>), ServiceError> {
    let store = &app.store;
    let mut best: Option<(Holder, Option<Message>)> = None;
    for h in store.holders_of(clinic_id, from).await? {
        if store.get_patient(clinic_id, &h.patient_id).await?.is_none() {
            continue;
        }
        let (history, _) = store
            .patient_messages(clinic_id, &h.patient_id, true, None, 20)
            .await?;
        let last = history.into_iter().find(|m| {
            m.channel == Channel::Sms
                && m.status != Status::Received
                && m.to.as_deref() == Some(from)
                && m.contact_id == h.contact_id
        });
        let newer = match (&best, &last) {
            (None, _) => true,
            (Some((_, Some(b))), Some(l)) => l.created_at > b.created_at,
            (Some((_, None)), Some(_)) => true,
            (Some(_), None) => false,
        };
        if newer {
            best = Some((h, last));
        }
    }
    Ok(match best {
        Some((h, m)) => (Some(h), m),
        None => (None, None),
    })
}

/// Sets the status a YES or NO asks for, unless the appointment has moved on (arrived,
/// completed, cancelled...).
async fn answer_appointment(
    app: &App,
    clinic_id: &str,
    id: &str,
    status: AppointmentStatus,
) -> Result<(), ServiceError> {
    let store = &app.store;
    let Some(prev) = store.get_appointment(clinic_id, id).await? else {
        return Ok(());
    };
    if !matches!(
        prev.fields.status,
        AppointmentStatus::Scheduled
            | AppointmentStatus::Confirmed
            | AppointmentStatus::CancellationRequested
    ) || prev.fields.status == status
    {
        return Ok(());
    }
    let mut next = prev.clone();
    next.fields.status = status;
    next.updated_at = app.now();
    if let Err(e) = store.write_appointment(clinic_id, &next, Some(&prev)).await {
        tracing::warn!(clinic_id, appointment_id = id, error = ?e, "reminder answer not applied");
    }
    Ok(())
}

/// Settles the message a delivery receipt is about: only a message sent through the
/// provider that posted the receipt and, when one clinic's credential verified it (Twilio),
/// only a message of that clinic.
pub async fn receipt(
    app: &App,
    provider: Provider,
    verified_for: Option<&str>,
    r: Receipt,
) -> Result<Handled, ServiceError> {
    let store = &app.store;
    if provider != SENDING_PROVIDER {
        tracing::info!(
            provider = provider.as_str(),
            "receipt from a provider no message was sent through"
        );
        return Ok(Handled::ReceiptIgnored);
    }
    let Some((clinic_id, id)) = store
        .message_by_provider_id(&r.provider_message_id, verified_for)
        .await?
    else {
        return Ok(Handled::ReceiptIgnored);
    };
    let done = store
        .record_receipt(&clinic_id, &id, r.delivered, r.reason.as_deref(), app.now())
        .await?;
    Ok(if done {
        tracing::info!(
            clinic_id,
            message_id = id,
            delivered = r.delivered,
            "receipt"
        );
        Handled::ReceiptRecorded
    } else {
        Handled::ReceiptIgnored
    })
}
