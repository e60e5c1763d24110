//! Statistics read day counters that `count-stats` keeps from the table's stream (issue 26,
//! point 2): they add up to the messages and the ledger, and a batch the stream hands over
//! again, even one whose function was killed half way, is counted once.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tidings_tests::campaigns::{day_ahead_campaign, event, limits, patient, report};
use tidings_tests::lambda_process::{Answer, LambdaProcess};
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::stats::{total, when};
use tidings_tests::{app, call, grant, list_all, new_clinic, unique_email, unique_mobile};

/// Per (date, category): messages, failed, skipped, segments, credits, counted from the
/// message records the API lists (the statistics' own rules, written out again).
fn expected_message_stats(messages: &[Value], tz: chrono_tz::Tz) -> Value {
    let mut days: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    for m in messages {
        let at: DateTime<Utc> = m["created_at"].as_str().unwrap().parse().unwrap();
        let date = at.with_timezone(&tz).date_naive().to_string();
        let day = days
            .entry((date, m["category"].as_str().unwrap().to_owned()))
            .or_default();
        let credits = m["credits"].as_u64().unwrap_or(0);
        match m["status"].as_str().unwrap() {
            "queued" | "sent" | "delivered" | "unconfirmed" => {
                day[0] += 1;
                day[3] += m["segments"].as_u64().unwrap_or(0);
                day[4] += credits;
            }
            // Refused outright here (never handed over), so refunded.
            "failed" => day[1] += 1,
            "skipped" | "held" | "not_sent" => day[2] += 1,
            other => panic!("no rule for {other}"),
        }
    }
    days.into_iter()
        .map(
            |((date, category), [messages, failed, skipped, segments, credits])| {
                json!({"date": date, "category": category, "messages": messages, "failed": failed,
                   "skipped": skipped, "segments": segments, "credits": credits})
            },
        )
        .collect()
}

#[tokio::test]
async fn statistics_add_up_to_the_messages_and_the_ledger() {
    // The provider refuses one number outright: that message fails and its credits come back.
    let refused = unique_mobile();
    let (app, _proxy) = tidings_tests::app_refusing(&refused).await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 40).await;
    let ann = patient(&app, key, &unique_mobile()).await;
    let bob = patient(&app, key, &unique_mobile()).await;
    let rex = patient(&app, key, &refused).await;
    let r = call(
        &app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Eve", "last_name": "Ng", "email": unique_email("eve")})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let eve = r.id();
    // Sent, refused, and skipped (Eve has no mobile); two segments; an email; a campaign.
    for body in [
        json!({"patient_ids": [ann, bob, rex, eve], "channel": "sms", "body": "See you soon"}),
        json!({"patient_ids": [ann], "channel": "sms", "body": format!("{}🙂", "x".repeat(100))}),
        json!({"patient_ids": [eve], "channel": "email", "subject": "Hi", "body": "See you"}),
    ] {
        let r = call(&app, key, "POST", "/messages", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let all = report(&app, key, json!({"name": "All", "type": "patient"})).await;
    let campaign = day_ahead_campaign(&app, &c, &all, None).await;
    tidings_app::services::campaign_run::fire(
        &app,
        &event(&c, campaign["id"].as_str().unwrap(), "2027-03-01T09:00:00Z"),
        &limits(300),
    )
    .await
    .unwrap();

    let (messages, _) = list_all(&app, key, "/messages?limit=50").await;
    let statuses: Vec<&str> = messages
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    for s in ["sent", "failed", "skipped"] {
        assert!(statuses.contains(&s), "{statuses:?}");
    }
    let tz: chrono_tz::Tz = "Australia/Sydney".parse().unwrap();
    let expected = expected_message_stats(&messages, tz);
    let stats = when(&app, key, "/messages/stats", |s| s["days"] == expected).await;
    assert_eq!(stats.json["days"], expected, "messages: {messages:?}");

    // Credits: the ledger's debits and refunds per notification type.
    let (ledger, _) = list_all(&app, key, "/credits/ledger?limit=50").await;
    let mut spent: BTreeMap<String, i64> = BTreeMap::new();
    for e in &ledger {
        if matches!(e["kind"].as_str(), Some("debit" | "refund")) {
            *spent
                .entry(e["spent_on"].as_str().unwrap().to_owned())
                .or_default() -= e["credits"].as_i64().unwrap();
        }
    }
    assert!(
        ledger.iter().any(|e| e["kind"] == "refund"),
        "the refused message is refunded: {ledger:?}"
    );
    let grand: i64 = spent.values().sum();
    let credits = when(&app, key, "/credits/stats", |s| {
        s["totals"]["total"] == grand
    })
    .await;
    for on in ["reminder", "campaign", "greeting", "one_off", "reply"] {
        assert_eq!(
            credits.json["totals"][on].as_i64(),
            Some(spent.get(on).copied().unwrap_or(0)),
            "{on}: {} against the ledger {ledger:?}",
            credits.json
        );
    }
    // The messages' credits, after refunds, are what the ledger spent.
    assert_eq!(total(&stats.json, "credits") as i64, grand);
}

/// A ledger debit of one credit on a reminder, made on `day` (noon UTC), as the stream
/// carries a new ledger entry.
fn debit_record(clinic_id: &str, sequence: &str, day: DateTime<Utc>) -> Value {
    let id = uuid::Uuid::now_v7().to_string();
    json!({
        "eventID": sequence,
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": day.timestamp(),
            "Keys": {"pk": {"S": format!("CLINIC#{clinic_id}")}, "sk": {"S": format!("LEDGER#group#{id}")}},
            "NewImage": {
                "pk": {"S": format!("CLINIC#{clinic_id}")},
                "sk": {"S": format!("LEDGER#group#{id}")},
                "id": {"S": id}, "account": {"S": "group"}, "kind": {"S": "debit"},
                "credits": {"N": "-1"}, "created_at": {"S": day.to_rfc3339()},
                "spent_on": {"S": "reminder"},
            },
            "SequenceNumber": sequence,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    })
}

/// Reminder credits in the clinic's statistics over the last 366 days.
async fn reminders_spent(app: &tidings_app::App, key: &str) -> i64 {
    let today = Utc::now().date_naive();
    let from = today - Duration::days(365);
    let r = call(
        app,
        key,
        "GET",
        &format!("/credits/stats?from={from}&to={today}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["totals"]["reminder"].as_i64().unwrap()
}

/// A batch of 150 changes, each on a different day, is added in two parts (a transaction
/// holds 100 items). The first function process is killed after the first part committed,
/// while its second is on the way; Lambda then hands the same batch over again. Each change
/// is counted once, and a later, longer delivery from the same record adds only what is new.
#[tokio::test]
async fn a_batch_handed_over_again_after_a_kill_is_counted_once() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let now = Utc::now();
    let noon = |days_ago: i64| {
        (now - Duration::days(days_ago))
            .date_naive()
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc()
    };
    let records: Vec<Value> = (0..151)
        .map(|i| debit_record(&c.id, &format!("{run}{i:05}"), noon(i + 2)))
        .collect();
    let batch = json!({"Records": records[..150]});

    // DynamoDB behind a proxy that lets the first transaction through and holds the second.
    let ddb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let proxy = ProviderProxy::start(ddb, |who, attempt| {
        if who == "TransactWriteItems" && attempt >= 1 {
            Fault::Hang
        } else {
            Fault::Pass
        }
    })
    .await;
    let mut first = LambdaProcess::start(
        "count-stats",
        &batch,
        &[("AWS_ENDPOINT_URL_DYNAMODB", proxy.url.clone())],
    )
    .await;
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while proxy
        .calls()
        .iter()
        .filter(|c| c.recipient == "TransactWriteItems")
        .count()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < until,
            "the second part never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    first.kill();
    assert_eq!(
        reminders_spent(&app, &c.staff_key).await,
        99,
        "the first part (99 days) was added before the kill"
    );

    // Lambda hands the batch over again: the first part is skipped, the second added.
    let mut again = LambdaProcess::start("count-stats", &batch, &[]).await;
    let answer = again.answer(std::time::Duration::from_secs(30)).await;
    assert!(matches!(answer, Some(Answer::Response(_))), "{answer:?}");
    assert_eq!(reminders_spent(&app, &c.staff_key).await, 150);

    // Once more, and then with one record more: only the new one is added.
    let mut third = LambdaProcess::start("count-stats", &batch, &[]).await;
    assert!(matches!(
        third.answer(std::time::Duration::from_secs(30)).await,
        Some(Answer::Response(_))
    ));
    assert_eq!(reminders_spent(&app, &c.staff_key).await, 150);
    let longer = json!({"Records": records});
    let mut fourth = LambdaProcess::start("count-stats", &longer, &[]).await;
    assert!(matches!(
        fourth.answer(std::time::Duration::from_secs(30)).await,
        Some(Answer::Response(_))
    ));
    assert_eq!(reminders_spent(&app, &c.staff_key).await, 151);

    // Another clinic's statistics show none of it.
    let other = new_clinic(&app).await;
    assert_eq!(reminders_spent(&app, &other.staff_key).await, 0);
}

/// Statistics read one counters item per day of the period at most, whatever the volume.
#[tokio::test]
async fn statistics_read_at_most_one_item_per_day() {
    let base = app().await;
    let c = new_clinic(&base).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let now = Utc::now();
    // 40 days with a debit each: the default period (30 days) reads its days only.
    let records: Vec<Value> = (0..40)
        .map(|i| {
            let day = now - Duration::days(i);
            debit_record(&c.id, &format!("{run}{i:05}"), day)
        })
        .collect();
    let event = serde_json::from_value(json!({"Records": records})).unwrap();
    tidings_app::stats_function::handle_stream(&base, event)
        .await
        .unwrap();
    let (app, meter) = tidings_tests::meter::metered_app(&base).await;
    for path in ["/credits/stats", "/messages/stats"] {
        meter.take();
        let r = call(&app, &c.staff_key, "GET", path, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let (all, counters) = meter.items_read();
        // The period's 30 days (every one has a counter), besides the key and the clinic.
        assert!(
            (30..=31).contains(&counters),
            "{path} read {counters} counters"
        );
        assert!(all <= counters + 2, "{path} read {all} items");
    }
}
