//! Business metrics as CloudWatch reads them: the functions run as processes (as Lambda runs
//! them) and their standard output is read for Embedded Metric Format lines.

use serde_json::{Value, json};
use std::time::Duration;
use tidings_tests::lambda_process::{Answer, LambdaProcess, http_event};
use tidings_tests::{app, grant, new_clinic, unique_email, unique_mobile};

/// The EMF lines a process wrote that carry `metric`.
fn metric_lines(stdout: &str, metric: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["Name"] == metric))
        })
        .collect()
}

#[tokio::test]
async fn a_send_reports_what_became_of_its_messages_per_channel() {
    let base = app().await;
    let c = new_clinic(&base).await;
    grant(&base, &c.id, 10).await;
    let with_email = tidings_tests::call(
        &base,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({
        "first_name": "Ann", "last_name": "Lee", "mobile": unique_mobile(),
        "email": unique_email("metrics")})),
    )
    .await
    .id();
    let sms_only = tidings_tests::call(
        &base,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({
        "first_name": "Bo", "last_name": "Lee", "mobile": unique_mobile()})),
    )
    .await
    .id();
    let body = json!({"patient_ids": [with_email, sms_only], "channel": "both",
                      "subject": "Hello", "body": "See you soon"});
    let event = http_event("POST", "/messages", &c.staff_key, "metrics-1", &body);
    let mut p = LambdaProcess::start("send-messages", &event, &[]).await;
    let answer = p.answer(Duration::from_secs(60)).await;
    assert!(
        matches!(&answer, Some(Answer::Response(r)) if r["statusCode"] == 201),
        "{answer:?}"
    );
    let out = p.stdout();
    let lines = metric_lines(&out, "MessagesSent");
    let of = |channel: &str| {
        lines
            .iter()
            .find(|l| l["Channel"] == channel)
            .unwrap_or_else(|| panic!("a {channel} line in {out}"))
            .clone()
    };
    let (sms, email) = (of("sms"), of("email"));
    assert_eq!(sms["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Tidings");
    assert_eq!(
        sms["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Stage", "Channel"]])
    );
    assert_eq!(
        (sms["MessagesSent"].as_f64(), sms["CreditsDebited"].as_f64()),
        (Some(2.0), Some(2.0))
    );
    assert_eq!(sms["CreditsRefunded"].as_f64(), Some(0.0));
    assert_eq!(
        (
            email["MessagesSent"].as_f64(),
            email["MessagesSkipped"].as_f64()
        ),
        (Some(1.0), Some(1.0))
    );
    // Counts only: no id, number, address or word of the message.
    for l in &lines {
        let text = l.to_string();
        assert!(
            !text.contains(&with_email) && !text.contains("See you soon"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_refused_webhook_signature_is_counted() {
    let event = json!({
        "version": "2.0", "routeKey": "POST /webhooks/stripe", "rawPath": "/webhooks/stripe",
        "rawQueryString": "",
        "headers": {"content-type": "application/json",
                    "stripe-signature": format!("t={},v1=00", chrono::Utc::now().timestamp())},
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "forger"},
            "requestId": "r-1", "routeKey": "POST /webhooks/stripe", "stage": "$default",
            "time": "06/Dec/2026:06:00:00 +0000", "timeEpoch": 1796536800000_i64},
        "body": "{\"id\": \"evt_forged\"}", "isBase64Encoded": false
    });
    let mut p = LambdaProcess::start("stripe-webhook", &event, &[]).await;
    let answer = p.answer(Duration::from_secs(60)).await;
    assert!(
        matches!(&answer, Some(Answer::Response(r)) if r["statusCode"] == 401),
        "{answer:?}"
    );
    let out = p.stdout();
    let lines = metric_lines(&out, "WebhookSignatureFailures");
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["Reason"], "bad_signature");
    assert_eq!(lines[0]["WebhookSignatureFailures"].as_f64(), Some(1.0));
}
