//! `GET /credits/stats`: credits spent per day (in the clinic's time zone) and notification
//! type, net of refunds, over every account of the clinic (practitioners' ones included, closed
//! ones too), from the day counters.

use super::load_clinic;
use super::messages::Period;
use crate::{ServiceError, store::Store};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use tidings_domain::credits::Spend;

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
        *slot = slot.saturating_add(credits);
        self.total = self.total.saturating_add(credits);
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

/// From the day counters: one item per day of the period at most (`services::day_counts`).
pub async fn stats(
    store: &Store,
    clinic_id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<CreditStats, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let (_, from, to) = Period::for_stats(&clinic, from, to, store.now())?;
    let mut days: BTreeMap<NaiveDate, Spent> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, Spent::default()))
        .collect();
    for (date, counts) in store.day_counts(clinic_id, from, to).await? {
        if let Some(day) = days.get_mut(&date) {
            for on in Spend::ALL {
                day.add(on, counts.spent(on));
            }
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
