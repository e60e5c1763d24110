//! `GET /campaigns/{id}/estimate`: what the campaign would cost if it fired now, against the
//! balance of the account that would pay.
//!
//! The audience is resolved and every message planned exactly as a run would (opt-outs, missing
//! details, placeholders, SMS parts), page by page, without writing anything. One answer reads
//! the audience at most `AUDIENCE_MAX_READS` times: a larger audience is estimated in parts,
//! each answer carrying a cursor with where it got to and what it has counted so far, so the
//! last answer holds the whole.

use super::audience::PAGE;
use super::campaign_run::plan::{audience_of, plan_member, prepare};
use super::sending::skip_blocked;
use crate::{App, ServiceError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use tidings_domain::message::{RecipientKind, Status};
use tidings_domain::message_template::Channel;

/// What a campaign would need now.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Estimate {
    /// People (and referrers) in the audience now.
    pub people: u64,
    /// Messages that would be sent, per channel.
    pub sms: u64,
    pub email: u64,
    /// Messages that would be skipped (opted out, no mobile…).
    pub skipped: u64,
    pub credits_needed: i64,
    /// The account that would pay, and its balance now.
    pub account: String,
    pub balance: i64,
    /// Credits missing for the whole campaign (0 when the balance covers it).
    pub shortfall: i64,
    /// Set when the audience is larger than one answer reads: the figures so far; ask again
    /// with `cursor` set to it for the rest (its answer includes these figures).
    pub next_cursor: Option<String>,
}

/// Where an estimate in parts got to, and what it counted before it: the cursor's content.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    pub campaign_id: String,
    pub people: u64,
    pub sms: u64,
    pub email: u64,
    pub skipped: u64,
    pub credits_needed: i64,
    /// The audience position to go on after.
    pub position: String,
}

impl Progress {
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.campaign_id,
            self.people,
            self.sms,
            self.email,
            self.skipped,
            self.credits_needed,
            self.position
        )
    }

    /// None for anything [`Progress::encode`] did not make.
    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.splitn(7, '|');
        let mut next = || parts.next();
        let p = Progress {
            campaign_id: next()?.to_owned(),
            people: next()?.parse().ok()?,
            sms: next()?.parse().ok()?,
            email: next()?.parse().ok()?,
            skipped: next()?.parse().ok()?,
            credits_needed: next()?.parse().ok()?,
            position: next()?.to_owned(),
        };
        (!p.position.is_empty() && p.credits_needed >= 0).then_some(p)
    }
}

/// The estimate of campaign `id`, from the start or from where `after` (a cursor's content)
/// got to; at most `max_reads` audience reads.
pub async fn estimate(
    app: &App,
    clinic_id: &str,
    id: &str,
    after: Option<&str>,
    max_reads: usize,
) -> Result<Estimate, ServiceError> {
    let store = &app.store;
    let after = after
        .map(|a| {
            Progress::decode(a)
                .filter(|p| p.campaign_id == id)
                .ok_or_else(crate::store::cursor::out_of_range)
        })
        .transpose()?;
    let campaign = super::campaigns::load(app, clinic_id, id).await?;
    let plan = prepare(app, clinic_id, campaign, "estimate")
        .await?
        .map_err(|reason| ServiceError::conflict("not_runnable", None, reason.to_string()))?;
    let audience = audience_of(app, &plan, app.now())
        .await?
        .map_err(|reason| ServiceError::conflict("not_runnable", None, reason.to_string()))?;
    let blocked = store.blocked(clinic_id).await?;
    let mut out = Estimate::default();
    if let Some(p) = &after {
        (out.people, out.sms, out.email, out.skipped) = (p.people, p.sms, p.email, p.skipped);
        out.credits_needed = p.credits_needed;
    }
    let mut practitioners = HashMap::new();
    let mut seen = HashSet::new();
    let mut people = HashSet::new();
    let mut position: Option<String> = after.map(|p| p.position);
    let mut reads = 0;
    loop {
        let page = audience.page(store, position.as_deref(), PAGE).await?;
        reads += 1;
        let mut messages = Vec::new();
        for (_, member) in &page.members {
            messages.extend(plan_member(app, &plan, member, &mut practitioners).await?);
        }
        skip_blocked(&mut messages, &blocked);
        for m in messages.into_iter().filter(|m| seen.insert(m.id.clone())) {
            if m.recipient != RecipientKind::Contact && people.insert(m.patient_id.clone()) {
                out.people += 1;
            }
            match (m.status, m.channel) {
                (Status::Queued, Channel::Sms) => out.sms += 1,
                (Status::Queued, Channel::Email) => out.email += 1,
                _ => out.skipped += 1,
            }
            if m.status == Status::Queued {
                out.credits_needed = out.credits_needed.saturating_add(i64::from(m.credits));
            }
        }
        match page.next {
            Some(next) if reads >= max_reads => {
                out.next_cursor = Some(
                    Progress {
                        campaign_id: id.to_owned(),
                        people: out.people,
                        sms: out.sms,
                        email: out.email,
                        skipped: out.skipped,
                        credits_needed: out.credits_needed,
                        position: next,
                    }
                    .encode(),
                );
                break;
            }
            Some(next) => position = Some(next),
            None => break,
        }
    }
    out.balance = store.credit_balance(clinic_id, &plan.account).await?;
    out.shortfall = out.credits_needed.saturating_sub(out.balance.max(0)).max(0);
    out.account = plan.account;
    Ok(out)
}
