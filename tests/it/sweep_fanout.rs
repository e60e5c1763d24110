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
use tidings_app::sweep_function::{ClinicSweep, Sweep, dispatch};
use tidings_tests::{
    TestClinic, app, broken_clinic, call, grant, moto_sent, new_clinic, unique_mobile,
};

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config::load_from_env().await)
}

/// A clinic with a reminder due at `at` (24 hours before an appointment) for a new patient;
/// the patient's mobile.
async fn clinic_with_a_reminder_due(app: &App, appointment: &str) -> (TestClinic, String) {
    let c = new_clinic(app).await;
    grant(app, &c.id, 10).await;
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
    let mobile = unique_mobile();
    let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile});
    let p = call(app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(p.status, 201, "{}", p.json);
    let end = (appointment.parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(30))
        .to_rfc3339();
    let body = json!({"patient_id": p.id(), "start": appointment, "end": end});
    let a = call(app, &c.staff_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(a.status, 201, "{}", a.json);
    (c, mobile)
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
