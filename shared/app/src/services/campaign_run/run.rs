//! What a copy of a run works with, passed to each phase as one value: the app, the firing,
//! the prepared campaign, the send pacer, the slots for sends and the invocation's limits.

use super::plan::Plan;
use super::types::{FireEvent, Limits};
use crate::App;
use crate::services::pacing::Pacer;
use tokio::sync::Semaphore;

/// A copy's work on one run.
pub(super) struct Run<'a> {
    pub(super) app: &'a App,
    pub(super) ev: &'a FireEvent,
    pub(super) plan: &'a Plan,
    /// Paces this copy's sends per channel.
    pub(super) pacer: Pacer,
    /// Sends under way at once, across the pages being sent (at most the campaign
    /// concurrency).
    pub(super) slots: Semaphore,
    pub(super) limits: &'a Limits,
}

impl<'a> Run<'a> {
    pub(super) fn new(app: &'a App, ev: &'a FireEvent, plan: &'a Plan, limits: &'a Limits) -> Self {
        Self {
            app,
            ev,
            plan,
            pacer: Pacer::for_app(app),
            slots: Semaphore::new(app.config.campaigns.concurrency.max(1)),
            limits,
        }
    }
}
