//! Messages whose outcome is unknown.
//!
//! Tidings hands a message to its provider at most once on its own: a message whose sender
//! stopped after it may have handed it over (a function killed between the provider's answer and
//! the write that records it), or whose answer was lost, becomes `unconfirmed` and keeps its
//! credits. Two things act on them:
//! - [`sweep_open_sends`], on the reminder sweep's schedule, finds one-off sends, reminders and
//!   greetings whose function died before recording every message (campaign runs settle their
//!   own, `campaign_run::end::settle`);
//! - [`resend`] (`POST /campaigns/{id}/resend-unconfirmed`) hands a run's unconfirmed messages
//!   over once more when the practice asks, each at most once.

use super::load_clinic;
use super::pacing::Pacer;
use super::reminder_batches;
use super::sending::{deliver, mark_unconfirmed};
use crate::store::OpenSendKind;
use crate::{App, ServiceError};
use chrono::Duration;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;
use tidings_domain::campaign::RunStatus;
use tidings_domain::message::Status;

/// Why a message of a send left open by a dead function is unconfirmed.
const LEFT_OPEN: &str =
    "its sending function stopped before recording it: it may have reached the provider";
/// Open sends read per index partition per sweep (the rest wait for the next sweep).
const SWEEP_LIMIT: i32 = 200;
/// Most messages one resend call hands over; the answer says how many remain.
pub const RESEND_LIMIT: usize = 200;
/// Provider calls in flight at once for one resend.
const RESEND_CONCURRENCY: usize = 8;
/// How long a resent message is the resend's own.
const RESEND_LEASE: Duration = Duration::minutes(5);

/// What a sweep of open sends did.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct SweepSummary {
    /// Sends (and reminder batches) whose function stopped before it recorded every message.
    pub sends: u64,
    /// Their messages, left queued, now unconfirmed.
    pub unconfirmed: u64,
}

/// Marks unconfirmed every message still queued in a send (or a reminder batch) claimed longer
/// ago than the send lease (`SEND_LEASE_SECS`, longer than any function runs): its function died. The lease is
/// measured on the wall clock, as every lease is, whatever time a sweep runs "at".
pub async fn sweep_open_sends(app: &App) -> Result<SweepSummary, ServiceError> {
    let store = &app.store;
    let lease = Duration::seconds(i64::try_from(app.config.send_lease_secs).unwrap_or(i64::MAX));
    let before = app.now() - lease;
    let mut out = SweepSummary::default();
    for shard in 0..crate::store::keys::OPEN_SEND_SHARDS {
        for open in store.open_sends_before(shard, &before, SWEEP_LIMIT).await? {
            let clinic_id = open.clinic_id.as_str();
            let closed = match &open.kind {
                OpenSendKind::Send(key) => close_send(app, clinic_id, key).await?,
                OpenSendKind::Batch(id) => {
                    reminder_batches::close_abandoned(app, clinic_id, id, LEFT_OPEN).await?
                }
            };
            if let Some(unconfirmed) = closed {
                out.sends += 1;
                out.unconfirmed += unconfirmed;
            }
        }
    }
    Ok(out)
}

/// Closes one send left open: its messages still queued become unconfirmed (how many did;
/// `None` when the send is gone).
async fn close_send(
    app: &App,
    clinic_id: &str,
    send_key: &str,
) -> Result<Option<u64>, ServiceError> {
    let store = &app.store;
    let Some(send) = store.get_send(clinic_id, send_key).await? else {
        return Ok(None);
    };
    let mut queued = Vec::new();
    store
        .each_request_message(clinic_id, &send.request_id, |m| {
            if m.status == Status::Queued {
                queued.push(m.clone());
            }
        })
        .await?;
    let mut unconfirmed = 0;
    for m in queued {
        let m = mark_unconfirmed(app, clinic_id, m, None, LEFT_OPEN).await;
        unconfirmed += u64::from(m.status == Status::Unconfirmed);
    }
    tracing::warn!(
        clinic_id,
        request_id = send.request_id,
        "send left open by a function that stopped"
    );
    store.close_send(clinic_id, send_key).await?;
    Ok(Some(unconfirmed))
}

/// `POST /campaigns/{id}/resend-unconfirmed`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInput {
    /// The run; the campaign's latest when absent.
    pub run_id: Option<String>,
}

/// What a resend did.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ResendOutcome {
    pub run_id: String,
    /// Messages handed over again by this call.
    pub resent: u64,
    /// Of those, what the provider answered.
    pub sent: u64,
    pub failed: u64,
    pub unconfirmed: u64,
    /// Whether unconfirmed messages not yet resent remain (beyond this call's limit).
    pub more: bool,
}

/// Hands the unconfirmed messages of an ended run to their providers once more, each at most
/// once (a message is claimed for its resend with a write conditional on never having been
/// resent), up to [`RESEND_LIMIT`] a call. A repeated call resends nothing already resent. A
/// resend costs no more credits: the message was paid for once.
pub async fn resend(
    app: &App,
    clinic_id: &str,
    campaign_id: &str,
    input: ResendInput,
) -> Result<ResendOutcome, ServiceError> {
    let store = &app.store;
    let campaign = store
        .get_campaign(clinic_id, campaign_id)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))?;
    let run_id = match input.run_id.or(campaign.last_run_id) {
        Some(id) if !id.is_empty() && id.len() <= 128 => id,
        Some(_) => {
            return Err(FieldError::new("run_id", "invalid", "run_id is not a run id").into());
        }
        None => {
            return Err(FieldError::new("run_id", "not_found", "the campaign has not run").into());
        }
    };
    let run = store
        .get_run(clinic_id, campaign_id, &run_id)
        .await?
        .ok_or_else(|| FieldError::new("run_id", "not_found", "no such run of this campaign"))?;
    if matches!(run.status, RunStatus::Sending | RunStatus::Paused) {
        return Err(ServiceError::conflict(
            "run_in_progress",
            Some("run_id"),
            "the run is still sending: resend its unconfirmed messages once it has ended",
        ));
    }
    let clinic = load_clinic(store, clinic_id).await?;
    let pacer = Pacer::for_app(app);
    let mut out = ResendOutcome {
        run_id: run_id.clone(),
        ..ResendOutcome::default()
    };
    let mut after: Option<String> = None;
    let mut taken = Vec::new();
    loop {
        let (page, next) = store
            .messages_in_status(
                clinic_id,
                (&run_id, Status::Unconfirmed),
                after.as_deref(),
                100,
            )
            .await?;
        for mut m in page.into_iter().filter(|m| m.resent_at.is_none()) {
            if taken.len() >= RESEND_LIMIT {
                out.more = true;
                break;
            }
            let now = app.now();
            let until = now + RESEND_LEASE;
            if store.claim_resend(clinic_id, &m.id, now, until).await? {
                m.status = Status::Queued;
                m.resent_at = Some(now);
                m.lease_until = Some(until);
                taken.push(m);
            }
        }
        match next {
            Some(k) if !out.more => after = Some(k),
            _ => break,
        }
    }
    tracing::info!(
        clinic_id,
        campaign_id,
        run_id,
        messages = taken.len(),
        "resending unconfirmed messages"
    );
    let delivered: Vec<_> = futures::stream::iter(taken)
        .map(|m| async {
            pacer.wait(m.channel).await;
            deliver(app, &clinic, m).await
        })
        .buffer_unordered(RESEND_CONCURRENCY)
        .collect()
        .await;
    crate::metrics::messages(app, &delivered);
    for m in delivered {
        out.resent += 1;
        match m.status {
            Status::Sent | Status::Delivered => out.sent += 1,
            Status::Failed => out.failed += 1,
            _ => out.unconfirmed += 1,
        }
    }
    Ok(out)
}
