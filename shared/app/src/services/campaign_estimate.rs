//! `GET /campaigns/{id}/estimate`: what the campaign would cost if it fired now, against the
//! balance of the account that would pay.
//!
//! The audience is resolved and every message planned exactly as a run would (opt-outs, missing
//! details, placeholders, SMS parts), page by page, without writing anything.

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
}

pub async fn estimate(app: &App, clinic_id: &str, id: &str) -> Result<Estimate, ServiceError> {
    let store = &app.store;
    let campaign = super::campaigns::load(app, clinic_id, id).await?;
    let plan = prepare(app, clinic_id, campaign, "estimate")
        .await?
        .map_err(|reason| ServiceError::conflict("not_runnable", None, reason.to_string()))?;
    let audience = audience_of(app, &plan, app.now())
        .await?
        .map_err(|reason| ServiceError::conflict("not_runnable", None, reason.to_string()))?;
    let blocked = store.blocked(clinic_id).await?;
    let mut out = Estimate::default();
    let mut practitioners = HashMap::new();
    let mut seen = HashSet::new();
    let mut people = HashSet::new();
    let mut position: Option<String> = None;
    loop {
        let page = audience.page(store, position.as_deref(), PAGE).await?;
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
                out.credits_needed += i64::from(m.credits);
            }
        }
        match page.next {
            Some(next) => position = Some(next),
            None => break,
        }
    }
    out.balance = store.credit_balance(clinic_id, &plan.account).await?;
    out.shortfall = (out.credits_needed - out.balance.max(0)).max(0);
    out.account = plan.account;
    Ok(out)
}
