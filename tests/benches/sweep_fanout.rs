//! The fanned-out reminder sweep against the local emulators (`BENCH=sweep_fanout make bench`).
//!
//! `BENCH_CLINICS` clinics (default 2,000), each with five patients whose reminders are due
//! (24 hours before appointments a day ahead). The schedule's function (`dispatch`) queues one
//! message per clinic on the sweep queue in moto's SQS; `BENCH_WORKERS` copies of `sweep-clinic`
//! (default 20: template.yaml's MaximumConcurrency) take batches of ten from the queue and run
//! the function's own handler (`sweep_function::handle_queue`) as Lambda's SQS event source
//! would. It prints one JSON line: how long until every clinic was swept (`all_sent_within_s`),
//! the delay of the slowest clinic (from the dispatch to the end of the batch that swept it),
//! what moto received (`reminders_sent`, `duplicates`), and what the clinics' records say
//! became of the reminders (`recorded`: `sent`, or `unconfirmed` when the provider's answer
//! did not come back within the call's 5-second timeout, or `failed`). A reminder counts as
//! sent in time only when it is recorded `sent`.
//!
//! The copies pace their sends through the shared schedule at `BENCH_SMS_PER_SECOND` (default
//! 150), standing in for the account's SNS quota: about what moto takes on this machine without
//! answering slower than the SDK's timeout (its bare loop reaches 270 a second with 32 calls at
//! once). At 20 a second, AWS's default quota, 10,000 reminders would take 500 s whatever the
//! code does (docs/operations.md, *Send rates*).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tidings_app::App;
use tidings_app::queue::{SqsEvent, SqsRecord};
use tidings_app::sweep_function::{ClinicSweep, Sweep, dispatch, handle_queue};
use tidings_tests::campaigns::seed_patients;
use tidings_tests::{env_number, grant, moto_sent, new_clinic, unique_mobile};
use tokio::sync::Mutex;

const PER_CLINIC: usize = 5;

/// A clinic with the 24-hours-before rule, credits, and `PER_CLINIC` patients with an
/// appointment whose reminder is due five minutes before `at`; its mobiles.
async fn clinic(app: &App, at: DateTime<Utc>) -> (String, Vec<String>) {
    let c = new_clinic(app).await;
    grant(app, &c.id, 10).await;
    let settings = serde_json::from_value(json!({
        "channels": {"sms": {"body": "See you tomorrow"}},
        "rules": [{"kind": "hours_before", "hours": 24}]}))
    .unwrap();
    tidings_app::services::reminder_settings::put_group(app, &c.id, settings)
        .await
        .unwrap();
    let mobiles: Vec<String> = (0..PER_CLINIC).map(|_| unique_mobile()).collect();
    let start = at + Duration::hours(24) - Duration::minutes(5);
    for id in seed_patients(app, &c.id, &mobiles).await {
        let input = serde_json::from_value(json!({"patient_id": id, "start": start,
                                                  "end": start + Duration::minutes(30)}))
        .unwrap();
        tidings_app::services::appointments::create(app, &c.id, input)
            .await
            .unwrap();
    }
    (c.id, mobiles)
}

/// One copy of `sweep-clinic` under Lambda's SQS event source: receive up to ten, run the
/// handler, delete what it did not name as failed; records when each clinic's batch ended.
async fn worker(
    app: App,
    sqs: aws_sdk_sqs::Client,
    url: String,
    started: Instant,
    done: Arc<Mutex<HashMap<String, f64>>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        // Short polls, a quarter of a second apart while the queue is empty: moto answers a
        // long poll by walking the queue again and again, which takes the CPU that its SNS
        // needs (Lambda's pollers cost SQS, not the functions' providers, nothing).
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages().to_vec();
        if messages.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            continue;
        }
        let records = messages
            .iter()
            .map(|m| SqsRecord {
                message_id: m.message_id().unwrap().to_owned(),
                receipt_handle: m.receipt_handle().unwrap().to_owned(),
                body: m.body().unwrap().to_owned(),
            })
            .collect();
        // The function's 120 s, less the time it keeps for its last send.
        let stop_at = tokio::time::Instant::now() + std::time::Duration::from_secs(95);
        let out = handle_queue(&app, SqsEvent { records }, stop_at).await;
        let failed: HashSet<&str> = out
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let at = started.elapsed().as_secs_f64();
        // As the event source does: the messages not named as failed are deleted, in one call.
        let mut delete = sqs.delete_message_batch().queue_url(&url);
        let mut deleting = 0;
        for (i, m) in messages.iter().enumerate() {
            if failed.contains(m.message_id().unwrap()) {
                continue;
            }
            let unit: ClinicSweep = serde_json::from_str(m.body().unwrap()).unwrap();
            done.lock().await.insert(unit.clinic_id, at);
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
            deleting += 1;
        }
        if deleting > 0 {
            delete.send().await.unwrap();
        }
    }
}

#[tokio::main]
async fn main() {
    let clinics = env_number("BENCH_CLINICS", 2_000);
    let workers = env_number("BENCH_WORKERS", 20);
    let rate = env_number("BENCH_SMS_PER_SECOND", 150);
    let base = tidings_tests::app().await;
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = u32::try_from(rate).unwrap();
    let app = App { config, ..base };
    let at: DateTime<Utc> = "2033-06-01T00:10:00Z".parse().unwrap();

    let seeding = Instant::now();
    let made: Vec<(String, Vec<String>)> = futures::stream::iter(0..clinics)
        .map(|_| clinic(&app, at))
        .buffer_unordered(16)
        .collect()
        .await;
    let seed_s = seeding.elapsed().as_secs_f64();
    let mobiles: HashSet<String> = made.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
    let ours: HashSet<&str> = made.iter().map(|(id, _)| id.as_str()).collect();

    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let url = app.config.sweep_queue_url.clone().expect("SWEEP_QUEUE_URL");
    let done = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // The event source takes messages as soon as the first are queued, as Lambda's does.
    let dispatched = async {
        let out = tidings_app::aws_calls::as_function(
            "reminder-sweep",
            dispatch(&app, Sweep::Reminders, at),
        )
        .await
        .unwrap();
        (out, started.elapsed().as_secs_f64())
    };
    // The copies run side by side in this task (their work is waiting on the emulators).
    let copies = futures::future::join_all((0..workers).map(|_| {
        worker(
            app.clone(),
            sqs.clone(),
            url.clone(),
            started,
            done.clone(),
            stop.clone(),
        )
    }));
    // Until every clinic of the benchmark has been swept (or ten minutes).
    let watch = async {
        loop {
            let swept = done
                .lock()
                .await
                .keys()
                .filter(|k| ours.contains(k.as_str()))
                .count();
            if swept == clinics || started.elapsed().as_secs() > 600 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let all = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        all
    };
    let (_, all_swept_s, (out, dispatch_s)) = tokio::join!(copies, watch, dispatched);
    // What the clinics' records say became of each reminder: sent, or unconfirmed (the
    // provider's answer did not come back within the call's timeout), or failed.
    let outcomes: HashMap<String, usize> = futures::stream::iter(ours.iter())
        .map(|clinic_id| {
            let app = &app;
            async move {
                let range = ("MESSAGE#".to_owned(), "MESSAGE#~".to_owned());
                let (messages, _) = app
                    .store
                    .list_messages(clinic_id, range, None, None, 50)
                    .await
                    .unwrap();
                messages
                    .into_iter()
                    .map(|m| {
                        serde_json::to_value(m.status)
                            .unwrap()
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect::<Vec<_>>()
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .fold(HashMap::new(), |mut acc, s| {
            *acc.entry(s).or_default() += 1;
            acc
        });
    let sent = moto_sent().await;
    let reminders_sent: usize = mobiles.iter().map(|m| sent.sms_to(m).len()).sum();
    let duplicates = mobiles.iter().filter(|m| sent.sms_to(m).len() > 1).count();
    let delays: Vec<f64> = {
        let d = done.lock().await;
        let mut v: Vec<f64> = ours.iter().filter_map(|c| d.get(*c).copied()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let pct = |p: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let r = |x: f64| (x * 10.0).round() / 10.0;
    println!(
        "{}",
        json!({
            "bench": "sweep_fanout",
            "clinics": clinics,
            "reminders_per_clinic": PER_CLINIC,
            "workers": workers,
            "sms_per_second": rate,
            "clinics_queued": out["clinics_queued"],
            "clinics_swept": delays.len(),
            "reminders_sent": reminders_sent,
            "recorded": outcomes,
            "duplicates": duplicates,
            "dispatch_s": r(dispatch_s),
            "all_sent_within_s": r(all_swept_s),
            "slowest_clinic_delay_s": r(pct(1.0)),
            "median_clinic_delay_s": r(pct(0.5)),
            "seed_s": r(seed_s),
        })
    );
}
