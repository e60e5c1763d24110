//! Sending: the one way Tidings sends anything.
//!
//! 1. Plan: every recipient of every channel gets its own message, rendered for them, or a
//!    skipped record saying why (consent, no address, a value the template needs).
//! 2. Claim: one transaction stores the send record, debits the credits the plan costs (or
//!    fails with 402 before anything is sent) and writes every message as `queued`/`skipped`.
//! 3. Deliver: each queued message goes to its provider once; it ends `sent`, or `failed` with
//!    the provider's reason and its credits refunded.
//!
//! A retry with the same `Idempotency-Key` finds the send record and returns the messages it
//! produced; nothing is sent or charged again.

use super::pacing::Pacer;
use super::rendering::patient_values;
use super::{load_clinic, not_found_as_field, templates};
use crate::delivery::{DeliveryError, Email, Sms};
use crate::store::{Blocked, SendClaim, SendRecord, TxError};
use crate::{App, ServiceError, ids};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use tidings_domain::FieldError;
use tidings_domain::actor::Actor;
use tidings_domain::clinic::{Clinic, sending_identity};
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry, Spend};
use tidings_domain::digest::sha256_hex;
use tidings_domain::message::{
    Content, MAX_MESSAGES_PER_REQUEST, Message, RecipientKind, SendInput, SendRequest, SkipReason,
    Status, credits, reach_contact, reach_patient,
};
use tidings_domain::message_template::{Category, Channel, CompiledMessage, compile_parts};
use tidings_domain::practitioner::Practitioner;
use tidings_domain::sms;
use tidings_domain::template::{RenderError, Values};

/// Provider calls in flight at once for one send.
const CONCURRENCY: usize = 8;
/// The longest `POST /messages` waits for its messages' turns in the account's send rate.
const MESSAGES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// A claimed send younger than this whose messages are still queued is still running.
const IN_PROGRESS_WINDOW_SECS: i64 = 120;
/// How long a copy renews its own claim of a message whose lease ran out before its send.
const RENEWED_LEASE: Duration = Duration::minutes(5);
/// The most a claim transaction may carry (DynamoDB allows 4 MB).
const MAX_CLAIM_BYTES: usize = 3_000_000;

/// What a send produced.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SendOutcome {
    pub request_id: String,
    /// True when this answers a retry of an earlier request with the same idempotency key.
    #[serde(skip)]
    pub replayed: bool,
    pub credits: CreditsSummary,
    pub summary: StatusSummary,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct CreditsSummary {
    pub charged: i64,
    pub refunded: i64,
}

#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct StatusSummary {
    pub queued: usize,
    pub sent: usize,
    pub failed: usize,
    pub skipped: usize,
    /// The provider's answer was lost: the message may have been sent (it keeps its credits).
    /// Shown when there are any.
    #[serde(skip_serializing_if = "is_zero")]
    pub unconfirmed: usize,
}

/// A message as the send response shows it (the full record is in the history).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MessageView {
    pub id: String,
    pub patient_id: String,
    pub recipient: RecipientKind,
    pub contact_id: Option<String>,
    pub channel: Channel,
    pub status: Status,
    pub reason: Option<String>,
    pub segments: Option<u32>,
    pub credits: u32,
    pub provider_message_id: Option<String>,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            patient_id: m.patient_id.clone(),
            recipient: m.recipient,
            contact_id: m.contact_id.clone(),
            channel: m.channel,
            status: m.status,
            reason: m.reason.clone(),
            segments: m.segments,
            credits: m.credits,
            provider_message_id: m.provider_message_id.clone(),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Checks an `Idempotency-Key` header value.
pub fn idempotency_key(value: Option<&str>) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        Some(_) => Err(FieldError::new(
            "Idempotency-Key",
            "invalid",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// `POST /messages`.
pub async fn send(
    app: &App,
    clinic_id: &str,
    input: SendInput,
    body: &[u8],
    key: Option<&str>,
    sent_by: &Actor,
) -> Result<SendOutcome, ServiceError> {
    let store = &app.store;
    let req = input.validate()?;
    let body_hash = sha256_hex(body);
    let send_key = match key {
        Some(k) => sha256_hex(k.as_bytes()),
        None => ids::new_id(),
    };
    if key.is_some()
        && let Some(rec) = store.get_send(clinic_id, &send_key).await?
    {
        return replay(app, clinic_id, &rec, &body_hash).await;
    }
    let clinic = load_clinic(store, clinic_id).await?;
    let spent_on = match &req.in_reply_to {
        Some(id) => {
            if store.get_notification(clinic_id, id).await?.is_none() {
                return Err(FieldError::new(
                    "in_reply_to",
                    "not_found",
                    "in_reply_to must be a notification of this clinic",
                )
                .into());
            }
            Spend::Reply
        }
        None => Spend::OneOff,
    };
    let request_id = ids::new_id();
    let mut messages = plan(app, &clinic, &req, &request_id).await?;
    for m in &mut messages {
        m.spent_on = Some(spent_on);
        m.sent_by = Some(sent_by.clone());
    }
    let total: i64 = messages
        .iter()
        .filter(|m| m.status == Status::Queued)
        .map(|m| i64::from(m.credits))
        .sum();
    let record = SendRecord {
        request_id: request_id.clone(),
        body_hash: body_hash.clone(),
        message_count: messages.len(),
        credits: total,
        created_at: app.now(),
    };
    let account =
        super::credits::paying_account(store, clinic_id, req.on_behalf_of.as_deref()).await?;
    if account != GROUP_ACCOUNT {
        for m in &mut messages {
            m.account = Some(account.clone());
        }
    }
    let debit = (total > 0).then(|| LedgerEntry {
        id: ids::new_id(),
        account: account.clone(),
        kind: EntryKind::Debit,
        credits: -total,
        reference: Some(request_id.clone()),
        note: Some(format!("{} message(s)", messages.len())),
        created_at: record.created_at,
        spent_on: Some(spent_on),
    });
    match store
        .claim_send(clinic_id, &send_key, &record, debit.as_ref(), &messages)
        .await
    {
        Ok(()) => {}
        Err(TxError::Condition(SendClaim::InsufficientCredits)) => {
            let available = store.credit_balance(clinic_id, &account).await?;
            return Err(ServiceError::InsufficientCredits {
                needed: total,
                available,
            });
        }
        Err(TxError::Condition(SendClaim::AlreadyClaimed)) => {
            let rec = store
                .get_send(clinic_id, &send_key)
                .await?
                .ok_or(ServiceError::NotFound("send"))?;
            return replay(app, clinic_id, &rec, &body_hash).await;
        }
        Err(TxError::Store(e)) => return Err(e.into()),
    }
    tracing::info!(
        clinic_id,
        request_id,
        messages = messages.len(),
        credits = total,
        "send claimed"
    );
    // The messages go out while a top-up the debit called for is bought: delivery never waits
    // for Stripe (the answer waits for both, so the function is not frozen mid-charge).
    let top_up = async {
        if total > 0 {
            Box::pin(super::auto_top_up::after_debit(app, clinic_id, &account)).await;
        }
    };
    // Each message takes its turn in the account's rate, shared with campaigns and sweeps
    // (SNS throttles past it, and a throttled message fails); a request waits for its turns
    // up to MESSAGES_WAIT in all, and past it sends the rest at once.
    let pacer = Pacer::for_request_within(app, MESSAGES_WAIT);
    let deliveries = futures::stream::iter(messages)
        .map(|m| {
            let (pacer, clinic) = (&pacer, &clinic);
            async move {
                if m.status == Status::Queued {
                    let _in_time = pacer.turn(m.channel).await;
                }
                deliver(app, clinic, m).await
            }
        })
        .buffered(CONCURRENCY)
        .collect::<Vec<Message>>();
    let (delivered, ()) = tokio::join!(deliveries, top_up);
    if pacer.out_of_time() {
        tracing::warn!(
            clinic_id,
            request_id,
            "the account's send rate was taken for longer than a request waits: sent past it"
        );
    }
    crate::metrics::messages(app, &delivered);
    // Every message is recorded: the send leaves the open-send index.
    if let Err(e) = store.close_send(clinic_id, &send_key).await {
        tracing::warn!(request_id, error = %e, "send not closed: the sweep will");
    }
    Ok(outcome(request_id, false, delivered))
}

/// Delivers one claimed (`queued`) message and records the result: `sent` with the provider's
/// id, or `failed` with its reason and the credits refunded. Anything but a queued message is
/// returned as it is. Storage errors are logged and leave the message queued (never resent).
pub async fn deliver(app: &App, clinic: &Clinic, m: Message) -> Message {
    let mut m = match hand_over(app, clinic, m).await {
        Ok(sent) => sent,
        Err(ended) => return ended,
    };
    let provider_id = m.provider_message_id.as_deref().unwrap_or_default();
    if let Err(e) = app
        .store
        .mark_sent(&clinic.id, &m, provider_id, m.updated_at)
        .await
    {
        tracing::error!(message_id = m.id, error = %e, "sent but not recorded");
        // Shown as stored: still queued.
        m.status = Status::Queued;
        m.provider_message_id = None;
        m.sent_at = None;
    }
    m
}

/// Hands a queued message to its provider. `Ok`: the message as the provider took it, still
/// to be recorded `sent`. `Err`: the message as it ends here: refused (recorded `failed` and
/// refunded), its answer lost (recorded `unconfirmed`), or left alone: not queued, or its lease
/// ran out before its turn came and another copy has since marked it unconfirmed (this copy
/// renews a lease that ran out before it sends, so exactly one of the two acts).
pub(super) async fn hand_over(
    app: &App,
    clinic: &Clinic,
    mut m: Message,
) -> Result<Message, Message> {
    if m.status != Status::Queued {
        return Err(m);
    }
    if let Some(prev) = m.lease_until.filter(|until| *until <= app.now()) {
        let renewed = app.now() + RENEWED_LEASE;
        match app
            .store
            .take_over_message(&clinic.id, &m.id, &prev, &renewed)
            .await
        {
            Ok(true) => m.lease_until = Some(renewed),
            Ok(false) => {
                tracing::warn!(message_id = m.id, "lease ran out before the send: not sent");
                return Err(m);
            }
            Err(e) => {
                tracing::error!(message_id = m.id, error = ?e, "lease not renewed: not sent");
                return Err(m);
            }
        }
    }
    match publish(app, clinic, &m).await {
        Ok(provider_id) => Ok(sent(m, provider_id, app.now())),
        Err(err) => Err(record_failure(app, clinic, m, &err).await),
    }
}

/// `m` as the provider took it, under `provider_id`, at `at`.
fn sent(mut m: Message, provider_id: String, at: DateTime<Utc>) -> Message {
    m.status = Status::Sent;
    m.provider_message_id = Some(provider_id);
    m.sent_at = Some(at);
    m.updated_at = at;
    m
}

/// Hands a queued message to its provider: the provider's id for it, or why it was refused.
async fn publish(app: &App, clinic: &Clinic, m: &Message) -> Result<String, DeliveryError> {
    match (m.channel, m.to.as_deref(), m.body.as_deref()) {
        (Channel::Sms, Some(to), Some(text)) => {
            app.delivery
                .send_sms(&Sms {
                    to,
                    text,
                    sender_id: clinic.fields.sms_sender_id.as_str(),
                    transactional: m.category.is_transactional(),
                })
                .await
        }
        (Channel::Email, Some(to), Some(text)) => {
            let identity = sending_identity(&clinic.email_identities, &clinic.fields.email_sender)
                .ok_or_else(|| {
                    DeliveryError::Rejected(
                        "the clinic's email_sender is outside the identities ops assigned to it"
                            .into(),
                    )
                })?;
            let sender = m.from_name.as_deref();
            let headers = unsubscribe_headers(app, clinic, m);
            app.delivery
                .send_email(&Email {
                    from_name: sender.or(Some(clinic.fields.name.as_str())),
                    from_address: &clinic.fields.email_sender,
                    identity,
                    reply_to: m.reply_to.as_deref(),
                    to,
                    subject: m.subject.as_deref().unwrap_or_default(),
                    text,
                    html: m.html_body.as_deref(),
                    tags: &[
                        ("clinic_id", clinic.id.as_str()),
                        ("message_id", m.id.as_str()),
                    ],
                    headers: &headers,
                })
                .await
        }
        _ => Err(DeliveryError::Rejected("no address or body".into())),
    }
}

/// Records that the provider refused a queued message: `failed` with the reason, and its
/// credits refunded, in one transaction. One whose answer was lost (it may have been sent) is
/// recorded `unconfirmed` instead, and keeps its credits.
async fn record_failure(
    app: &App,
    clinic: &Clinic,
    mut m: Message,
    err: &DeliveryError,
) -> Message {
    let now = app.now();
    let kind = err.kind();
    tracing::warn!(message_id = m.id, kind, "delivery failed");
    let reason = err.to_string();
    if let DeliveryError::Unknown(_) = err {
        return mark_unconfirmed(app, &clinic.id, m, None, &reason).await;
    }
    let refund = (m.credits > 0).then(|| LedgerEntry {
        id: ids::new_id(),
        account: m
            .account
            .clone()
            .unwrap_or_else(|| GROUP_ACCOUNT.to_owned()),
        kind: EntryKind::Refund,
        credits: i64::from(m.credits),
        reference: Some(m.id.clone()),
        note: Some("delivery failed".into()),
        created_at: now,
        spent_on: m.spent_on,
    });
    match app
        .store
        .fail_and_refund(
            &clinic.id,
            (&m.id, &m.patient_id),
            &reason,
            refund.as_ref(),
            now,
        )
        .await
    {
        Ok(()) => {
            m.status = Status::Failed;
            m.reason = Some(reason);
            m.updated_at = now;
        }
        Err(e) => {
            tracing::error!(message_id = m.id, error = ?e, "failure not recorded");
        }
    }
    m
}

/// Records a queued message `unconfirmed` with `reason` (only while it is queued and, when
/// `lease` is given, still under that lease); the message as it now stands.
pub(super) async fn mark_unconfirmed(
    app: &App,
    clinic_id: &str,
    mut m: Message,
    lease: Option<&DateTime<Utc>>,
    reason: &str,
) -> Message {
    let now = app.now();
    match app
        .store
        .mark_unconfirmed(clinic_id, (&m.id, &m.patient_id), lease, reason, now)
        .await
    {
        Ok(true) => {
            tracing::warn!(clinic_id, message_id = m.id, "message unconfirmed");
            m.status = Status::Unconfirmed;
            m.reason = Some(reason.to_owned());
            m.updated_at = now;
        }
        Ok(false) => {}
        Err(e) => tracing::error!(message_id = m.id, error = ?e, "unconfirmed not recorded"),
    }
    m
}

async fn replay(
    app: &App,
    clinic_id: &str,
    rec: &SendRecord,
    body_hash: &str,
) -> Result<SendOutcome, ServiceError> {
    if rec.body_hash != body_hash {
        return Err(ServiceError::conflict(
            "idempotency_key_reused",
            Some("Idempotency-Key"),
            "this Idempotency-Key was used for a different request",
        ));
    }
    let messages = app
        .store
        .request_messages(clinic_id, &rec.request_id)
        .await?;
    let running = app.now() - rec.created_at < Duration::seconds(IN_PROGRESS_WINDOW_SECS);
    if running && messages.iter().any(|m| m.status == Status::Queued) {
        return Err(ServiceError::conflict(
            "request_in_progress",
            Some("Idempotency-Key"),
            "the first request with this Idempotency-Key is still sending; retry shortly",
        ));
    }
    Ok(outcome(rec.request_id.clone(), true, messages))
}

fn outcome(request_id: String, replayed: bool, messages: Vec<Message>) -> SendOutcome {
    let mut summary = StatusSummary::default();
    let mut credits = CreditsSummary::default();
    for m in &messages {
        match m.status {
            Status::Queued => summary.queued += 1,
            Status::Sent | Status::Delivered => summary.sent += 1,
            Status::Failed => summary.failed += 1,
            Status::Skipped | Status::Held | Status::NotSent => summary.skipped += 1,
            Status::Unconfirmed => summary.unconfirmed += 1,
            Status::Received => {}
        }
        if !matches!(m.status, Status::Skipped | Status::Held | Status::NotSent) {
            credits.charged += i64::from(m.credits);
        }
        if m.status == Status::Failed {
            credits.refunded += i64::from(m.credits);
        }
    }
    SendOutcome {
        request_id,
        replayed,
        credits,
        summary,
        messages: messages.iter().map(MessageView::from).collect(),
    }
}

/// The words of a send, compiled for each channel it uses.
struct Compiled {
    by_channel: Vec<(Channel, CompiledMessage)>,
    template_id: Option<String>,
    category: Category,
}

async fn compile(app: &App, clinic_id: &str, req: &SendRequest) -> Result<Compiled, ServiceError> {
    let (body, subject, html, template_id, category) = match &req.content {
        Content::Template(id) => {
            let t = templates::get(&app.store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "template_id"))?;
            let f = t.fields;
            (
                f.body,
                req.subject.clone().or(f.subject),
                req.html_body.clone().or(f.html_body),
                Some(t.id),
                req.category.unwrap_or(f.category),
            )
        }
        Content::Inline { body } => (
            body.clone(),
            req.subject.clone(),
            req.html_body.clone(),
            None,
            req.category.unwrap_or_default(),
        ),
    };
    let mut by_channel = Vec::new();
    for &channel in req.channel.channels() {
        let compiled = match channel {
            Channel::Sms => compile_parts(channel, None, &body, None)?,
            Channel::Email => compile_parts(channel, subject.as_deref(), &body, html.as_deref())?,
        };
        by_channel.push((channel, compiled));
    }
    Ok(Compiled {
        by_channel,
        template_id,
        category,
    })
}

/// One message of the plan before it has an id.
struct Planned {
    channel: Channel,
    patient_id: String,
    recipient: RecipientKind,
    contact_id: Option<String>,
    outcome: Result<(String, Rendered), (SkipReason, Option<String>)>,
}

/// The words of one message, rendered for its recipient.
pub(crate) struct Rendered {
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
}

/// Renders compiled words with one recipient's values; a missing value is a skip reason.
pub(crate) fn render(
    compiled: &CompiledMessage,
    values: &Values,
    clinic: &Clinic,
) -> Result<Rendered, (SkipReason, Option<String>)> {
    let caps = &clinic.fields.placeholder_caps;
    let missing = |e: RenderError| match e {
        RenderError::Missing(m) => (SkipReason::MissingValue, Some(m.0.name().to_owned())),
        RenderError::Template(_) => (SkipReason::MissingValue, None),
        RenderError::TooLong { limit } => {
            (SkipReason::TooLong, Some(format!("over {limit} bytes")))
        }
    };
    Ok(Rendered {
        body: compiled.body.render(values, caps).map_err(missing)?,
        subject: compiled
            .subject
            .as_ref()
            .map(|t| t.render(values, caps))
            .transpose()
            .map_err(missing)?,
        html_body: compiled
            .html_body
            .as_ref()
            .map(|t| t.render(values, caps))
            .transpose()
            .map_err(missing)?,
    })
}

/// Resolves recipients, consent and words: one message per recipient and channel.
async fn plan(
    app: &App,
    clinic: &Clinic,
    req: &SendRequest,
    request_id: &str,
) -> Result<Vec<Message>, ServiceError> {
    let store = &app.store;
    let compiled = compile(app, &clinic.id, req).await?;
    let on_behalf_of = match &req.on_behalf_of {
        Some(id) => Some(
            super::practitioners::get(store, &clinic.id, id)
                .await
                .map_err(|e| not_found_as_field(e, "on_behalf_of"))?,
        ),
        None => None,
    };
    let mut practitioners: HashMap<String, Option<Practitioner>> = HashMap::new();
    let mut planned = Vec::new();
    for (i, patient_id) in req.patient_ids.iter().enumerate() {
        let patient = store
            .get_patient(&clinic.id, patient_id)
            .await?
            .ok_or_else(|| {
                FieldError::new(
                    format!("patient_ids[{i}]"),
                    "not_found",
                    format!("patient_ids[{i}] is not a patient of this clinic"),
                )
            })?
            .patient;
        let practitioner = match (&on_behalf_of, &patient.fields.practitioner_id) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(pid)) => {
                if !practitioners.contains_key(pid) {
                    let p = store.get_practitioner(&clinic.id, pid).await?;
                    practitioners.insert(pid.clone(), p);
                }
                practitioners.get(pid).cloned().flatten()
            }
            (None, None) => None,
        };
        let values = patient_values(
            clinic,
            &patient.fields,
            practitioner.as_ref(),
            None,
            req.link.as_deref(),
        );
        for (channel, words) in &compiled.by_channel {
            let outcome = reach_patient(&patient.fields, *channel, compiled.category)
                .map_err(|r| (r, None))
                .and_then(|to| Ok((to, render(words, &values, clinic)?)));
            planned.push(Planned {
                channel: *channel,
                patient_id: patient.id.clone(),
                recipient: RecipientKind::Patient,
                contact_id: None,
                outcome,
            });
        }
        if req.cc_contacts
            && let Some((_, words)) = compiled
                .by_channel
                .iter()
                .find(|(c, _)| *c == Channel::Email)
        {
            for contact in store.list_contacts(&clinic.id, &patient.id).await? {
                let linked = match &contact.fields.contact_patient_id {
                    Some(pid) if contact.fields.email.is_none() => store
                        .get_patient(&clinic.id, pid)
                        .await?
                        .and_then(|r| r.patient.fields.email),
                    _ => None,
                };
                let outcome = reach_contact(&contact.fields, linked.as_deref())
                    .map_err(|r| (r, None))
                    .and_then(|to| Ok((to, render(words, &values, clinic)?)));
                planned.push(Planned {
                    channel: Channel::Email,
                    patient_id: patient.id.clone(),
                    recipient: RecipientKind::Contact,
                    contact_id: Some(contact.id.clone()),
                    outcome,
                });
            }
        }
    }
    if planned.len() > MAX_MESSAGES_PER_REQUEST {
        return Err(FieldError::new(
            "patient_ids",
            "too_many_messages",
            format!(
                "this request makes {} messages; one request may make at most {MAX_MESSAGES_PER_REQUEST} (send to fewer patients, or use a campaign)",
                planned.len()
            ),
        )
        .into());
    }
    let from_name = on_behalf_of.as_ref().map(Practitioner::sender_name);
    let reply_to = on_behalf_of
        .as_ref()
        .and_then(|p| p.fields.reply_to.clone());
    let now = app.now();
    let mut messages = Vec::with_capacity(planned.len());
    let mut bytes = 0;
    for (i, p) in planned.into_iter().enumerate() {
        let mut m = Message::planned(
            format!("{request_id}-{i:03}"),
            request_id,
            p.channel,
            compiled.category,
            &p.patient_id,
            p.recipient,
            now,
        );
        m.contact_id = p.contact_id;
        m.template_id = compiled.template_id.clone();
        m.on_behalf_of = req.on_behalf_of.clone();
        match p.outcome {
            Ok((to, words)) => {
                bytes += words.body.len() + words.html_body.as_ref().map_or(0, String::len) + 1024;
                if p.channel == Channel::Email {
                    m.from_name = from_name.clone();
                    m.reply_to = reply_to.clone();
                }
                fill(&mut m, to, words, clinic, app.config.email_credit_cost).map_err(
                    |characters| {
                        FieldError::new(
                            "body",
                            "too_long",
                            format!(
                                "the SMS for patient_ids entry {} is {characters} characters; the clinic's max_sms_length is {}",
                                m.patient_id, clinic.fields.max_sms_length
                            ),
                        )
                    },
                )?;
            }
            Err((reason, detail)) => skip(&mut m, reason, detail.as_deref()),
        }
        messages.push(m);
    }
    if messages.iter().any(|m| m.status == Status::Queued) {
        skip_blocked(&mut messages, &store.blocked(&clinic.id).await?);
    }
    if bytes > MAX_CLAIM_BYTES {
        return Err(FieldError::new(
            "patient_ids",
            "too_large",
            "the messages of this request are too large to send at once; send to fewer patients",
        )
        .into());
    }
    Ok(messages)
}

/// Makes a planned message `queued` with its address and words, its SMS encoding and
/// segments, and its cost. `Err(characters)` when an SMS is longer than the clinic allows.
pub(crate) fn fill(
    m: &mut Message,
    to: String,
    words: Rendered,
    clinic: &Clinic,
    email_cost: u32,
) -> Result<(), usize> {
    if m.channel == Channel::Sms {
        let shape = sms::shape(&words.body);
        if shape.characters > clinic.fields.max_sms_length {
            return Err(shape.characters);
        }
        m.encoding = Some(shape.encoding);
        m.segments = u32::try_from(shape.segments).ok();
    }
    m.credits = credits(m.channel, m.segments.unwrap_or(0) as usize, email_cost);
    m.to = Some(to);
    m.subject = words.subject;
    m.body = Some(words.body);
    m.html_body = words.html_body;
    m.status = Status::Queued;
    Ok(())
}

/// RFC 8058 one-click unsubscribe headers for marketing, recall and greeting email (when
/// the deployment signs unsubscribe links).
fn unsubscribe_headers(app: &App, clinic: &Clinic, m: &Message) -> Vec<(&'static str, String)> {
    let (Some(u), Some(base)) = (&app.config.unsubscribe, &app.config.public_url) else {
        return Vec::new();
    };
    if !matches!(
        m.category,
        Category::Marketing | Category::Recall | Category::Greeting
    ) {
        return Vec::new();
    }
    let token = tidings_domain::unsubscribe::Token {
        clinic_id: clinic.id.clone(),
        patient_id: m.patient_id.clone(),
        contact_id: m.contact_id.clone(),
        channel: Channel::Email,
    }
    .sign(u.secret.as_bytes());
    vec![
        ("List-Unsubscribe", format!("<{base}/unsubscribe/{token}>")),
        (
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ]
}

/// Skips the queued messages to numbers that texted an opt-out keyword to the clinic and to
/// suppressed email addresses.
pub(crate) fn skip_blocked(messages: &mut [Message], blocked: &Blocked) {
    for m in messages {
        let Some(to) = m.to.as_deref().filter(|_| m.status == Status::Queued) else {
            continue;
        };
        let reason = match m.channel {
            Channel::Sms if blocked.sms.contains(to) => SkipReason::OptedOut,
            Channel::Email if blocked.email.contains(&to.to_lowercase()) => SkipReason::Suppressed,
            _ => continue,
        };
        let detail = match reason {
            SkipReason::OptedOut => "the number replied STOP",
            _ => "the address bounced or complained",
        };
        skip(m, reason, Some(detail));
        m.credits = 0;
    }
}

/// Makes a planned message `skipped` with its reason (and the detail, e.g. which value).
pub(crate) fn skip(m: &mut Message, reason: SkipReason, detail: Option<&str>) {
    m.status = Status::Skipped;
    m.reason = Some(match detail {
        Some(d) => format!("{}: {d}", reason.as_str()),
        None => reason.as_str().to_owned(),
    });
}
