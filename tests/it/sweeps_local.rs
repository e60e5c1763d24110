//! The recurring sweeps on the local stack: template.yaml's schedules are in moto, and the
//! scheduler bridge fires the reminder function through `cargo lambda watch` at its time.

use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use chrono::{Duration, DurationRound, Utc};
use serde_json::json;
use std::time::Duration as StdDuration;
use tidings_tests::{app, call, grant, moto_sent, new_clinic, unique_mobile};

const GROUP: &str = "tidings-local";

async fn scheduler() -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(&aws_config::load_from_env().await)
}

#[tokio::test]
async fn the_templates_recurring_schedules_are_in_the_local_scheduler() {
    let s = scheduler().await;
    for (name, function, rate) in [
        (
            "tidings-local-reminder-sweep",
            "reminder-sweep",
            "rate(5 minutes)",
        ),
        (
            "tidings-local-greeting-sweep",
            "greeting-sweep",
            "rate(15 minutes)",
        ),
    ] {
        let got = s
            .get_schedule()
            .group_name(GROUP)
            .name(name)
            .send()
            .await
            .unwrap();
        assert_eq!(got.schedule_expression(), Some(rate));
        let target = got.target().unwrap();
        assert!(target.arn().ends_with(&format!(":function:{function}")));
        assert!(
            target
                .input()
                .unwrap()
                .contains("<aws.scheduler.scheduled-time>")
        );
    }
}

/// An appointment tomorrow with a "24 hours before" rule: the bridge fires the reminder
/// function at the due time (a one-off schedule with the template's target and input), the
/// reminder goes out once, and the cancelled appointment beside it gets none.
#[tokio::test]
async fn the_bridge_fires_the_reminder_sweep_at_the_due_time() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let (kept_mobile, cancelled_mobile) = (unique_mobile(), unique_mobile());
    let mut ids = Vec::new();
    for mobile in [&kept_mobile, &cancelled_mobile] {
        let r = call(
            &app,
            &c.admin_key,
            "POST",
            "/patients",
            Some(json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile})),
        )
        .await;
        assert_eq!(r.status, 201);
        ids.push(r.id());
    }
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(json!({
        "channels": {"sms": {"body": "See you tomorrow", "append": ["date_time"]}},
        "rules": [{"kind": "hours_before", "hours": 24}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);

    let fire = (Utc::now() + Duration::seconds(25))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let start = fire + Duration::hours(24);
    for (i, patient) in ids.iter().enumerate() {
        let r = call(
            &app,
            &c.admin_key,
            "POST",
            "/appointments",
            Some(json!({
            "patient_id": patient, "start": start.to_rfc3339(),
            "end": (start + Duration::minutes(30)).to_rfc3339(),
            "status": if i == 0 { "confirmed" } else { "cancelled" }})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }

    let template = scheduler()
        .await
        .get_schedule()
        .group_name(GROUP)
        .name("tidings-local-reminder-sweep")
        .send()
        .await
        .unwrap();
    let t = template.target().unwrap();
    let name = format!("test-reminders-{}", uuid::Uuid::new_v4().simple());
    scheduler()
        .await
        .create_schedule()
        .group_name(GROUP)
        .name(&name)
        .schedule_expression(format!("at({})", fire.format("%Y-%m-%dT%H:%M:%S")))
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(t.arn())
                .role_arn(t.role_arn())
                .input(t.input().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let mut got = 0;
    for _ in 0..120 {
        got = moto_sent().await.sms_to(&kept_mobile).len();
        if got > 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_secs(1)).await;
    }
    assert_eq!(got, 1, "the bridge fired the sweep at the due time");
    // The same firing again (Scheduler retries): nothing more.
    let url = format!(
        "{}/2015-03-31/functions/reminder-sweep/invocations",
        std::env::var("TIDINGS_API_URL").unwrap()
    );
    let res = reqwest::Client::new()
        .post(url)
        .json(&json!({"scheduled_time": fire.to_rfc3339()}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let sent = moto_sent().await;
    assert_eq!(sent.sms_to(&kept_mobile).len(), 1);
    assert!(sent.sms_to(&cancelled_mobile).is_empty());
    let _ = scheduler()
        .await
        .delete_schedule()
        .group_name(GROUP)
        .name(&name)
        .send()
        .await;
}
