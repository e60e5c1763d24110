//! DynamoDB adapter. One table holds every clinic's data; every clinic-owned key starts with
//! `CLINIC#<clinic id>`, so a request scoped to its caller's clinic cannot reach another's.
//! `docs/data-model.md` lists the keys, the index and the access pattern each serves.

mod api_keys;
mod appointments;
mod auto_top_up;
mod blocks;
mod campaigns;
mod clinics;
mod contacts;
mod credit_accounts;
mod credits;
pub mod cursor;
mod day_counts;
mod erasure;
mod held_changes;
pub mod keys;
mod messages;
mod page_claims;
mod patients;
mod practitioners;
mod purchases;
mod referrers;
mod reminder_batches;
mod replies;
mod reports;
mod run_credits;
mod send_rate;
mod settings;
mod templates;
mod unconfirmed;
mod uploads;
mod webhook_endpoints;

pub use api_keys::{ApiKeyRecord, Revoked};
pub use appointments::{AppointmentFilter, AppointmentPage, AppointmentWrite};
pub use blocks::{Blocked, ConsentChange};
pub use campaigns::{RunTotals, StatusChange};
pub use clinics::ClinicWrite;
pub use contacts::{ContactWrite, LinkedContact};
pub use credit_accounts::AccountWrite;
pub use day_counts::{Counted, DayChange};
pub use erasure::Person;
pub use held_changes::HeldChange;
pub use messages::{SendClaim, SendRecord};
pub use page_claims::PageClaim;
pub use patients::{PatientPage, PatientRecord, PatientWrite};
pub use purchases::{Reversal, SavedPaymentMethod};
pub use referrers::{ReferralPage, ReferralWrite};
pub use reminder_batches::{BatchReservation, Claimed, Planned, ReminderBatch};
pub use replies::{Holder, Inbound};
pub use run_credits::{Reservation, RunKey};
pub use settings::Scope;
pub use unconfirmed::{OpenSend, OpenSendKind};
pub use uploads::{FailedRow, MatchedRow, Referenced, UploadSummary, upload_ref_keys};
pub use webhook_endpoints::{Attempt, Delivery, DeliveryStatus, EndpointRecord, WebhookEndpoint};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, PutRequest, TransactWriteItem, Update,
    WriteRequest,
};
use std::collections::HashMap;
use thiserror::Error;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// How often a transaction that conflicted with another is tried in all.
const TX_ATTEMPTS: u64 = 6;
/// The most puts DynamoDB takes in one `BatchWriteItem`.
pub(crate) const BATCH_WRITE: usize = 25;
/// How often a batch write is tried in all while DynamoDB leaves some of it unprocessed.
const BATCH_ATTEMPTS: u64 = 8;

/// The name of the one global secondary index (`gsi1pk`, `gsi1sk`).
pub const GSI1: &str = "gsi1";
/// Lookups by a value: a mobile number in a clinic, a provider's message id. Keys only.
pub const GSI2: &str = "gsi2";
/// Patients by birthday (`MM-DD`) in a clinic. Keys only.
pub const GSI3: &str = "gsi3";

#[derive(Debug, Error)]
pub enum StoreError {
    /// DynamoDB refused or failed the call. The text names the operation only; the SDK's own
    /// error is the source, for logs.
    #[error("DynamoDB {op} failed: {detail}")]
    Sdk { op: &'static str, detail: String },
    #[error("a stored item could not be read")]
    Corrupt(#[source] serde_dynamo::Error),
    #[error("an item could not be encoded")]
    Encode(#[source] serde_dynamo::Error),
    #[error("a DynamoDB request could not be built")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
    /// DynamoDB left this many items of a batch write unprocessed however often it was tried.
    #[error("DynamoDB left {0} item(s) of a batch write unprocessed")]
    Unprocessed(usize),
    /// An item written with a fresh id already existed.
    #[error("an item with a fresh id already exists")]
    Collision,
    /// An item that is never deleted was not there (a campaign run's page claim).
    #[error("a {0} that is never deleted is missing")]
    Missing(&'static str),
}

impl StoreError {
    fn sdk<E: std::error::Error + 'static, R: std::fmt::Debug>(
        op: &'static str,
        e: SdkError<E, R>,
    ) -> Self {
        Self::Sdk {
            op,
            detail: DisplayErrorContext(e).to_string(),
        }
    }
}

/// `Ok(true)` when a conditional write happened, `Ok(false)` when its condition did not hold.
pub(crate) fn conditional<O, E, R>(
    op: &'static str,
    res: Result<O, SdkError<E, R>>,
    failed: fn(&E) -> bool,
) -> Result<bool, StoreError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(failed) => Ok(false),
        Err(e) => Err(StoreError::sdk(op, e)),
    }
}

/// Why a transaction did not commit: the meaning attached to the first item whose condition
/// failed, or a storage failure.
#[derive(Debug)]
pub enum TxError<F> {
    Condition(F),
    Store(StoreError),
}

impl<F> From<StoreError> for TxError<F> {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

/// The DynamoDB client, the table name and the app's clock, shared by every store operation.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    clock: crate::clock::Clock,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A timestamp exactly as serde stores it in an item, so a condition on a stored timestamp
/// compares equal strings.
pub(crate) fn ts(t: &chrono::DateTime<chrono::Utc>) -> AttributeValue {
    serde_dynamo::to_attribute_value(t)
        .unwrap_or_else(|_| s(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}

/// Any serialisable value as an attribute value, exactly as it is stored in an item.
pub(crate) fn attr<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(StoreError::Encode)
}

/// The `#s` name of `status`, which DynamoDB reserves.
pub(crate) fn status_name() -> HashMap<String, String> {
    HashMap::from([("#s".to_owned(), "status".to_owned())])
}

/// The `#s` placeholder when `update` or `condition` uses it (DynamoDB refuses unused names).
pub(crate) fn names_used(update: &str, condition: &str) -> Option<HashMap<String, String>> {
    (update.contains("#s") || condition.contains("#s")).then(status_name)
}

pub(crate) fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(StoreError::Encode)
}

pub(crate) fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::Corrupt)
}

/// A page of a query: the items, and the key to continue from when there are more.
pub(crate) struct QueryPage {
    pub items: Vec<Item>,
    pub last_key: Option<Item>,
    /// Items the read evaluated (before the filter).
    pub scanned: usize,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: crate::clock::Clock::system(),
        }
    }

    /// The app's clock (tests move it).
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// Now, by the app's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads one item with a strongly consistent read.
    pub(crate) async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::sdk("GetItem", e))?;
        Ok(out.item)
    }

    /// Puts an item, replacing any with its key.
    pub(crate) async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::sdk("PutItem", e))?;
        Ok(())
    }

    /// Puts up to [`BATCH_WRITE`] items, each replacing any with its key, in one call. What
    /// DynamoDB leaves unprocessed (throttling) is tried again after a growing pause.
    pub(crate) async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        while !requests.is_empty() {
            attempt += 1;
            if attempt > BATCH_ATTEMPTS {
                return Err(StoreError::Unprocessed(requests.len()));
            }
            if attempt > 1 {
                let pause = rand::random_range(10..50) * (1 << (attempt - 2));
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| StoreError::sdk("BatchWriteItem", e))?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
        }
        Ok(())
    }

    /// Deletes an item if there is one.
    pub(crate) async fn delete(&self, pk: String, sk: String) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| StoreError::sdk("DeleteItem", e))?;
        Ok(())
    }

    /// Puts an item if `condition` holds; `Ok(false)` when it did not. `#s` in the condition
    /// names the `status` attribute.
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names_used("", condition))
            .set_expression_attribute_values(values)
            .send()
            .await;
        conditional(
            "PutItem",
            res,
            PutItemError::is_conditional_check_failed_exception,
        )
    }

    /// Updates an item if `condition` holds; `Ok(false)` when it did not. `#s` in the
    /// expressions names the `status` attribute.
    pub(crate) async fn update_if(
        &self,
        (pk, sk): (String, String),
        update: &str,
        condition: &str,
        values: Item,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(names_used(update, condition))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        conditional(
            "UpdateItem",
            res,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }

    /// Deletes an item if `condition` holds; `Ok(false)` when it did not.
    pub(crate) async fn delete_if(
        &self,
        pk: String,
        sk: String,
        condition: &str,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression(condition)
            .send()
            .await;
        conditional(
            "DeleteItem",
            res,
            DeleteItemError::is_conditional_check_failed_exception,
        )
    }

    /// One page of a query on the table (or the index `index`), oldest first.
    pub(crate) async fn query(
        &self,
        q: &Query<'_>,
        start: Option<Item>,
    ) -> Result<QueryPage, StoreError> {
        self.query_up_to(q, start, q.limit).await
    }

    /// Like [`Store::query`], evaluating at most `limit` items instead of the query's own.
    async fn query_up_to(
        &self,
        q: &Query<'_>,
        start: Option<Item>,
        limit: i32,
    ) -> Result<QueryPage, StoreError> {
        let (pk_name, sk_name) = match q.index {
            Some(GSI2) => ("gsi2pk", "gsi2sk"),
            Some(GSI3) => ("gsi3pk", "gsi3sk"),
            Some(_) => ("gsi1pk", "gsi1sk"),
            None => ("pk", "sk"),
        };
        let mut values = q.values.clone();
        values.insert(":pk".into(), s(&q.pk));
        // DynamoDB refuses an empty prefix: an empty one means the whole partition.
        let key_condition = if let Some((lo, hi)) = &q.sk_between {
            values.insert(":lo".into(), s(lo));
            values.insert(":hi".into(), s(hi));
            format!("{pk_name} = :pk AND {sk_name} BETWEEN :lo AND :hi")
        } else if q.sk_prefix.is_empty() {
            format!("{pk_name} = :pk")
        } else {
            values.insert(":prefix".into(), s(&q.sk_prefix));
            format!("{pk_name} = :pk AND begins_with({sk_name}, :prefix)")
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_filter_expression(q.filter.map(str::to_owned))
            .set_projection_expression(q.projection.clone())
            .set_expression_attribute_values(Some(values))
            .set_expression_attribute_names((!q.names.is_empty()).then(|| q.names.clone()))
            .set_exclusive_start_key(start)
            .scan_index_forward(q.forward)
            .set_limit(Some(limit))
            .consistent_read(q.index.is_none())
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        Ok(QueryPage {
            scanned: usize::try_from(out.scanned_count).unwrap_or(0),
            items: out.items.unwrap_or_default(),
            last_key: out.last_evaluated_key,
        })
    }

    /// Commits the items atomically. Each item carries what its failed condition would mean,
    /// and the first failed one is returned. A transaction cancelled only because another one
    /// was writing the same item (two sends debiting one balance) is tried again, a few times,
    /// after a short random pause: nothing of it was written, and its conditions still guard it.
    pub(crate) async fn transact<F: Copy>(
        &self,
        items: Vec<(TransactWriteItem, F)>,
    ) -> Result<(), TxError<F>> {
        let (writes, meanings): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            let Err(e) = res else { return Ok(()) };
            if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                e.as_service_error()
            {
                let reasons = c.cancellation_reasons();
                let failed = reasons
                    .iter()
                    .position(|r| r.code() == Some("ConditionalCheckFailed"));
                if let Some(meaning) = failed.and_then(|i| meanings.get(i)) {
                    return Err(TxError::Condition(*meaning));
                }
                let conflict = reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"));
                if conflict && attempt < TX_ATTEMPTS {
                    let pause = rand::random_range(10..40) * attempt;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    continue;
                }
            }
            return Err(TxError::Store(StoreError::sdk("TransactWriteItems", e)));
        }
    }

    /// Every item of a query, all pages (for small, bounded sets only).
    pub(crate) async fn query_all<T: serde::de::DeserializeOwned>(
        &self,
        q: Query<'_>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                out.push(from_item(item)?);
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}

/// Only the sort key of an item (what a keys-only read needs).
#[derive(serde::Deserialize)]
pub(crate) struct SortKey {
    pub sk: String,
}

/// Only the `gsi2` sort key of an item (an index of ids, keys only).
#[derive(serde::Deserialize)]
struct Gsi2SortKey {
    gsi2sk: String,
}

impl Store {
    /// The `gsi2sk` of every item under `gsi2pk = pk`: the ids an index of ids holds (the open
    /// runs, the open reminder batches).
    pub(crate) async fn gsi2_sort_keys(&self, pk: String) -> Result<Vec<String>, StoreError> {
        let keys: Vec<Gsi2SortKey> = self.query_all(Query::under(Some(GSI2), pk, "")).await?;
        Ok(keys.into_iter().map(|k| k.gsi2sk).collect())
    }
}

/// A key-condition query: everything under `pk` whose sort key starts with `sk_prefix`.
pub(crate) struct Query<'a> {
    pub index: Option<&'a str>,
    pub pk: String,
    pub sk_prefix: String,
    /// Instead of the prefix: sort keys from `.0` to `.1` inclusive.
    pub sk_between: Option<(String, String)>,
    pub filter: Option<&'a str>,
    pub values: Item,
    /// `#name` placeholders of the filter and projection (for attribute names DynamoDB
    /// reserves).
    pub names: HashMap<String, String>,
    /// The attributes to return, when not all of them.
    pub projection: Option<String>,
    pub limit: i32,
    /// Ascending sort-key order (oldest first for time-ordered ids); false for newest first.
    pub forward: bool,
}

impl<'a> Query<'a> {
    /// A query of everything under `pk` (on the index when `index` is set).
    pub(crate) fn under(index: Option<&'a str>, pk: String, sk_prefix: impl Into<String>) -> Self {
        Self {
            index,
            pk,
            sk_prefix: sk_prefix.into(),
            sk_between: None,
            filter: None,
            values: Item::new(),
            names: HashMap::new(),
            projection: None,
            limit: 100,
            forward: true,
        }
    }
}

/// Items of one API page, and the sort key to continue after when there may be more.
pub(crate) struct Page {
    pub items: Vec<Item>,
    pub next_after: Option<String>,
}

/// How many DynamoDB pages one API page may read before it returns what it has (with a
/// cursor), so a sparse filter cannot make one request read a whole clinic; and, times the
/// query's own limit, how many items those reads may evaluate.
const MAX_READS_PER_PAGE: usize = 10;

/// The most items one read asks DynamoDB to evaluate (it stops at 1 MB anyway).
const MAX_ITEMS_PER_READ: usize = 1000;

impl Store {
    /// Up to `limit` items of a base-table query that pass its filter, starting after the sort
    /// key `after_sk`.
    pub(crate) async fn page(
        &self,
        q: &Query<'_>,
        after_sk: Option<String>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let start =
            after_sk.map(|sk| Item::from([("pk".to_owned(), s(&q.pk)), ("sk".to_owned(), s(sk))]));
        self.page_from(q, start, limit).await
    }

    /// Like [`Store::page`], from an exclusive start key (an index query needs the index keys
    /// too). `next_after` is the base-table sort key of the last item returned.
    pub(crate) async fn page_from(
        &self,
        q: &Query<'_>,
        start: Option<Item>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let mut items = Vec::new();
        let mut start = start;
        let own = usize::try_from(q.limit).unwrap_or(1).max(1);
        let mut budget = own.saturating_mul(MAX_READS_PER_PAGE);
        for _ in 0..MAX_READS_PER_PAGE {
            // A read asks for what the page still needs when that is more than the query's own
            // limit (a campaign's page of 500 is one read, not five), within the same budget of
            // items evaluated.
            let wanted = limit.saturating_sub(items.len()).max(own);
            let up_to = wanted.min(budget).min(MAX_ITEMS_PER_READ);
            if up_to == 0 {
                break;
            }
            let page = self
                .query_up_to(q, start.take(), i32::try_from(up_to).unwrap_or(q.limit))
                .await?;
            budget = budget.saturating_sub(page.scanned.max(1));
            for item in page.items {
                if items.len() == limit {
                    return Ok(Page {
                        next_after: sort_key(items.last()),
                        items,
                    });
                }
                items.push(item);
            }
            match page.last_key {
                Some(k) if items.len() < limit => start = Some(k),
                Some(_) => {
                    return Ok(Page {
                        next_after: sort_key(items.last()),
                        items,
                    });
                }
                None => {
                    return Ok(Page {
                        items,
                        next_after: None,
                    });
                }
            }
        }
        let next_after = start
            .as_ref()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok(Page { items, next_after })
    }
}

fn sort_key(item: Option<&Item>) -> Option<String> {
    item.and_then(|i| i.get("sk"))
        .and_then(|v| v.as_s().ok())
        .cloned()
}

/// Builders of transaction items on this table.
impl Store {
    pub(crate) fn tx_put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A put with no condition (its transaction's other items carry them).
    pub(crate) fn tx_put_any(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A delete with no condition (its transaction's other items carry them).
    pub(crate) fn tx_delete_any(
        &self,
        pk: String,
        sk: String,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(crate) fn tx_delete(
        &self,
        pk: String,
        sk: String,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(crate) fn tx_check(
        &self,
        pk: String,
        sk: String,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_check_values(pk, sk, condition, None)
    }

    /// [`Store::tx_check`] with `:value` placeholders.
    pub(crate) fn tx_check_values(
        &self,
        pk: String,
        sk: String,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub(crate) fn tx_update(
        &self,
        pk: String,
        sk: String,
        update: &str,
        condition: &str,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_update_named(pk, sk, update, Some(condition), HashMap::new(), values)
    }

    /// [`Store::tx_update`] with `#name` placeholders, and an optional condition.
    pub(crate) fn tx_update_named(
        &self,
        pk: String,
        sk: String,
        update: &str,
        condition: Option<&str>,
        names: HashMap<String, String>,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
