//! What an SMS reply does, once its webhook post is verified: it is routed to the clinic
//! (by the number it was sent to) and to the patient or contact (by the number it came from),
//! stored once in their history with a notification for the practice, and acted on: opt
//! out, opt back in, help, or an answer to the reminder it replies to.

use super::load_clinic;
use crate::store::Holder;
use crate::{App, ServiceError, ids};
use chrono::{Duration, Utc};
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Stores and acts on an inbound SMS.
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
    let now = Utc::now();
    let answered = last.as_ref().filter(|m| {
        m.appointment_id.is_some() && m.created_at > now - Duration::days(ANSWER_WINDOW_DAYS)
    });
    let kind = match (keyword, &holder) {
        (Some(Keyword::OptOut), _) => NotificationKind::OptedOut,
        (Some(Keyword::OptIn), _) => NotificationKind::OptedIn,
        (Some(Keyword::Yes), Some(_)) if answered.is_some() => {
            NotificationKind::AppointmentConfirmed
        }
        (Some(Keyword::No), Some(_)) if answered.is_some() => {
            NotificationKind::CancellationRequested
        }
        (_, Some(_)) => NotificationKind::Reply,
        (_, None) => NotificationKind::UnmatchedReply,
    };
    let appointment_id = match kind {
        NotificationKind::AppointmentConfirmed | NotificationKind::CancellationRequested => {
            answered.and_then(|m| m.appointment_id.clone())
        }
        _ => None,
    };
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
    m.appointment_id = appointment_id.clone();
    m.sent_at = sms.received_at;
    let n = Notification {
        id: ids::new_id(),
        kind,
        message_id: id.clone(),
        patient_id: holder.as_ref().map(|h| h.patient_id.clone()),
        contact_id: m.contact_id.clone(),
        appointment_id: appointment_id.clone(),
        from: from.clone(),
        body: sms.body,
        read: false,
        created_at: now,
        read_at: None,
    };
    // The opt-out is recorded before anything else, so that a failure later cannot leave a
    // STOP unhonoured; doing it again on a retried post changes nothing.
    match keyword {
        Some(Keyword::OptOut) => store.set_sms_opt_out(&clinic_id, &from, true, now).await?,
        Some(Keyword::OptIn) => store.set_sms_opt_out(&clinic_id, &from, false, now).await?,
        _ => {}
    }
    if !store
        .record_inbound(
            &clinic_id,
            provider.as_str(),
            &sms.provider_message_id,
            &m,
            &n,
        )
        .await?
    {
        return Ok(Handled::Replay);
    }
    tracing::info!(clinic_id, message_id = id, kind = ?kind, "reply stored");
    if let Some(appointment_id) = &appointment_id {
        let status = if kind == NotificationKind::AppointmentConfirmed {
            AppointmentStatus::Confirmed
        } else {
            AppointmentStatus::CancellationRequested
        };
        answer_appointment(app, &clinic_id, appointment_id, status).await?;
    }
    let answer = match keyword {
        Some(Keyword::OptOut) => Some(format!(
            "{}: you will get no more texts from us. Reply START to receive them again.",
            clinic.fields.name
        )),
        Some(Keyword::OptIn) => Some(format!(
            "{}: you will receive our texts again. Reply STOP to opt out.",
            clinic.fields.name
        )),
        Some(Keyword::Help) => Some(help_text(&clinic)),
        _ => None,
    };
    if let Some(text) = answer {
        reply(app, &clinic, &from, &text).await;
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
        sender_id: &clinic.fields.sms_sender_id,
        transactional: true,
    };
    // The provider's message can quote the number: only the kind of failure is logged.
    if let Err(e) = app.delivery.send_sms(&sms).await {
        let kind = match e {
            crate::delivery::DeliveryError::Rejected(_) => "rejected",
            crate::delivery::DeliveryError::Unavailable(_) => "provider unavailable",
        };
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
    next.updated_at = Utc::now();
    if let Err(e) = store.write_appointment(clinic_id, &next, Some(&prev)).await {
        tracing::warn!(clinic_id, appointment_id = id, error = ?e, "reminder answer not applied");
    }
    Ok(())
}

/// Settles the message a delivery receipt is about.
pub async fn receipt(app: &App, r: Receipt) -> Result<Handled, ServiceError> {
    let store = &app.store;
    let Some((clinic_id, id)) = store.message_by_provider_id(&r.provider_message_id).await? else {
        return Ok(Handled::ReceiptIgnored);
    };
    let done = store
        .record_receipt(
            &clinic_id,
            &id,
            r.delivered,
            r.reason.as_deref(),
            Utc::now(),
        )
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
