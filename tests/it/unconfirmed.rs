//! Messages whose outcome is unknown. A provider that takes a message and then drops the
//! connection (the proxy in front of moto forwards the call and never answers) gets it once: the
//! SDK does not retry a call that may have reached it, and the message is `unconfirmed`, keeps its
//! credits and shows so in the send's answer, the message, the history, the statistics and the
//! campaign's counts and recipients. A provider that cannot be reached at all is retried, and the
//! message fails refunded. The practice resends a run's unconfirmed messages once.

use serde_json::{Value, json};
use std::collections::HashSet;
use tidings_app::App;
use tidings_app::ses_function::{SnsLambdaEvent, handle};
use tidings_tests::campaigns::{balance, campaign_to_new_patients, event, limits};
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{
    app, app_via, assert_rejected, call, grant, list_all, moto_sent, moto_url, new_clinic,
    snapshot, unique_email, unique_mobile,
};

/// A proxy that forwards every call and drops the connection, unanswered, for `dropped`.
async fn dropping(dropped: Vec<String>) -> ProviderProxy {
    ProviderProxy::start(moto_url(), move |to, _| {
        if dropped.iter().any(|d| d == to) {
            Fault::AcceptThenDrop
        } else {
            Fault::Pass
        }
    })
    .await
}

/// An SES delivery event for the message `id`, in the SNS envelope `ses-events` receives.
async fn ses_delivery(app: &App, clinic_id: &str, id: &str) -> usize {
    let ses = json!({
        "eventType": "Delivery",
        "mail": {"timestamp": "2026-11-24T00:00:00.000Z", "source": "hello@harbour.example",
            "messageId": "ses-provider-id", "destination": [],
            "tags": {"clinic_id": [clinic_id], "message_id": [id]}},
        "delivery": {}
    });
    let event: SnsLambdaEvent = serde_json::from_value(json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:ap-southeast-2:123456789012:tidings-local-ses-events:1",
        "Sns": {
            "Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(),
            "TopicArn": "arn:aws:sns:ap-southeast-2:123456789012:tidings-local-ses-events",
            "Subject": null, "Message": ses.to_string(), "Timestamp": "2026-11-24T00:00:00.000Z",
            "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE", "MessageAttributes": {}
        }
    }]}))
    .unwrap();
    handle(app, event).await.unwrap()
}

fn statuses(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_provider_that_takes_a_message_and_drops_the_connection_gets_it_once() {
    let (mobile, email) = (unique_mobile(), unique_email("dropped"));
    let (other_mobile, other_email) = (unique_mobile(), unique_email("fine"));
    let proxy = dropping(vec![mobile.clone(), email.clone()]).await;
    let app = app_via(&proxy.url).await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let mut ids = Vec::new();
    for (m, e) in [(&mobile, &email), (&other_mobile, &other_email)] {
        let r = call(
            &app,
            key,
            "POST",
            "/patients",
            Some(json!({
            "first_name": "Ann", "last_name": "Lee", "mobile": m, "email": e})),
        )
        .await;
        ids.push(r.id());
    }
    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({
        "patient_ids": ids, "channel": "both", "subject": "Hello", "body": "Hi {{ first_name }}"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        r.json["summary"],
        json!({"queued": 0, "sent": 2, "failed": 0, "skipped": 0, "unconfirmed": 2}),
        "{}",
        r.json
    );
    // Nothing is refunded: the provider may have sent them (here it did).
    assert_eq!(r.json["credits"], json!({"charged": 2, "refunded": 0}));
    assert_eq!(balance(&app, key).await, 8);

    // One call each, no retry, and the provider has each message once.
    for to in [&mobile, &email] {
        let calls = proxy.calls().iter().filter(|c| c.recipient == **to).count();
        assert_eq!(
            calls, 1,
            "{to}: a call that may have reached the provider is not retried"
        );
    }
    let sent = moto_sent().await;
    assert_eq!(sent.sms_to(&mobile).len(), 1);
    assert_eq!(sent.email_to(&email).len(), 1);

    let messages = r.json["messages"].as_array().unwrap();
    let unconfirmed: Vec<&Value> = messages
        .iter()
        .filter(|m| m["status"] == "unconfirmed")
        .collect();
    assert_eq!(unconfirmed.len(), 2);
    for m in &unconfirmed {
        assert_eq!(m["patient_id"], ids[0].as_str());
        let reason = m["reason"].as_str().unwrap();
        assert!(reason.starts_with("outcome unknown"), "{reason}");
    }
    // The message, and the patient's history, say so.
    let sms = unconfirmed.iter().find(|m| m["channel"] == "sms").unwrap();
    let got = call(
        &app,
        key,
        "GET",
        &format!("/messages/{}", sms["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(got.json["status"], "unconfirmed", "{}", got.json);
    assert_eq!(statuses(&got.json["history"]), ["queued", "unconfirmed"]);
    let (history, _) = list_all(
        &app,
        key,
        &format!("/patients/{}/messages?limit=10", ids[0]),
    )
    .await;
    assert_eq!(
        history
            .iter()
            .filter(|m| m["status"] == "unconfirmed")
            .count(),
        2,
        "{history:?}"
    );
    // The statistics count them as messages (they were paid for), and as unconfirmed.
    let stats = tidings_tests::stats::when(&app, key, "/messages/stats", |s| {
        tidings_tests::stats::total(s, "unconfirmed") == 2
    })
    .await;
    assert_eq!(stats.status, 200, "{}", stats.json);
    let days = stats.json["days"].as_array().unwrap().clone();
    let unconfirmed_days: u64 = days
        .iter()
        .map(|d| d["unconfirmed"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(unconfirmed_days, 2, "{days:?}");

    // SES reports the email delivered (its event carries our message id): that settles it.
    let email_msg = unconfirmed
        .iter()
        .find(|m| m["channel"] == "email")
        .unwrap();
    let email_id = email_msg["id"].as_str().unwrap();
    assert_eq!(ses_delivery(&app, &c.id, email_id).await, 1);
    let got = call(&app, key, "GET", &format!("/messages/{email_id}"), None).await;
    assert_eq!(got.json["status"], "delivered", "{}", got.json);
    assert_eq!(
        statuses(&got.json["history"]),
        ["queued", "unconfirmed", "sent", "delivered"]
    );
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_retried_and_the_message_fails_refunded() {
    // A port nobody listens on: every connection is refused before a byte is sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = app_via(&url).await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 5).await;
    let mobile = unique_mobile();
    let p = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({
        "first_name": "Ann", "last_name": "Lee", "mobile": mobile})),
    )
    .await;
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/messages",
        Some(json!({
        "patient_ids": [p.id()], "channel": "sms", "body": "Hi"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let m = &r.json["messages"][0];
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["reason"], "provider unavailable: could not connect");
    assert_eq!(r.json["credits"], json!({"charged": 1, "refunded": 1}));
    assert_eq!(balance(&app, &c.staff_key).await, 5);
}

#[tokio::test]
async fn a_runs_unconfirmed_messages_show_everywhere_and_the_practice_resends_them_once() {
    let base = app().await;
    let (c, id, mobiles) = campaign_to_new_patients(&base, 20, 6).await;
    let dropped: Vec<String> = mobiles[..2].to_vec();
    let proxy = dropping(dropped.clone()).await;
    let via = app_via(&proxy.url).await;
    let at = "2026-12-01T09:00:00Z";
    let ev = event(&c, &id, at);
    tidings_app::services::campaign_run::fire(&via, &ev, &limits(300))
        .await
        .unwrap();
    let got = call(
        &base,
        &c.staff_key,
        "GET",
        &format!("/campaigns/{id}"),
        None,
    )
    .await;
    assert_eq!(got.json["status"], "sent", "{}", got.json);
    assert_eq!(got.json["counts"]["sent"], 4, "{}", got.json);
    assert_eq!(got.json["counts"]["unconfirmed"], 2, "{}", got.json);
    assert_eq!(
        got.json["credits_used"], 6,
        "unconfirmed keep their credits"
    );
    assert_eq!(balance(&base, &c.staff_key).await, 14);
    let (rows, _) = list_all(
        &base,
        &c.staff_key,
        &format!("/campaigns/{id}/recipients?limit=50"),
    )
    .await;
    let shown: HashSet<&str> = rows
        .iter()
        .filter(|r| r["status"] == "unconfirmed")
        .map(|r| r["to"].as_str().unwrap())
        .collect();
    assert_eq!(shown, dropped.iter().map(String::as_str).collect());

    let path = format!("/campaigns/{id}/resend-unconfirmed");
    let before = snapshot(&base, &c.id).await;
    // Staff may not; another clinic cannot see the campaign; bad input names the field.
    let r = call(&base, &c.staff_key, "POST", &path, None).await;
    assert_eq!(r.status, 403, "{}", r.json);
    let other = new_clinic(&base).await;
    let r = call(&base, &other.admin_key, "POST", &path, None).await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = call(
        &base,
        &c.admin_key,
        "POST",
        &path,
        Some(json!({"run_id": 7})),
    )
    .await;
    assert_rejected(&base, &c.id, &before, &r, 400, "run_id").await;
    let r = call(
        &base,
        &c.admin_key,
        "POST",
        &path,
        Some(json!({"run_id": "nope"})),
    )
    .await;
    assert_rejected(&base, &c.id, &before, &r, 400, "run_id").await;
    let r = call(
        &base,
        &c.admin_key,
        "POST",
        &path,
        Some(json!({"every": true})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(snapshot(&base, &c.id).await, before);

    // The practice resends: each unconfirmed message once more, at no further cost.
    let r = call(&base, &c.admin_key, "POST", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["resent"], 2, "{}", r.json);
    assert_eq!(r.json["sent"], 2, "{}", r.json);
    assert_eq!(r.json["more"], false);
    let r = call(
        &base,
        &c.admin_key,
        "POST",
        &format!("/campaigns/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "not_cancellable"),
        "{}",
        r.json
    );
    let again = call(&base, &c.admin_key, "POST", &path, None).await;
    assert_eq!(
        again.json["resent"], 0,
        "a message is resent at most once: {}",
        again.json
    );
    let sent = moto_sent().await;
    for m in &mobiles {
        let expected = if dropped.contains(m) { 2 } else { 1 };
        assert_eq!(sent.sms_to(m).len(), expected, "{m}");
    }
    assert_eq!(balance(&base, &c.staff_key).await, 14);
}
