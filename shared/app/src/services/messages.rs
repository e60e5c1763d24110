//! Message history: per patient, per clinic by category and date, and daily statistics.

use super::load_clinic;
use crate::store::keys::MESSAGE_PREFIX;
use crate::{ServiceError, store::Store};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use tidings_domain::FieldError;
use tidings_domain::day_counts::CATEGORIES;
use tidings_domain::message::Message;
use tidings_domain::message_template::Category;

/// The longest period statistics cover at once.
pub const MAX_STATS_DAYS: u64 = 366;

/// A period of whole days in the clinic's time zone, as sort keys of time-ordered ids.
pub(super) struct Period {
    pub(super) tz: chrono_tz::Tz,
    pub(super) from: Option<NaiveDate>,
    pub(super) to: Option<NaiveDate>,
}

fn parse_date(field: &str, v: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    v.map(|d| {
        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be a date like 2026-11-24"),
            )
        })
    })
    .transpose()
}

impl Period {
    fn parse(tz: chrono_tz::Tz, from: Option<&str>, to: Option<&str>) -> Result<Self, FieldError> {
        let p = Self {
            tz,
            from: parse_date("from", from)?,
            to: parse_date("to", to)?,
        };
        if let (Some(f), Some(t)) = (p.from, p.to)
            && f > t
        {
            return Err(FieldError::new(
                "to",
                "invalid",
                "to must not be before from",
            ));
        }
        Ok(p)
    }

    pub(super) fn midnight(&self, d: NaiveDate) -> DateTime<Utc> {
        let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
    }

    /// Message sort keys from the first millisecond of `from` to before the first of the
    /// day after `to`.
    fn sort_keys(&self) -> (String, String) {
        self.sort_keys_under(MESSAGE_PREFIX)
    }

    /// Like [`Period::sort_keys`], for ids (UUID v7) after `prefix`.
    pub(super) fn sort_keys_under(&self, prefix: &str) -> (String, String) {
        let boundary = |t| crate::store::keys::id_boundary(prefix, t);
        let lo = self
            .from
            .map(|d| boundary(self.midnight(d)))
            .unwrap_or_else(|| prefix.to_owned());
        let hi = self
            .to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| boundary(self.midnight(d)))
            .unwrap_or_else(|| format!("{prefix}~"));
        (lo, hi)
    }

    /// The period statistics cover: `from` and `to` (dates in the clinic's time zone), by
    /// default the 30 days to today, at most [`MAX_STATS_DAYS`]; with its first and last day.
    pub(super) fn for_stats(
        clinic: &tidings_domain::clinic::Clinic,
        from: Option<&str>,
        to: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Self, NaiveDate, NaiveDate), FieldError> {
        let mut period = Period::parse(clinic.fields.time_zone, from, to)?;
        let today = super::clinic_today(clinic, now);
        let to = period.to.unwrap_or(today);
        let from = period
            .from
            .unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
        if from
            .checked_add_days(Days::new(MAX_STATS_DAYS))
            .is_some_and(|end| end <= to)
        {
            return Err(FieldError::new(
                "from",
                "out_of_range",
                format!("statistics cover at most {MAX_STATS_DAYS} days at once"),
            ));
        }
        period.from = Some(from);
        period.to = Some(to);
        Ok((period, from, to))
    }
}

/// `GET /messages`: the clinic's messages, newest first, by category and period.
pub async fn list(
    store: &Store,
    clinic_id: &str,
    category: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Message>, Option<String>), ServiceError> {
    let category = category
        .map(|c| Category::parse("category", c))
        .transpose()?;
    let clinic = load_clinic(store, clinic_id).await?;
    let period = Period::parse(clinic.fields.time_zone, from, to)?;
    Ok(store
        .list_messages(
            clinic_id,
            period.sort_keys(),
            category.map(Category::as_str),
            after,
            limit,
        )
        .await?)
}

/// `GET /patients/{id}/messages`.
pub async fn patient_history(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    include_contacts: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Message>, Option<String>), ServiceError> {
    let include_contacts = match include_contacts.map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(FieldError::new(
                "include_contacts",
                "invalid",
                "include_contacts must be true or false",
            )
            .into());
        }
    };
    if store.get_patient(clinic_id, patient_id).await?.is_none() {
        return Err(ServiceError::NotFound("patient"));
    }
    let (mut items, next) = store
        .patient_messages(clinic_id, patient_id, include_contacts, after, limit)
        .await?;
    // What the patient received as another patient's contact (a parent, for their child's
    // reminders), merged in by message id: newest first, one cursor for every source.
    let linked = store.contacts_linked_to(clinic_id, patient_id).await?;
    if linked.is_empty() {
        return Ok((items, next));
    }
    let mut more = next.is_some();
    for l in &linked {
        let (copies, next) = store
            .contact_copies(clinic_id, &l.patient_id, &l.contact_id, after, limit)
            .await?;
        more |= next.is_some();
        items.extend(copies);
    }
    items.sort_by(|a, b| b.id.cmp(&a.id));
    items.dedup_by(|a, b| a.id == b.id);
    more |= items.len() > limit;
    items.truncate(limit);
    let next = more.then(|| items.last().map(|m| m.id.clone())).flatten();
    Ok((items, next))
}

/// One day and category of the statistics.
#[derive(Debug, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct DayStats {
    pub date: NaiveDate,
    pub category: Category,
    /// Messages handed to a provider (or waiting to be).
    pub messages: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Of `messages`, those whose sender stopped after it may have handed them over: outcome
    /// unknown (they keep their credits). Shown when there are any.
    #[serde(skip_serializing_if = "is_zero")]
    pub unconfirmed: u64,
    /// SMS segments of the messages sent.
    pub segments: u64,
    /// Credits used, after refunds.
    pub credits: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `GET /messages/stats`: per day (in the clinic's time zone) and category, from the day
/// counters (one item per day of the period at most, `services::day_counts`). Categories with
/// nothing counted that day are left out.
pub async fn stats(
    store: &Store,
    clinic_id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<DayStats>, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let (_, from, to) = Period::for_stats(&clinic, from, to, store.now())?;
    let days = store.day_counts(clinic_id, from, to).await?;
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(days
        .iter()
        .flat_map(|(date, counts)| {
            CATEGORIES.into_iter().filter_map(move |category| {
                let f = counts.messages(category);
                (!f.is_zero()).then(|| DayStats {
                    date: *date,
                    category,
                    messages: count(f.messages),
                    failed: count(f.failed),
                    skipped: count(f.skipped),
                    unconfirmed: count(f.unconfirmed),
                    segments: count(f.segments),
                    credits: count(f.credits),
                })
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_sort_like_v7_ids() {
        // The system's time, as the v7 id reads it.
        let t = crate::clock::Clock::system().now();
        let id = uuid::Uuid::now_v7().to_string();
        let key = format!("{MESSAGE_PREFIX}{id}");
        let boundary = |t| crate::store::keys::id_boundary(MESSAGE_PREFIX, t);
        assert!(boundary(t - chrono::Duration::seconds(1)) < key);
        assert!(boundary(t + chrono::Duration::seconds(1)) > key);
        let p = Period::parse(
            chrono_tz::Australia::Sydney,
            Some("2026-11-02"),
            Some("2026-11-01"),
        );
        assert_eq!(p.err().map(|e| e.field), Some("to".into()));
    }
}
