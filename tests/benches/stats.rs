//! Statistics benchmark against the local emulators (`BENCH=stats make bench`, or under `make
//! up`'s environment: `cargo bench -p tidings-tests --bench stats`).
//!
//! One clinic with `BENCH_MESSAGES` messages (default 300,000) spread over the last 29 days,
//! and a debit in the ledger for each hundred of them. The messages and entries are written to
//! DynamoDB Local, and the same items are handed, as the table's stream would hand them
//! (INSERT records, batches of 100), to `count-stats`' handler, which keeps the day counters.
//! It then measures `GET /messages/stats` and `GET /credits/stats` over the 30 days: the items
//! the statistics read (`ScannedCount` of their queries; `..._with_key_and_clinic` adds the
//! GetItems of the API key and the clinic every request makes) and the wall time, and checks
//! that the answers add up to what was written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;
use tidings_tests::meter::metered_app;

/// A DynamoDB JSON image as the SDK's item.
fn sdk_item(image: &Value) -> HashMap<String, AttributeValue> {
    image
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = if let Some(s) = v["S"].as_str() {
                AttributeValue::S(s.to_owned())
            } else {
                AttributeValue::N(v["N"].as_str().unwrap().to_owned())
            };
            (k.clone(), v)
        })
        .collect()
}

fn s(v: impl Into<String>) -> Value {
    json!({"S": v.into()})
}

fn n(v: i64) -> Value {
    json!({"N": v.to_string()})
}

#[tokio::main]
async fn main() {
    let total = tidings_tests::env_number("BENCH_MESSAGES", 300_000);
    let base = tidings_tests::app().await;
    let c = tidings_tests::new_clinic(&base).await;
    let pk = format!("CLINIC#{}", c.id);
    let now = Utc::now();
    // Within the default period (the 30 days to today where the clinic is).
    let span_ms = Duration::days(29).num_milliseconds();
    let categories = ["appointment", "recall", "marketing", "general"];
    let statuses = [
        "sent",
        "delivered",
        "delivered",
        "delivered",
        "failed",
        "skipped",
    ];

    // Every image, messages and ledger entries, oldest first.
    let mut images: Vec<Value> = Vec::with_capacity(total + total / 100 + 1);
    let mut expected_messages = 0u64;
    let mut expected_spent = 0i64;
    for i in 0..total {
        let at = now - Duration::milliseconds(span_ms - span_ms * i as i64 / total as i64);
        let id = format!("{:016x}-{i:08}", at.timestamp_millis());
        let status = statuses[i % statuses.len()];
        let paid = status != "skipped" && status != "failed";
        expected_messages += u64::from(paid);
        images.push(json!({
            "pk": s(&pk), "sk": s(format!("MESSAGE#{id}")), "id": s(&id),
            "request_id": s(format!("bench-{}", i / 100)), "channel": s("sms"),
            "category": s(categories[i % categories.len()]), "patient_id": s(format!("p{}", i % 5000)),
            "recipient": s("patient"), "segments": n(1), "credits": n(i64::from(paid)),
            "status": s(status), "created_at": s(at.to_rfc3339()), "updated_at": s(at.to_rfc3339()),
        }));
        if i % 100 == 99 {
            let eid = format!("{:016x}-{i:08}", at.timestamp_millis());
            expected_spent += 100;
            images.push(json!({
                "pk": s(&pk), "sk": s(format!("LEDGER#group#{eid}")), "id": s(&eid),
                "account": s("group"), "kind": s("debit"), "credits": n(-100),
                "created_at": s(at.to_rfc3339()), "spent_on": s("campaign"),
            }));
        }
    }

    eprintln!("writing {} items", images.len());
    let seeding = Instant::now();
    let client = base.store.client().clone();
    let table = base.store.table().to_owned();
    futures::stream::iter(images.chunks(25))
        .map(|chunk| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                let mut writes: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|i| {
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(sdk_item(i)))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                    })
                    .collect();
                while !writes.is_empty() {
                    let out = client
                        .batch_write_item()
                        .request_items(&table, writes)
                        .send()
                        .await
                        .unwrap();
                    writes = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&table))
                        .unwrap_or_default();
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let seed_s = seeding.elapsed().as_secs_f64();

    eprintln!("counting them as the stream hands them over");
    let counting = Instant::now();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let batches: Vec<Value> = images
        .chunks(100)
        .enumerate()
        .map(|(b, chunk)| {
            let records: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, image)| {
                    let seq = format!("{run}{b:07}{i:03}");
                    json!({"eventID": seq, "eventName": "INSERT", "dynamodb": {
                        "Keys": {"pk": image["pk"], "sk": image["sk"]},
                        "NewImage": image, "SequenceNumber": seq,
                        "StreamViewType": "NEW_AND_OLD_IMAGES"}})
                })
                .collect();
            json!({"Records": records})
        })
        .collect();
    drop(images);
    // One batch at a time per shard; DynamoDB's stream of a table this size has a few shards.
    futures::stream::iter(batches)
        .map(|b| {
            let base = &base;
            async move {
                let event = serde_json::from_value(b).unwrap();
                tidings_app::stats_function::handle_stream(base, event)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
    let count_s = counting.elapsed().as_secs_f64();

    let (app, meter) = metered_app(&base).await;
    let mut measured = HashMap::new();
    for path in ["/messages/stats", "/credits/stats"] {
        meter.take();
        meter.items_read();
        let start = Instant::now();
        let r = tidings_tests::call(&app, &c.staff_key, "GET", path, None).await;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(r.status, 200, "{}", r.json);
        measured.insert(path, (meter.items_read(), ms, r.json));
    }
    let ((m_all, m_items), m_ms, m_json) = &measured["/messages/stats"];
    let ((c_all, c_items), c_ms, c_json) = &measured["/credits/stats"];
    let counted = tidings_tests::stats::total(m_json, "messages");
    let spent = c_json["totals"]["campaign"].as_i64().unwrap_or(0);
    println!(
        "{}",
        json!({
            "bench": "stats",
            "messages": total,
            "ledger_entries": total / 100,
            "messages_items_read": m_items,
            "credits_items_read": c_items,
            "messages_items_read_with_key_and_clinic": m_all,
            "credits_items_read_with_key_and_clinic": c_all,
            "messages_ms": (m_ms * 10.0).round() / 10.0,
            "credits_ms": (c_ms * 10.0).round() / 10.0,
            "days_answered": m_json["days"].as_array().map_or(0, Vec::len),
            "messages_counted": counted,
            "messages_expected": expected_messages,
            "credits_spent_counted": spent,
            "credits_spent_expected": expected_spent,
            "seed_s": (seed_s * 10.0).round() / 10.0,
            "count_s": (count_s * 10.0).round() / 10.0,
        })
    );
    assert_eq!(
        counted, expected_messages,
        "the counters add up to the messages"
    );
    assert_eq!(spent, expected_spent, "the counters add up to the ledger");
}
