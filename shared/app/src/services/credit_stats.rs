//! `GET /credits/stats`: credits spent per day (in the clinic's time zone) and notification
//! type, net of refunds, over every account of the clinic (practitioners' ones included, closed
//! ones too).

use super::load_clinic;
use super::messages::Period;
use crate::{ServiceError, store::Store};
use chrono::{Days, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use tidings_domain::credits::{EntryKind, Spend};

/// Credits spent on each notification type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Spent {
    pub reminder: i64,
    pub campaign: i64,
    pub greeting: i64,
    pub one_off: i64,
    pub reply: i64,
    pub total: i64,
}

impl Spent {
    fn add(&mut self, on: Spend, credits: i64) {
        let slot = match on {
            Spend::Reminder => &mut self.reminder,
            Spend::Campaign => &mut self.campaign,
            Spend::Greeting => &mut self.greeting,
            Spend::OneOff => &mut self.one_off,
            Spend::Reply => &mut self.reply,
        };
        *slot += credits;
        self.total += credits;
    }
}

/// One day of the statistics.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DaySpent {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub spent: Spent,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreditStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    /// Every day of the period, oldest first (days with nothing spent too).
    pub days: Vec<DaySpent>,
    pub totals: Spent,
}

pub async fn stats(
    store: &Store,
    clinic_id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<CreditStats, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let (period, from, to) = Period::for_stats(&clinic, from, to, store.now())?;
    let end = to.checked_add_days(Days::new(1)).unwrap_or(to);
    let entries = store
        .ledger_between(clinic_id, period.midnight(from), period.midnight(end))
        .await?;
    let mut days: BTreeMap<NaiveDate, Spent> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, Spent::default()))
        .collect();
    for e in entries {
        let (Some(on), EntryKind::Debit | EntryKind::Refund) = (e.spent_on, e.kind) else {
            continue;
        };
        let date = e.created_at.with_timezone(&period.tz).date_naive();
        if let Some(day) = days.get_mut(&date) {
            day.add(on, -e.credits);
        }
    }
    let mut totals = Spent::default();
    for s in days.values() {
        for (on, v) in [
            (Spend::Reminder, s.reminder),
            (Spend::Campaign, s.campaign),
            (Spend::Greeting, s.greeting),
            (Spend::OneOff, s.one_off),
            (Spend::Reply, s.reply),
        ] {
            totals.add(on, v);
        }
    }
    Ok(CreditStats {
        from,
        to,
        time_zone: clinic.fields.time_zone.name().to_owned(),
        days: days
            .into_iter()
            .map(|(date, spent)| DaySpent { date, spent })
            .collect(),
        totals,
    })
}
