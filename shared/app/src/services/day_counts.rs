//! Keeping the per-day counters the statistics read (`GET /messages/stats`, `/credits/stats`)
//! from the table's stream: the `count-stats` function receives every change of a message and
//! every new ledger entry, in order, in batches.
//!
//! A change adds, to the counters of its clinic and day (the day the message or entry was
//! created, in the clinic's time zone), what the item counts for now less what it counted for
//! before (`tidings_domain::day_counts`). The batch is added in parts of consecutive records,
//! each part in one transaction with a mark named by its first record, so a batch Lambda hands
//! over again (the function failed or stopped after a part was added) adds each part once: a
//! part whose mark exists is skipped, as far as that mark says it reached.

use super::webhook_events::{Image, StoredChange};
use crate::store::{Counted, DayChange, Store, StoreError, keys};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use tidings_domain::credits::LedgerEntry;
use tidings_domain::day_counts::DayCounts;
use tidings_domain::message::Message;

/// Parts of a batch change at most this many counters items (a transaction holds 100 items,
/// one of them the mark).
const ITEMS_PER_PART: usize = 99;

/// How long a part's mark is kept: longer than Lambda keeps retrying a batch (a day, the
/// event source's `MaximumRecordAgeInSeconds`).
const MARK_KEPT_DAYS: i64 = 2;

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records added to the counters now.
    pub counted: usize,
    /// Records an earlier delivery of the batch had counted.
    pub counted_before: usize,
    /// Records that could not be counted (an image or a clinic that does not read); each is
    /// logged with its ids.
    pub unreadable: usize,
}

/// One record's change to its clinic's counters, before its day is known.
struct RecordChange {
    clinic_id: String,
    created_at: DateTime<Utc>,
    counts: DayCounts,
}

/// Adds the batch's changes to the counters, each once.
pub async fn count(
    store: &Store,
    changes: &[StoredChange],
    now: DateTime<Utc>,
) -> Result<Summary, StoreError> {
    let mut summary = Summary::default();
    let records: Vec<Option<RecordChange>> = changes
        .iter()
        .map(|c| {
            record_change(c).unwrap_or_else(|| {
                summary.unreadable += 1;
                tracing::error!(
                    pk = c.pk,
                    sk = c.sk,
                    sequence = c.sequence,
                    "a stored change could not be read; it is not counted"
                );
                None
            })
        })
        .collect();
    let zones = time_zones(store, &records, &mut summary).await?;
    let days: Vec<Option<DayChange>> = records
        .into_iter()
        .map(|r| {
            let r = r?;
            let tz = zones.get(&r.clinic_id)?;
            Some(DayChange {
                date: r.created_at.with_timezone(tz).date_naive(),
                clinic_id: r.clinic_id,
                counts: r.counts,
            })
        })
        .collect();

    let expires = now + Duration::days(MARK_KEPT_DAYS);
    let mut start = 0;
    while start < changes.len() {
        let (end, part) = part_from(&days, start);
        let first = &changes[start].sequence;
        let reached = if part.is_empty() {
            end
        } else {
            match store
                .add_day_counts(first, end - start, &part, expires)
                .await?
            {
                Counted::Now => {
                    summary.counted += end - start;
                    end
                }
                Counted::Before(n) => {
                    let reached = start.saturating_add(n.max(1)).min(changes.len());
                    summary.counted_before += reached - start;
                    reached
                }
            }
        };
        start = reached;
    }
    Ok(summary)
}

/// The records from `start` that make one part (up to [`ITEMS_PER_PART`] different clinic
/// days), and their changes summed per clinic and day. Where a part ends depends only on the
/// records from `start`, so a batch handed over again is cut the same way.
fn part_from(days: &[Option<DayChange>], start: usize) -> (usize, Vec<DayChange>) {
    let mut part: Vec<DayChange> = Vec::new();
    let mut index: HashMap<(String, NaiveDate), usize> = HashMap::new();
    let mut end = start;
    for d in &days[start..] {
        if let Some(d) = d {
            let key = (d.clinic_id.clone(), d.date);
            match index.get(&key) {
                Some(&i) => part[i].counts.add(&d.counts),
                None if part.len() == ITEMS_PER_PART => break,
                None => {
                    index.insert(key, part.len());
                    part.push(d.clone());
                }
            }
        }
        end += 1;
    }
    part.retain(|d| !d.counts.is_zero());
    (end, part)
}

/// The change a record makes to its clinic's counters; `Some(None)` when it changes nothing,
/// None when an image does not read.
fn record_change(c: &StoredChange) -> Option<Option<RecordChange>> {
    let Some(clinic_id) = c.pk.strip_prefix("CLINIC#") else {
        return Some(None);
    };
    let (new, old, created_at) = if c.sk.starts_with(keys::MESSAGE_PREFIX) {
        let new = decode::<Message>(c.new.as_ref())?;
        let old = decode::<Message>(c.old.as_ref())?;
        let Some(at) = new.as_ref().or(old.as_ref()).map(|m| m.created_at) else {
            return Some(None);
        };
        let counts = |m: Option<Message>| m.map(|m| DayCounts::of_message(&m));
        (counts(new), counts(old), at)
    } else if c.sk.starts_with(keys::LEDGER_PREFIX) {
        let new = decode::<LedgerEntry>(c.new.as_ref())?;
        let old = decode::<LedgerEntry>(c.old.as_ref())?;
        let Some(at) = new.as_ref().or(old.as_ref()).map(|e| e.created_at) else {
            return Some(None);
        };
        let counts = |e: Option<LedgerEntry>| e.map(|e| DayCounts::of_ledger_entry(&e));
        (counts(new), counts(old), at)
    } else {
        return Some(None);
    };
    let mut counts = new.unwrap_or_default();
    if let Some(old) = old {
        counts.subtract(&old);
    }
    Some((!counts.is_zero()).then(|| RecordChange {
        clinic_id: clinic_id.to_owned(),
        created_at,
        counts,
    }))
}

/// An image as `T`: `Some(None)` when there is no image, None when it does not read.
fn decode<T: serde::de::DeserializeOwned>(image: Option<&Image>) -> Option<Option<T>> {
    match image {
        None => Some(None),
        Some(i) => serde_dynamo::from_item(i.clone()).ok().map(Some),
    }
}

/// The time zone of each clinic the records change, read once per batch. A clinic that is
/// gone or whose record does not read has its records left uncounted (and logged).
async fn time_zones(
    store: &Store,
    records: &[Option<RecordChange>],
    summary: &mut Summary,
) -> Result<HashMap<String, chrono_tz::Tz>, StoreError> {
    let clinics: HashSet<&str> = records
        .iter()
        .flatten()
        .map(|r| r.clinic_id.as_str())
        .collect();
    let mut zones = HashMap::new();
    for clinic_id in clinics {
        match store.get_clinic(clinic_id).await {
            Ok(Some(c)) => {
                zones.insert(clinic_id.to_owned(), c.fields.time_zone);
            }
            Ok(None) | Err(StoreError::Corrupt(_)) => {
                let lost = records
                    .iter()
                    .flatten()
                    .filter(|r| r.clinic_id == clinic_id)
                    .count();
                summary.unreadable += lost;
                tracing::error!(
                    clinic_id,
                    records = lost,
                    "the clinic's record does not read; its changes are not counted"
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(zones)
}

/// `tidings-admin stats recount`: the clinic's counters of the days `from` to `to` (in its
/// time zone) counted again from its messages and its ledger, replacing what they held. For
/// the days before `count-stats` was deployed, or after a batch was lost; a day whose messages
/// change while it runs may miss those changes or count them twice (docs/operations.md).
/// Messages are read a day of sort keys at a time (from the day before `from`: a campaign
/// run's messages are keyed by the run's start) and counted on the day they were created.
/// Returns the days written.
pub async fn recount(
    store: &Store,
    clinic_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<usize, crate::ServiceError> {
    if to < from
        || from
            .checked_add_days(chrono::Days::new(super::messages::MAX_STATS_DAYS))
            .is_none_or(|end| end <= to)
    {
        return Err(tidings_domain::FieldError::new(
            "from",
            "out_of_range",
            format!(
                "from must be on or before to, at most {} days before it",
                super::messages::MAX_STATS_DAYS
            ),
        )
        .into());
    }
    let clinic = super::load_clinic(store, clinic_id).await?;
    let tz = clinic.fields.time_zone;
    let period = |from, to| super::messages::Period {
        tz,
        from: Some(from),
        to: Some(to),
    };
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let mut counts: HashMap<NaiveDate, DayCounts> =
        days.iter().map(|d| (*d, DayCounts::default())).collect();
    let end = to.checked_add_days(chrono::Days::new(1)).unwrap_or(to);
    let whole = period(from, to);
    for e in store
        .ledger_between(clinic_id, whole.midnight(from), whole.midnight(end))
        .await?
    {
        let date = e.created_at.with_timezone(&tz).date_naive();
        if let Some(day) = counts.get_mut(&date) {
            day.add(&DayCounts::of_ledger_entry(&e));
        }
    }
    let before = from.pred_opt().unwrap_or(from);
    for keyed in before.iter_days().take_while(|d| *d <= to) {
        let range = period(keyed, keyed).sort_keys_under(keys::MESSAGE_PREFIX);
        for m in store.messages_between(clinic_id, range).await? {
            let date = m.created_at.with_timezone(&tz).date_naive();
            if let Some(day) = counts.get_mut(&date) {
                day.add(&DayCounts::of_message(&m));
            }
        }
    }
    for date in &days {
        let day = counts.remove(date).unwrap_or_default();
        store.replace_day_counts(clinic_id, *date, &day).await?;
    }
    Ok(days.len())
}
