//! The sweeps fan out (issue 26, point 1): the schedule's function puts one message per clinic
//! on the sweep queue, and `sweep-clinic` (moto's SQS, polled by the local stack's queue bridge
//! as Lambda's event source would, through `cargo lambda watch`) sweeps each clinic. A clinic
//! whose sweep fails is retried alone and ends in the failed-events queue; the others go on.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tidings_app::App;
use tidings_app::queue::Queue;
use tidings_app::queue::{SqsEvent, SqsRecord};
use tidings_app::sweep_function::{ClinicSweep, Sweep, dispatch, handle_queue};
use tidings_tests::{
    TestClinic, app, broken_clinic, call, grant, list_all, moto_sent, new_clinic, unique_mobile,
};

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config::load_from_env().await)
}

/// A clinic with a reminder due 24 hours before `appointment` for a new patient; the
/// patient's mobile.
async fn clinic_with_a_reminder_due(app: &App, appointment: &str) -> (TestClinic, String) {
    let (c, mut mobiles) = clinic_with_reminders_due(app, appointment, 1).await;
    (c, mobiles.remove(0))
}

/// A clinic with `n` reminders due 24 hours before `appointment`, one for each of `n` new
/// patients; their mobiles.
async fn clinic_with_reminders_due(
    app: &App,
    appointment: &str,
    n: usize,
) -> (TestClinic, Vec<String>) {
    let c = new_clinic(app).await;
    grant(app, &c.id, 10 + n as i64).await;
    let r = call(
        app,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(json!({"channels": {"sms": {"body": "See you tomorrow"}},
                    "rules": [{"kind": "hours_before", "hours": 24}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let end = (appointment.parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(30))
        .to_rfc3339();
    let mut mobiles = Vec::new();
    for _ in 0..n {
        let mobile = unique_mobile();
        let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile});
        let p = call(app, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_eq!(p.status, 201, "{}", p.json);
        let body = json!({"patient_id": p.id(), "start": appointment, "end": end});
        let a = call(app, &c.staff_key, "POST", "/appointments", Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.json);
        mobiles.push(mobile);
    }
    (c, mobiles)
}

/// The messages of the failed-events queue whose body names `clinic_id`, read without
/// hiding them from anyone else.
async fn failed_events_naming(clinic_id: &str) -> Vec<Value> {
    let sqs = sqs().await;
    let url = sqs
        .get_queue_url()
        .queue_name("tidings-local-failed-events")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let mut found = Vec::new();
    for _ in 0..5 {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let body = m.body().unwrap_or_default();
            if body.contains(clinic_id) {
                found.push(serde_json::from_str(body).unwrap_or(Value::Null));
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}

#[tokio::test]
async fn a_clinic_whose_sweep_fails_is_retried_alone_and_lands_in_the_failed_events_queue() {
    let app = app().await;
    let broken = broken_clinic(&app).await;
    let (good, mobile) = clinic_with_a_reminder_due(&app, "2032-03-11T00:00:00Z").await;
    let at: DateTime<Utc> = "2032-03-10T00:10:00Z".parse().unwrap();
    // As reminder-sweep queues them: the failing clinic first, in the same batch.
    let units = [&broken.id, &good.id].map(|id| ClinicSweep {
        sweep: Sweep::Reminders,
        clinic_id: id.clone(),
        at,
    });
    app.sweep_queue.enqueue(&units).await.unwrap();

    // The good clinic's reminder goes at once, whatever the other clinic's sweep does.
    let started = std::time::Instant::now();
    while moto_sent().await.sms_to(&mobile).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the good clinic's reminder never went"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The broken clinic's message is retried (every 2 s locally) and after five receives
    // waits in the failed-events queue, naming the clinic and the sweep.
    let mut dead = Vec::new();
    while dead.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the broken clinic's sweep never reached the failed-events queue"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        dead = failed_events_naming(&broken.id).await;
    }
    assert_eq!(dead[0]["sweep"], "reminders", "{dead:?}");
    assert_eq!(dead[0]["at"], "2032-03-10T00:10:00Z", "{dead:?}");
    // Its retries sent the good clinic's reminder no second time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(moto_sent().await.sms_to(&mobile).len(), 1);
    assert!(failed_events_naming(&good.id).await.is_empty());
}

/// reminder-sweep and greeting-sweep queue one message per clinic (a clinic whose settings no
/// longer parse among them) and sweep nothing themselves.
#[tokio::test]
async fn the_schedules_functions_queue_one_sweep_per_clinic() {
    let base = app().await;
    let broken = broken_clinic(&base).await;
    let (good, mobile) = clinic_with_a_reminder_due(&base, "2032-04-11T00:00:00Z").await;
    // A queue of this test's own, so the bridge does not take the messages first.
    let sqs = sqs().await;
    let name = format!("sweeps-test-{}", uuid::Uuid::new_v4().simple());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let app = App {
        sweep_queue: Queue::new(sqs.clone(), Some(url.clone()), "SWEEP_QUEUE_URL"),
        ..base.clone()
    };
    let at: DateTime<Utc> = "2032-04-10T00:10:00Z".parse().unwrap();
    for (sweep, function) in [
        (Sweep::Reminders, "reminder-sweep"),
        (Sweep::Greetings, "greeting-sweep"),
    ] {
        let out = tidings_app::aws_calls::as_function(function, dispatch(&app, sweep, at))
            .await
            .unwrap();
        let queued = usize::try_from(out["clinics_queued"].as_u64().unwrap()).unwrap();
        assert!(queued >= 2, "{out}");
        let mut per_clinic: HashMap<String, usize> = HashMap::new();
        let mut read = 0;
        while read < queued {
            let got = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            assert!(!got.messages().is_empty(), "{read} of {queued} messages");
            for m in got.messages() {
                let unit: ClinicSweep = serde_json::from_str(m.body().unwrap()).unwrap();
                assert_eq!((unit.sweep, unit.at), (sweep, at));
                *per_clinic.entry(unit.clinic_id).or_default() += 1;
                read += 1;
                sqs.delete_message()
                    .queue_url(&url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        assert_eq!(per_clinic.get(&broken.id), Some(&1));
        assert_eq!(per_clinic.get(&good.id), Some(&1));
        assert!(per_clinic.values().all(|n| *n == 1));
    }
    // The functions swept nothing themselves.
    assert!(moto_sent().await.sms_to(&mobile).is_empty());
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
}

/// Without the sweep queue the sweep functions stop at cold start, not at the first firing.
#[tokio::test]
async fn the_sweep_functions_stop_at_cold_start_without_their_queue() {
    use tidings_tests::lambda_process::LambdaProcess;
    for function in ["reminder-sweep", "greeting-sweep", "sweep-clinic"] {
        let env = [("SWEEP_QUEUE_URL", String::new())];
        let mut p = LambdaProcess::start(function, &json!({}), &env).await;
        let status = p.exit(Duration::from_secs(20)).await;
        assert!(
            status.is_some_and(|s| !s.success()),
            "{function}: {status:?}"
        );
    }
}

/// A `sweep-clinic` copy whose time runs out before every reminder's turn in the account's rate
/// sends what fits, leaves the rest unclaimed and queues the clinic again; the continuation (the
/// real function, through the local queue bridge) sends the rest. Each reminder goes once and
/// is recorded sent: none lost, none failed, and the clinic never counts towards the
/// failed-events queue.
#[tokio::test]
async fn a_clinic_whose_time_runs_out_is_continued_and_each_reminder_goes_once() {
    const REMINDERS: usize = 30;
    let base = app().await;
    let (c, mobiles) = clinic_with_reminders_due(&base, "2032-05-11T00:00:00Z", REMINDERS).await;
    // This copy sends 10 SMS a second and has a second and a half: about 15 of the 30.
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = 10;
    let app = App { config, ..base };
    let unit = ClinicSweep {
        sweep: Sweep::Reminders,
        clinic_id: c.id.clone(),
        at: "2032-05-10T00:10:00Z".parse().unwrap(),
    };
    let records = vec![SqsRecord {
        message_id: "first-delivery".into(),
        receipt_handle: "unused".into(),
        body: serde_json::to_string(&unit).unwrap(),
    }];
    let stop_at = tokio::time::Instant::now() + Duration::from_millis(1500);
    let out = handle_queue(&app, SqsEvent { records }, stop_at).await;
    assert!(out.batch_item_failures.is_empty(), "{out:?}");
    let sent = |moto: &tidings_tests::Sent| {
        mobiles
            .iter()
            .map(|m| moto.sms_to(m).len())
            .collect::<Vec<_>>()
    };
    let first = sent(&moto_sent().await).iter().sum::<usize>();
    assert!(
        first > 0 && first < REMINDERS,
        "{first} of {REMINDERS} sent before the time ran out"
    );

    let started = std::time::Instant::now();
    loop {
        let counts = sent(&moto_sent().await);
        assert!(
            counts.iter().all(|n| *n <= 1),
            "a reminder went twice: {counts:?}"
        );
        if counts.iter().all(|n| *n == 1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the continuation never sent the rest: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sent(&moto_sent().await).iter().all(|n| *n == 1));
    let (messages, _) = list_all(&app, &c.staff_key, "/messages?limit=100").await;
    let statuses: Vec<&str> = messages
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), REMINDERS, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == "sent" || *s == "delivered"),
        "{statuses:?}"
    );
    let credits = call(&app, &c.staff_key, "GET", "/credits", None).await;
    assert_eq!(
        credits.json["accounts"][0]["balance"], 10,
        "{}",
        credits.json
    );
    // The statistics count what the reminders cost, net of what each copy's batch reserved
    // and gave back for the reminders it left to the continuation.
    let path = "/credits/stats?from=2032-05-10&to=2032-05-10";
    let stats = tidings_tests::stats::when(&app, &c.staff_key, path, |s| {
        s["totals"]["reminder"] == REMINDERS
    })
    .await;
    assert_eq!(
        stats.json["totals"]["reminder"], REMINDERS,
        "{}",
        stats.json
    );
    assert!(failed_events_naming(&c.id).await.is_empty());
}
