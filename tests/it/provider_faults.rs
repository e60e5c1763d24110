//! Fault injection: a proxy in front of moto throttles, fails or rejects some provider calls.
//! Every message must end sent or failed, none sent twice, and the credits must add up.

use serde_json::json;
use std::collections::HashMap;
use tidings_app::delivery::MAX_ATTEMPTS;
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{
    app_via, call, grant, list_all, moto_sent, moto_url, new_clinic, unique_email, unique_mobile,
};

/// How the provider treats each recipient, by the recipient's index.
fn behaviour(i: usize, attempt: usize) -> Fault {
    match i % 6 {
        0 => Fault::Pass,
        1 if attempt < 2 => Fault::Throttle,
        2 if attempt < 1 => Fault::ServerError,
        3 => Fault::ServerError,
        4 => Fault::Reject,
        5 => Fault::Throttle,
        _ => Fault::Pass,
    }
}

#[tokio::test]
async fn throttling_and_errors_end_every_message_sent_or_failed_once_with_credits_right() {
    let n = 12;
    let mobiles: Vec<String> = (0..n).map(|_| unique_mobile()).collect();
    let emails: Vec<String> = (0..n).map(|i| unique_email(&format!("p{i}"))).collect();
    let index: HashMap<String, usize> = mobiles
        .iter()
        .chain(&emails)
        .enumerate()
        .map(|(i, r)| (r.clone(), i % n))
        .collect();
    let script_index = index.clone();
    let proxy = ProviderProxy::start(moto_url(), move |to, attempt| {
        script_index
            .get(to)
            .map_or(Fault::Pass, |&i| behaviour(i, attempt))
    })
    .await;
    let app = app_via(&proxy.url).await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 100).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let r = call(&app, key, "POST", "/patients", Some(json!({
            "first_name": format!("P{i}"), "last_name": "Test", "mobile": mobiles[i], "email": emails[i]}))).await;
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
    let messages = r.json["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2 * n);

    let sent = moto_sent().await;
    let calls = proxy.calls();
    for m in messages {
        let i = ids.iter().position(|p| *p == m["patient_id"]).unwrap();
        let to = if m["channel"] == "sms" {
            &mobiles[i]
        } else {
            &emails[i]
        };
        let delivered = if m["channel"] == "sms" {
            sent.sms_to(to).len()
        } else {
            sent.email_to(to).len()
        };
        let attempts = calls.iter().filter(|c| c.recipient == *to).count();
        let expect_sent = matches!(i % 6, 0..=2);
        assert_eq!(
            m["status"],
            if expect_sent { "sent" } else { "failed" },
            "{m}"
        );
        assert_eq!(
            delivered,
            usize::from(expect_sent),
            "never twice, never lost: {m}"
        );
        let expected_attempts = match i % 6 {
            0 => 1,
            1 => 3,
            2 => 2,
            4 => 1,
            _ => MAX_ATTEMPTS as usize,
        };
        assert_eq!(
            attempts, expected_attempts,
            "attempts for recipient {i}: {m}"
        );
        if !expect_sent {
            let reason = m["reason"].as_str().unwrap();
            let expected = if i % 6 == 4 {
                "rejected"
            } else {
                "provider unavailable"
            };
            assert!(reason.starts_with(expected), "{reason}");
        }
    }
    let sent_sms = messages
        .iter()
        .filter(|m| m["channel"] == "sms" && m["status"] == "sent")
        .count() as i64;
    let failed_sms = messages
        .iter()
        .filter(|m| m["channel"] == "sms" && m["status"] == "failed")
        .count() as i64;
    assert_eq!((sent_sms, failed_sms), (6, 6));
    assert_eq!(r.json["credits"], json!({"charged": 12, "refunded": 6}));
    let credits = call(&app, key, "GET", "/credits", None).await;
    assert_eq!(credits.json["accounts"][0]["balance"], 100 - sent_sms);
    let (ledger, _) = list_all(&app, key, "/credits/ledger?limit=5").await;
    let sum: i64 = ledger.iter().map(|e| e["credits"].as_i64().unwrap()).sum();
    assert_eq!(sum, 100 - sent_sms);
    assert_eq!(ledger.iter().filter(|e| e["kind"] == "refund").count(), 6);
}
