//! SES events in the SNS envelope the `ses-events` function receives: bounces and complaints
//! suppress the address, deliveries settle the message, and `GET /messages/{id}` shows it all.

use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::ses_function::{SnsLambdaEvent, handle};
use tidings_tests::{TestClinic, app, call, grant, new_clinic, unique_email};

async fn patient(app: &App, c: &TestClinic, email: &str) -> String {
    let r = call(
        app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ann", "last_name": "Lee", "email": email})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn send_email(app: &App, c: &TestClinic, patient_id: &str) -> Value {
    let r = call(app, &c.staff_key, "POST", "/messages",
        Some(json!({"patient_ids": [patient_id], "channel": "email", "subject": "Hello", "body": "Hi {{ first_name }}"}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["messages"][0].clone()
}

/// The SNS event Lambda delivers for one SES event, in SNS's own envelope.
fn sns_event(ses: &Value) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:ap-southeast-2:123456789012:tidings-local-ses-events:1",
        "Sns": {
            "Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(),
            "TopicArn": "arn:aws:sns:ap-southeast-2:123456789012:tidings-local-ses-events",
            "Subject": null, "Message": ses.to_string(), "Timestamp": "2026-11-24T00:00:00.000Z",
            "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": {}
        }
    }]})
}

fn ses(kind: &str, clinic_id: &str, message_id: &str, extra: Value) -> Value {
    let mut e = json!({
        "eventType": kind,
        "mail": {"timestamp": "2026-11-24T00:00:00.000Z", "source": "hello@harbour.example",
            "messageId": "ses-provider-id", "destination": [],
            "tags": {"clinic_id": [clinic_id], "message_id": [message_id]}}
    });
    e.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    e
}

async fn apply(app: &App, ses: &Value) -> usize {
    let event: SnsLambdaEvent = serde_json::from_value(sns_event(ses)).unwrap();
    handle(app, event).await.unwrap()
}

async fn message(app: &App, c: &TestClinic, id: &str) -> Value {
    let r = call(app, &c.staff_key, "GET", &format!("/messages/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

#[tokio::test]
async fn a_permanent_bounce_fails_the_message_and_suppresses_the_address() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let email = unique_email("bounce");
    let p = patient(&app, &c, &email).await;
    let m = send_email(&app, &c, &p).await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["status"], "sent");
    let bounce = ses(
        "Bounce",
        &c.id,
        id,
        json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": email, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}),
    );
    assert_eq!(apply(&app, &bounce).await, 1);
    assert_eq!(apply(&app, &bounce).await, 0, "applied once");
    let got = message(&app, &c, id).await;
    assert_eq!(got["status"], "failed");
    let history: Vec<(&str, Option<&str>)> = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap(), h["reason"].as_str()))
        .collect();
    assert_eq!(
        history,
        [
            ("queued", None),
            ("sent", None),
            ("failed", Some("bounced: smtp; 550 5.1.1 user unknown"))
        ]
    );
    let again = send_email(&app, &c, &p).await;
    assert_eq!(again["status"], "skipped");
    assert!(
        again["reason"].as_str().unwrap().starts_with("suppressed"),
        "{again}"
    );

    // Another clinic's message is untouched by this clinic's events, and unreadable.
    let other = new_clinic(&app).await;
    let r = call(
        &app,
        &other.staff_key,
        "GET",
        &format!("/messages/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let forged = ses("Delivery", &other.id, id, json!({"delivery": {}}));
    assert_eq!(apply(&app, &forged).await, 0);
    // The address is suppressed for this clinic only.
    grant(&app, &other.id, 10).await;
    let theirs = patient(&app, &other, &email).await;
    assert_eq!(send_email(&app, &other, &theirs).await["status"], "sent");
}

#[tokio::test]
async fn a_complaint_suppresses_and_a_delivery_settles() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let email = unique_email("complain");
    let p = patient(&app, &c, &email).await;
    let m = send_email(&app, &c, &p).await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(
        apply(
            &app,
            &ses(
                "DeliveryDelay",
                &c.id,
                id,
                json!({"deliveryDelay": {"delayType": "MailboxFull"}})
            )
        )
        .await,
        1
    );
    assert_eq!(
        apply(&app, &ses("Delivery", &c.id, id, json!({"delivery": {}}))).await,
        1
    );
    assert_eq!(apply(&app, &ses("Complaint", &c.id, id, json!({"complaint": {"complainedRecipients": [{"emailAddress": email.to_uppercase()}]}}))).await, 1);
    let got = message(&app, &c, id).await;
    assert_eq!(got["status"], "delivered");
    let reasons: Vec<&str> = got["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            "delayed: MailboxFull",
            "complained: the recipient marked it as spam"
        ]
    );
    assert_eq!(send_email(&app, &c, &p).await["status"], "skipped");
    let r = call(&app, &c.staff_key, "GET", &format!("/patients/{p}"), None).await;
    assert_eq!(
        r.json["receive_campaigns"]["email"], false,
        "opted out of campaign email"
    );
    assert_eq!(
        r.json["consent_changed_by"],
        json!({"type": "webhook", "source": "email"}),
        "the change records the provider's report, not a key"
    );
    // Not an SES event: dropped, nothing fails.
    let event: SnsLambdaEvent = serde_json::from_value(sns_event(&json!("not json"))).unwrap();
    assert_eq!(handle(&app, event).await.unwrap(), 0);
}

#[tokio::test]
async fn the_function_applies_a_bounce_through_the_local_stack() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let email = unique_email("e2e-bounce");
    let p = patient(&app, &c, &email).await;
    let id = send_email(&app, &c, &p).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bounce = ses(
        "Bounce",
        &c.id,
        &id,
        json!({"bounce": {"bounceType": "Permanent",
        "bouncedRecipients": [{"emailAddress": email}]}}),
    );
    let url = format!(
        "{}/2015-03-31/functions/ses-events/invocations",
        std::env::var("TIDINGS_API_URL").unwrap()
    );
    let res = reqwest::Client::new()
        .post(url)
        .json(&sns_event(&bounce))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(message(&app, &c, &id).await["status"], "failed");
    assert_eq!(send_email(&app, &c, &p).await["status"], "skipped");
}
