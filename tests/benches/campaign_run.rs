//! Campaign benchmark against the local emulators (`make bench`, or under `make up`'s
//! environment: `cargo bench -p tidings-tests --bench campaign_run`).
//!
//! For `BENCH_RECIPIENTS` patients (default 10,000) it measures, in one process and one run:
//! - a bare loop of SNS `Publish` calls to moto at the campaign's concurrency: messages/s;
//! - one campaign run through the campaign function's code (`campaign_runner::fire`) to the
//!   same patients: messages/s, and the ratio to the bare loop;
//! - DynamoDB capacity of the run from `ReturnConsumedCapacity` on DynamoDB Local (an SDK
//!   interceptor asks for it on every call and adds it up): write and read units per message;
//! - the process's resident memory before and at its peak during the run (sampled every
//!   10 ms from /proc/self/status), to show it does not grow with the audience.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::config::ConfigBag;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tidings_app::App;
use tidings_app::delivery::Sms;
use tidings_app::services::campaign_runner::{FireEvent, FireOutcome, Limits, fire};
use tidings_domain::patient::PatientInput;

/// Capacity units added up, in thousandths.
#[derive(Debug, Default)]
struct Meter {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// Units per operation, for the breakdown.
    by_op: std::sync::Mutex<std::collections::BTreeMap<&'static str, (u64, f64)>>,
}

impl Meter {
    fn breakdown(&self) -> serde_json::Value {
        let by = std::mem::take(&mut *self.by_op.lock().unwrap());
        by.into_iter()
            .map(|(op, (calls, units))| (op.to_owned(), json!({"calls": calls, "units": units})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn take(&self) -> (f64, f64) {
        (
            self.read_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
            self.write_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
        )
    }
}

fn add(a: &AtomicU64, units: f64) {
    a.fetch_add((units * 1000.0).round() as u64, Ordering::SeqCst);
}

/// Asks for `TOTAL` consumed capacity on every call and adds up what comes back; reads and
/// writes are told apart by the operation.
#[derive(Debug, Clone)]
struct CapacityInterceptor(Arc<Meter>);

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
        let total = Some(ReturnConsumedCapacity::Total);
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
        } else {
            return Ok(());
        };
        add(if read { &m.read_milli } else { &m.write_milli }, units);
        let mut by = m.by_op.lock().unwrap();
        let e = by.entry(op).or_default();
        e.0 += 1;
        e.1 += units;
        Ok(())
    }
}

/// The process's resident memory now and its peak so far, in MiB.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    // No pacing: the bench measures what the code and the emulators can do.
    let base = tidings_tests::app().await;
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = 1_000_000;
    config.campaigns.concurrency = concurrency;
    let meter = Arc::new(Meter::default());
    let aws = aws_config::load_from_env().await;
    let ddb_conf = aws_sdk_dynamodb::config::Builder::from(&aws)
        .interceptor(CapacityInterceptor(meter.clone()))
        .build();
    let app = App {
        store: tidings_app::store::Store::new(
            aws_sdk_dynamodb::Client::from_conf(ddb_conf),
            config.table_name.clone(),
        ),
        config,
        ..base
    };
    let c = tidings_tests::new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, (n as i64) * 2).await;

    eprintln!("seeding {n} patients");
    let t = Instant::now();
    let clinic_id = c.id.clone();
    futures::stream::iter(0..n)
        .map(|i| {
            let (app, clinic_id) = (&app, &clinic_id);
            async move {
                let input = PatientInput {
                    first_name: Some(format!("P{i}")),
                    last_name: Some("Bench".into()),
                    mobile: Some(format!("+614{:08}", 20_000_000 + i)),
                    ..Default::default()
                };
                tidings_app::services::patients::create(&app.store, clinic_id, input)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    let key = &c.staff_key;
    let report = tidings_tests::call(
        &app,
        key,
        "POST",
        "/reports",
        Some(json!({"name": "All", "type": "patient"})),
    )
    .await
    .id();
    let template = tidings_tests::call(&app, key, "POST", "/templates", Some(json!({"name": "B", "channel": "sms",
        "category": "recall", "body": "Hi {{ first_name }}, time for a check-up at {{ clinic_name }}."}))).await.id();
    let campaign = tidings_tests::call(&app, key, "POST", "/campaigns", Some(json!({"name": "Bench", "report_id": report,
        "channels": {"sms": template}, "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}))).await;
    assert_eq!(campaign.status, 201, "{}", campaign.json);

    // The bare loop: the same number of Publish calls, same client, same concurrency.
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let app = &app;
            async move {
                let to = format!("+614{:08}", 60_000_000 + i);
                app.delivery
                    .send_sms(&Sms {
                        to: &to,
                        text: "Hi P1, time for a check-up at Harbour Dental.",
                        sender_id: "HarbourDent",
                        transactional: false,
                    })
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let bare = t.elapsed().as_secs_f64();

    meter.take();
    meter.breakdown();
    let before = rss_mib("VmRSS:");
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let now = (rss_mib("VmRSS:") * 1024.0) as u64;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let ev = FireEvent {
        clinic_id: c.id.clone(),
        campaign_id: campaign.id(),
        scheduled_time: "2026-12-01T09:00:00Z".into(),
    };
    let limits = Limits {
        stop_at: tokio::time::Instant::now() + Duration::from_secs(3600),
        lease: chrono::Duration::minutes(5),
    };
    let t = Instant::now();
    let out = fire(&app, &ev, &limits).await.unwrap();
    let run = t.elapsed().as_secs_f64();
    sampler.abort();
    let (reads, writes) = meter.take();
    let FireOutcome::Finished { counts, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(counts.sent as usize, n, "{counts:?}");
    let peak_mib = peak.load(Ordering::SeqCst) as f64 / 1024.0;
    let result = json!({
        "recipients": n,
        "concurrency": concurrency,
        "bare_publish_per_s": (n as f64 / bare).round(),
        "campaign_per_s": (n as f64 / run).round(),
        "ratio": ((bare / run) * 1000.0).round() / 1000.0,
        "wcu_per_message": (writes / n as f64 * 1000.0).round() / 1000.0,
        "rcu_per_message": (reads / n as f64 * 1000.0).round() / 1000.0,
        "rss_before_run_mib": before.round(),
        "rss_peak_during_run_mib": peak_mib.round(),
        "rss_growth_mib": (peak_mib - before).round(),
        "capacity_by_operation": meter.breakdown(),
    });
    println!("{result}");
}
