//! The per-day counters statistics read (`STATS#<date>` under the clinic), and the marks that
//! make counting a stream batch happen once (`COUNTED#<event id>`).

use super::{Item, Query, Store, StoreError, TxError, keys, n, s};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use tidings_domain::day_counts::DayCounts;

/// A change to one clinic's counters of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayChange {
    pub clinic_id: String,
    pub date: NaiveDate,
    pub counts: DayCounts,
}

/// What became of a part of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Its changes were added now.
    Now,
    /// A part starting at the same record was counted before: it covered this many records.
    Before(usize),
}

impl Store {
    /// The clinic's counters from `from` to `to` (both included), oldest first: one item per
    /// day that has any.
    pub async fn day_counts(
        &self,
        clinic_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, DayCounts)>, StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), "");
        q.sk_between = Some((keys::day_counts_sk(from), keys::day_counts_sk(to)));
        q.limit = 400;
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                if let Some(day) = day_from_item(&item) {
                    out.push(day);
                }
            }
            start = page.last_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Adds `changes` (at most 99, each a different clinic and day) to the counters, with the
    /// mark that the `records` stream records starting at `first_event_id` were counted, all
    /// or nothing. When that mark already exists nothing is added: the records it covers were
    /// counted by an earlier delivery of the same batch.
    pub async fn add_day_counts(
        &self,
        first_event_id: &str,
        records: usize,
        changes: &[DayChange],
        expires: DateTime<Utc>,
    ) -> Result<Counted, StoreError> {
        let mark = Item::from([
            ("pk".to_owned(), s(keys::counted_pk(first_event_id))),
            ("sk".to_owned(), s(keys::COUNTED_SK)),
            ("records".to_owned(), n(records)),
            ("expires_at".to_owned(), n(expires.timestamp())),
        ]);
        let mut items = vec![(self.tx_put(mark, "attribute_not_exists(pk)", None)?, true)];
        for c in changes {
            let (update, names, values) = add_expression(&c.counts);
            items.push((
                self.tx_update_named(
                    keys::clinic_pk(&c.clinic_id),
                    keys::day_counts_sk(c.date),
                    &update,
                    None,
                    names,
                    values,
                )?,
                false,
            ));
        }
        match self.transact(items).await {
            Ok(()) => Ok(Counted::Now),
            Err(TxError::Condition(_)) => {
                let before = self
                    .get(keys::counted_pk(first_event_id), keys::COUNTED_SK.into())
                    .await?
                    .and_then(|i| number(i.get("records")))
                    .and_then(|r| usize::try_from(r).ok())
                    .unwrap_or(records);
                Ok(Counted::Before(before))
            }
            Err(TxError::Store(e)) => Err(e),
        }
    }
}

impl Store {
    /// Replaces the clinic's counters of `date` with `counts` (none when they are all zero).
    pub async fn replace_day_counts(
        &self,
        clinic_id: &str,
        date: NaiveDate,
        counts: &DayCounts,
    ) -> Result<(), StoreError> {
        if counts.is_zero() {
            return self
                .delete(keys::clinic_pk(clinic_id), keys::day_counts_sk(date))
                .await;
        }
        let mut item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::day_counts_sk(date))),
        ]);
        for (name, v) in counts.iter() {
            item.insert(name.to_owned(), n(v));
        }
        self.put(item).await
    }
}

/// `ADD #c0 :c0, #c1 :c1, …` for the counters that change.
fn add_expression(c: &DayCounts) -> (String, HashMap<String, String>, Item) {
    let mut parts = Vec::new();
    let mut names = HashMap::new();
    let mut values = Item::new();
    for (i, (name, v)) in c.iter().enumerate() {
        parts.push(format!("#c{i} :c{i}"));
        names.insert(format!("#c{i}"), name.to_owned());
        values.insert(format!(":c{i}"), n(v));
    }
    (format!("ADD {}", parts.join(", ")), names, values)
}

fn number(v: Option<&AttributeValue>) -> Option<i64> {
    v?.as_n().ok()?.parse().ok()
}

/// A counters item as its date and counters; the keys and anything not a number are not
/// counters.
fn day_from_item(item: &Item) -> Option<(NaiveDate, DayCounts)> {
    let sk = item.get("sk")?.as_s().ok()?;
    let date = sk.strip_prefix(keys::DAY_COUNTS_PREFIX)?.parse().ok()?;
    let counts = DayCounts::from_pairs(
        item.iter()
            .filter_map(|(k, v)| Some((k.clone(), number(Some(v))?))),
    );
    Some((date, counts))
}
