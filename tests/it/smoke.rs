//! The smoke scenario, through function binaries run as Lambda runs them: a patient, an SMS, a
//! campaign fired as Scheduler fires it, and the patient's reply. Under `make test` it runs the
//! debug binaries; `make smoke` runs it against the very `bootstrap` files `sam build` produced
//! (`TIDINGS_SAM_BUILD=.aws-sam/build`, see `lambda_process::binary`).

use serde_json::{Value, json};
use std::time::Duration;
use tidings_tests::lambda_process::{Answer, LambdaProcess, http_event, signed_generic_post};
use tidings_tests::{app, assign_number, grant, moto_sent, new_clinic, unique_mobile};

/// Invokes `function` once with `event`; its answer.
async fn invoke(function: &str, event: &Value) -> Value {
    let mut p = LambdaProcess::start(function, event, &[]).await;
    match p.answer(Duration::from_secs(120)).await {
        Some(Answer::Response(r)) => r,
        other => panic!("{function} answered {other:?}: {}", p.stdout()),
    }
}

/// An API request through `function`: its status and JSON body.
async fn api(function: &str, method: &str, path: &str, key: &str, body: Value) -> (u64, Value) {
    let idem = uuid::Uuid::new_v4().to_string();
    let mut event = http_event(method, path, key, &idem, &body);
    if body.is_null() {
        event["body"] = Value::Null;
        event["headers"] = json!({"authorization": format!("Bearer {key}")});
    }
    let r = invoke(function, &event).await;
    let body = r["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap_or(Value::Null));
    (
        r["statusCode"].as_u64().unwrap(),
        body.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_patient_an_sms_a_campaign_and_a_reply_through_the_built_functions() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 20).await;
    let number = assign_number(&app, &c.id).await;
    let mobile = unique_mobile();
    let key = &c.staff_key;

    let (status, patient) = api(
        "create-patient",
        "POST",
        "/patients",
        key,
        json!({"first_name": "Erin", "last_name": "Smoke", "mobile": mobile}),
    )
    .await;
    assert_eq!(status, 201, "{patient}");
    let patient_id = patient["id"].as_str().unwrap();

    let (status, sent) = api(
        "send-messages",
        "POST",
        "/messages",
        key,
        json!({"patient_ids": [patient_id], "channel": "sms", "body": "Hi {{ first_name }}"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(moto_sent().await.sms_to(&mobile).len(), 1);

    let (status, report) = api(
        "create-report",
        "POST",
        "/reports",
        key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    let (status, template) = api(
        "create-template",
        "POST",
        "/templates",
        key,
        json!({"name": "Recall", "channel": "sms", "category": "recall",
               "body": "Time for a check-up, {{ first_name }}"}),
    )
    .await;
    assert_eq!(status, 201, "{template}");
    let send_at = "2027-05-03T09:00:00+10:00";
    let (status, campaign) = api(
        "create-campaign",
        "POST",
        "/campaigns",
        key,
        json!({"name": "Recall", "report_id": report["id"], "channels": {"sms": template["id"]},
               "send_at": send_at}),
    )
    .await;
    assert_eq!(status, 201, "{campaign}");
    let fired = invoke(
        "run-campaign",
        &json!({"clinic_id": c.id, "campaign_id": campaign["id"],
        "scheduled_time": "2027-05-02T23:00:00Z"}),
    )
    .await;
    assert_eq!(moto_sent().await.sms_to(&mobile).len(), 2, "{fired}");

    // The patient answers; the practice is told.
    let body = json!({"type": "message", "id": uuid::Uuid::new_v4().to_string(), "from": mobile,
        "to": number, "body": "Thanks, see you then"});
    let secret = tidings_tests::secret("WEBHOOK_SECRET").await;
    let event = signed_generic_post(&body, &secret);
    let r = invoke("sms-webhook", &event).await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let (status, notes) = api(
        "list-notifications",
        "GET",
        "/notifications",
        key,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{notes}");
    assert!(notes.to_string().contains(patient_id), "{notes}");
}
