//! DynamoDB capacity and memory measurement for the benchmarks and the tests that count reads:
//! an SDK interceptor asks DynamoDB Local for `ReturnConsumedCapacity = INDEXES` on every call
//! and adds up the units, in all, per operation, and per table or index written.

use aws_sdk_dynamodb::config::ConfigBag;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A store whose every DynamoDB call is metered into `meter`.
pub async fn metered_store(table: &str, meter: Arc<Meter>) -> tidings_app::store::Store {
    let aws = aws_config::load_from_env().await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws)
        .interceptor(CapacityInterceptor(meter))
        .build();
    tidings_app::store::Store::new(aws_sdk_dynamodb::Client::from_conf(conf), table)
}

/// `base` with its store metered, and the meter.
pub async fn metered_app(base: &tidings_app::App) -> (tidings_app::App, Arc<Meter>) {
    let meter = Arc::new(Meter::default());
    let app = tidings_app::App {
        store: metered_store(base.store.table(), meter.clone()).await,
        ..base.clone()
    };
    (app, meter)
}

/// Capacity units added up, in thousandths.
#[derive(Debug, Default)]
pub struct Meter {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// Items read: one per GetItem that found one, a query's scanned items.
    items_read: AtomicU64,
    /// Of those, the queries' scanned items.
    query_items_read: AtomicU64,
    /// Units per operation, for the breakdown.
    by_op: std::sync::Mutex<std::collections::BTreeMap<&'static str, (u64, f64)>>,
    /// Write units per table or index (`table`, `gsi1`...), for the breakdown.
    writes_by_target: std::sync::Mutex<std::collections::BTreeMap<String, f64>>,
}

impl Meter {
    pub fn breakdown(&self) -> serde_json::Value {
        let by = std::mem::take(&mut *self.by_op.lock().unwrap());
        by.into_iter()
            .map(|(op, (calls, units))| (op.to_owned(), json!({"calls": calls, "units": units})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// Write units per table or index, divided by `per`.
    pub fn writes_by_target(&self, per: f64) -> serde_json::Value {
        let by = std::mem::take(&mut *self.writes_by_target.lock().unwrap());
        by.into_iter()
            .map(|(t, units)| (t, json!((units / per * 1000.0).round() / 1000.0)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// Items read since the last call, in all and by queries: (all, queries).
    pub fn items_read(&self) -> (u64, u64) {
        (
            self.items_read.swap(0, Ordering::SeqCst),
            self.query_items_read.swap(0, Ordering::SeqCst),
        )
    }

    pub fn take(&self) -> (f64, f64) {
        (
            self.read_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
            self.write_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
        )
    }
}

fn add(a: &AtomicU64, units: f64) {
    a.fetch_add((units * 1000.0).round() as u64, Ordering::SeqCst);
}

/// Asks for `INDEXES` consumed capacity on every call and adds up what comes back; reads and
/// writes are told apart by the operation.
#[derive(Debug, Clone)]
pub struct CapacityInterceptor(Arc<Meter>);

impl Intercept for CapacityInterceptor {
    fn name(&self) -> &'static str {
        "capacity"
    }

    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let total = Some(ReturnConsumedCapacity::Indexes);
        let input = ctx.input_mut();
        if let Some(i) = input.downcast_mut::<GetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<QueryInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
            i.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Ok(out) = ctx.output_or_error() else {
            return Ok(());
        };
        let m = &self.0;
        let one = |c: Option<&ConsumedCapacity>| c.cloned().into_iter().collect::<Vec<_>>();
        let units =
            |c: &[ConsumedCapacity]| c.iter().filter_map(|c| c.capacity_units()).sum::<f64>();
        let items = if let Some(o) = out.downcast_ref::<GetItemOutput>() {
            u64::from(o.item().is_some())
        } else if let Some(o) = out.downcast_ref::<QueryOutput>() {
            let n = u64::try_from(o.scanned_count()).unwrap_or(0);
            m.query_items_read.fetch_add(n, Ordering::SeqCst);
            n
        } else {
            0
        };
        m.items_read.fetch_add(items, Ordering::SeqCst);
        let (op, read, units) = if let Some(o) = out.downcast_ref::<GetItemOutput>() {
            ("GetItem", true, units(&one(o.consumed_capacity())))
        } else if let Some(o) = out.downcast_ref::<QueryOutput>() {
            ("Query", true, units(&one(o.consumed_capacity())))
        } else if let Some(o) = out.downcast_ref::<PutItemOutput>() {
            ("PutItem", false, units(&one(o.consumed_capacity())))
        } else if let Some(o) = out.downcast_ref::<UpdateItemOutput>() {
            ("UpdateItem", false, units(&one(o.consumed_capacity())))
        } else if let Some(o) = out.downcast_ref::<DeleteItemOutput>() {
            ("DeleteItem", false, units(&one(o.consumed_capacity())))
        } else if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
            ("TransactWriteItems", false, units(o.consumed_capacity()))
        } else if let Some(o) = out.downcast_ref::<BatchWriteItemOutput>() {
            ("BatchWriteItem", false, units(o.consumed_capacity()))
        } else {
            return Ok(());
        };
        add(if read { &m.read_milli } else { &m.write_milli }, units);
        if !read {
            let caps = if let Some(o) = out.downcast_ref::<PutItemOutput>() {
                one(o.consumed_capacity())
            } else if let Some(o) = out.downcast_ref::<UpdateItemOutput>() {
                one(o.consumed_capacity())
            } else if let Some(o) = out.downcast_ref::<DeleteItemOutput>() {
                one(o.consumed_capacity())
            } else if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
                o.consumed_capacity().to_vec()
            } else if let Some(o) = out.downcast_ref::<BatchWriteItemOutput>() {
                o.consumed_capacity().to_vec()
            } else {
                Vec::new()
            };
            let mut by = m.writes_by_target.lock().unwrap();
            for c in &caps {
                if let Some(u) = c.table().and_then(|t| t.capacity_units()) {
                    *by.entry("table".to_owned()).or_default() += u;
                }
                for (index, cap) in c.global_secondary_indexes().into_iter().flatten() {
                    *by.entry(index.clone()).or_default() += cap.capacity_units().unwrap_or(0.0);
                }
            }
        }
        let mut by = m.by_op.lock().unwrap();
        let e = by.entry(op).or_default();
        e.0 += 1;
        e.1 += units;
        Ok(())
    }
}

/// The process's resident memory now and its peak so far, in MiB.
pub fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
