//! Sending against DynamoDB Local and moto server, reading back what moto accepted and what
//! the provider proxy saw on the wire.

use serde_json::{Value, json};
use tidings_app::App;
use tidings_tests::provider_proxy::{Fault, ProviderProxy, sns_attribute};
use tidings_tests::{
    TestClinic, app, app_via, assert_rejected, call, call_raw_with, grant, list_all, moto_sent,
    moto_url, new_clinic, snapshot, unique_email, unique_mobile,
};

async fn patient(app: &App, key: &str, body: Value) -> String {
    let r = call(app, key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

fn by_recipient<'a>(out: &'a Value, patient: &str, channel: &str) -> &'a Value {
    out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["patient_id"] == patient && m["channel"] == channel && m["recipient"] == "patient"
        })
        .unwrap_or_else(|| panic!("no {channel} message for {patient}: {out}"))
}

async fn balance(app: &App, key: &str) -> i64 {
    let r = call(app, key, "GET", "/credits", None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["accounts"][0]["balance"].as_i64().unwrap()
}

/// The ledger adds up to the balance.
async fn assert_ledger_matches(app: &App, c: &TestClinic) -> Vec<Value> {
    let (entries, _) = list_all(app, &c.staff_key, "/credits/ledger?limit=2").await;
    let sum: i64 = entries.iter().map(|e| e["credits"].as_i64().unwrap()).sum();
    assert_eq!(sum, balance(app, &c.staff_key).await, "ledger {entries:?}");
    entries
}

#[tokio::test]
async fn sends_by_both_channels_with_consent_contacts_credits_and_history() {
    let proxy = ProviderProxy::start(moto_url(), |_, _| Fault::Pass).await;
    let app = app_via(&proxy.url).await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;

    let pr = call(
        &app,
        key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Maya Ng", "email_sender_name": "Dr Maya Ng (Harbour Dental)", "reply_to": "maya@harbour.example"})),
    )
    .await
    .id();
    let (a_mobile, a_email) = (unique_mobile(), unique_email("ann"));
    let b_mobile = unique_mobile();
    let c_email = unique_email("cy");
    let ann = patient(
        &app,
        key,
        json!({"first_name": "Ann", "last_name": "Lee", "mobile": a_mobile, "email": a_email}),
    )
    .await;
    let bo = patient(
        &app,
        key,
        json!({"first_name": "Bo", "last_name": "Tran", "mobile": b_mobile}),
    )
    .await;
    let cy = patient(&app, key, json!({"first_name": "Cy", "last_name": "Park", "email": c_email,
                                        "receive_reminders": {"email": false}, "receive_campaigns": {"email": false}})).await;
    let mum_email = unique_email("mum");
    let r = call(
        &app,
        key,
        "POST",
        &format!("/patients/{ann}/contacts"),
        Some(json!({"name": "Jo Lee", "relationship": "mother", "email": mum_email})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let mum = r.id();
    let r = call(&app, key, "POST", &format!("/patients/{ann}/contacts"),
        Some(json!({"name": "Sam Lee", "relationship": "brother", "email": unique_email("sam"), "receive_reminders_and_campaigns": false}))).await;
    let quiet = r.id();

    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({
            "patient_ids": [ann, bo, cy, ann],
            "channel": "both",
            "subject": "Your results, {{ first_name }}",
            "body": "Hi {{ first_name }}, your results are in. Call {{ clinic_name }}.",
            "cc_contacts": true,
            "on_behalf_of": pr,
            "category": "general"
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let out = r.json;
    // Ann: SMS + email + mother's copy (+ brother skipped); Bo: SMS, email skipped; Cy: both skipped.
    assert_eq!(
        out["summary"],
        json!({"queued": 0, "sent": 4, "failed": 0, "skipped": 4}),
        "{out}"
    );
    assert_eq!(out["credits"], json!({"charged": 2, "refunded": 0}));
    assert_eq!(by_recipient(&out, &bo, "email")["reason"], "no_email");
    assert_eq!(by_recipient(&out, &cy, "sms")["reason"], "no_mobile");
    assert_eq!(by_recipient(&out, &cy, "email")["reason"], "opted_out");
    let contact = |id: &str| {
        out["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["contact_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(contact(&mum)["status"], "sent");
    assert_eq!(contact(&quiet)["reason"], "contact_not_receiving");

    // What moto accepted: one SMS per number, one email per address, each with one To.
    let sent = moto_sent().await;
    assert_eq!(sent.sms_to(&a_mobile).len(), 1);
    assert_eq!(sent.sms_to(&b_mobile).len(), 1);
    assert_eq!(
        sent.sms_to(&a_mobile)[0]["message"],
        "Hi Ann, your results are in. Call Harbour Dental."
    );
    for addr in [&a_email, &mum_email] {
        let mails = sent.email_to(addr);
        assert_eq!(mails.len(), 1, "{addr}");
        assert_eq!(mails[0]["destinations"]["ToAddresses"], json!([addr]));
        assert_eq!(mails[0]["subject"], "Your results, Ann");
        assert_eq!(
            mails[0]["source"],
            "\"Dr Maya Ng (Harbour Dental)\" <hello@harbour.example>"
        );
    }
    assert!(sent.email_to(&c_email).is_empty());

    // What went over the wire: sender id, SMS type, reply-to.
    let calls = proxy.calls();
    let sms_calls: Vec<_> = calls.iter().filter(|c| c.service == "sns").collect();
    assert_eq!(sms_calls.len(), 2);
    for call in sms_calls {
        assert_eq!(
            sns_attribute(call, "AWS.SNS.SMS.SenderID").as_deref(),
            Some("HarbourDent")
        );
        assert_eq!(
            sns_attribute(call, "AWS.SNS.SMS.SMSType").as_deref(),
            Some("Transactional")
        );
    }
    let email_call = calls.iter().find(|c| c.recipient == a_email).unwrap();
    assert_eq!(
        email_call.params["ReplyToAddresses.0"],
        "maya@harbour.example"
    );
    assert!(!email_call.params.contains_key("Destination.CcAddresses.0"));
    // SES authorises the send against the clinic's own identity, and no other.
    assert_eq!(
        email_call.params["FromEmailAddressIdentityArn"],
        "arn:aws:ses:ap-southeast-2:123456789012:identity/harbour.example"
    );

    // Credits: two SMS of one segment; email costs nothing by default.
    assert_eq!(balance(&app, key).await, 8);
    let ledger = assert_ledger_matches(&app, &c).await;
    assert_eq!(ledger[0]["kind"], "debit");
    assert_eq!(ledger[0]["credits"], -2);

    // History: Ann's own messages, then with her contacts' copies; newest first, paginated.
    let (own, _) = list_all(&app, key, &format!("/patients/{ann}/messages?limit=1")).await;
    assert_eq!(own.len(), 2);
    assert!(
        own.iter()
            .all(|m| m["recipient"] == "patient" && m["body"].is_string())
    );
    let (all, pages) = list_all(
        &app,
        key,
        &format!("/patients/{ann}/messages?include_contacts=true&limit=2"),
    )
    .await;
    assert_eq!((all.len(), pages), (4, 2));
    assert!(
        all.windows(2)
            .all(|w| w[0]["id"].as_str() > w[1]["id"].as_str())
    );
    let (general, _) = list_all(&app, key, "/messages?category=general&limit=3").await;
    assert_eq!(general.len(), 8);
    let (none, _) = list_all(&app, key, "/messages?category=marketing").await;
    assert!(none.is_empty());
    let (past, _) = list_all(&app, key, "/messages?from=2020-01-01&to=2020-12-31").await;
    assert!(past.is_empty());

    let r = tidings_tests::stats::when(&app, key, "/messages/stats", |s| {
        tidings_tests::stats::total(s, "messages") == 4
            && tidings_tests::stats::total(s, "skipped") == 4
    })
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let days = r.json["days"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{}", r.json);
    assert_eq!(days[0]["category"], "general");
    assert_eq!(
        (days[0]["messages"].as_u64(), days[0]["skipped"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(
        (days[0]["segments"].as_u64(), days[0]["credits"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test]
async fn insufficient_credits_is_402_with_nothing_sent_or_debited() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 2).await;
    let mobiles: Vec<String> = (0..3).map(|_| unique_mobile()).collect();
    let mut ids = Vec::new();
    for m in &mobiles {
        ids.push(
            patient(
                &app,
                key,
                json!({"first_name": "Al", "last_name": "Wu", "mobile": m}),
            )
            .await,
        );
    }
    let before = snapshot(&app, &c.id).await;
    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": ids, "channel": "sms", "body": "Hi {{ first_name }}"})),
    )
    .await;
    assert_eq!(r.status, 402, "{}", r.json);
    assert_eq!(r.code(), "insufficient_credits");
    assert_eq!(
        (
            r.json["error"]["needed"].as_i64(),
            r.json["error"]["available"].as_i64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        snapshot(&app, &c.id).await,
        before,
        "a refused send writes nothing"
    );
    let sent = moto_sent().await;
    assert!(mobiles.iter().all(|m| sent.sms_to(m).is_empty()));
    assert_eq!(balance(&app, key).await, 2);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_sends_nothing_more() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 5).await;
    let mobile = unique_mobile();
    let p = patient(
        &app,
        &c.staff_key,
        json!({"first_name": "Di", "last_name": "Ho", "mobile": mobile}),
    )
    .await;
    let body = json!({"patient_ids": [p], "channel": "sms", "body": "Hi {{ first_name }}", "category": "appointment"});
    let send = |body: Value, key: &'static str| {
        let app = app.clone();
        let api_key = c.staff_key.clone();
        async move {
            let body = Some((body.to_string().into_bytes(), "application/json"));
            let headers = [("idempotency-key", key)];
            let res =
                call_raw_with(&app, Some(&api_key), "POST", "/messages", body, &headers).await;
            let replayed = res.headers.get("idempotent-replayed").is_some();
            (res.status.as_u16(), replayed, res.json)
        }
    };
    let (s1, r1, first) = send(body.clone(), "order-42").await;
    assert_eq!((s1, r1), (201, false), "{first}");
    let (s2, r2, second) = send(body.clone(), "order-42").await;
    assert_eq!((s2, r2), (200, true), "{second}");
    assert_eq!(first["request_id"], second["request_id"]);
    assert_eq!(first["messages"], second["messages"]);
    let other = json!({"patient_ids": [p], "channel": "sms", "body": "Something else"});
    let (s3, _, reused) = send(other, "order-42").await;
    assert_eq!(
        (s3, reused["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    assert_eq!(moto_sent().await.sms_to(&mobile).len(), 1);
    assert_eq!(balance(&app, &c.staff_key).await, 4);
}

#[tokio::test]
async fn a_permanent_provider_error_fails_the_message_and_refunds_it() {
    let bad = unique_mobile();
    let (app, proxy) = tidings_tests::app_refusing(&bad).await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let good = unique_mobile();
    let p1 = patient(
        &app,
        key,
        json!({"first_name": "Ed", "last_name": "Ng", "mobile": good}),
    )
    .await;
    let p2 = patient(
        &app,
        key,
        json!({"first_name": "Flo", "last_name": "Ng", "mobile": bad}),
    )
    .await;
    let r = call(&app, key, "POST", "/messages",
        Some(json!({"patient_ids": [p1, p2], "channel": "sms", "body": "Hi {{ first_name }}", "category": "marketing"}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let failed = by_recipient(&r.json, &p2, "sms");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("InvalidParameter"),
        "{failed}"
    );
    assert_eq!(r.json["credits"], json!({"charged": 2, "refunded": 1}));
    // Rejected at once, not retried; the marketing SMS went as promotional.
    let calls = proxy.calls();
    assert_eq!(calls.iter().filter(|c| c.recipient == bad).count(), 1);
    let ok_call = calls.iter().find(|c| c.recipient == good).unwrap();
    assert_eq!(
        sns_attribute(ok_call, "AWS.SNS.SMS.SMSType").as_deref(),
        Some("Promotional")
    );
    assert_eq!(balance(&app, key).await, 9);
    let ledger = assert_ledger_matches(&app, &c).await;
    assert_eq!(ledger[0]["kind"], "refund");
    let history = call(&app, key, "GET", &format!("/patients/{p2}/messages"), None).await;
    assert_eq!(history.json["items"][0]["status"], "failed");
    let sent = moto_sent().await;
    assert_eq!((sent.sms_to(&good).len(), sent.sms_to(&bad).len()), (1, 0));
}

#[tokio::test]
async fn consent_by_category_and_missing_values_are_skipped_with_reasons() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let no_marketing = patient(
        &app,
        key,
        json!({"first_name": "Gus", "last_name": "Ray", "mobile": unique_mobile(),
        "receive_campaigns": {"sms": false}}),
    )
    .await;
    let r = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Promo", "channel": "sms",
        "category": "marketing", "body": "Hi {{ first_name }}, 10% off whitening"})),
    )
    .await;
    let promo = r.id();
    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [no_marketing], "channel": "sms", "template_id": promo})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["messages"][0]["reason"], "category_excluded");
    assert_eq!(r.json["credits"]["charged"], 0);
    // The same patient still gets a practice message.
    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [no_marketing], "channel": "sms",
        "body": "{{ practitioner }} is running late"})),
    )
    .await;
    assert_eq!(
        r.json["messages"][0]["reason"], "missing_value: practitioner",
        "{}",
        r.json
    );
    let r = call(
        &app,
        key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [no_marketing], "channel": "sms",
        "body": "We are running late"})),
    )
    .await;
    assert_eq!(r.json["messages"][0]["status"], "sent", "{}", r.json);
    assert_eq!(balance(&app, key).await, 9);
}

#[tokio::test]
async fn bad_send_requests_are_rejected_naming_the_field_and_write_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.admin_key;
    grant(&app, &c.id, 10).await;
    let r = call(
        &app,
        key,
        "PATCH",
        "/clinic",
        Some(json!({"max_sms_length": 20})),
    )
    .await;
    assert_eq!(r.status, 200);
    let p = patient(
        &app,
        key,
        json!({"first_name": "Hal", "last_name": "Ito", "mobile": unique_mobile()}),
    )
    .await;
    let before = snapshot(&app, &c.id).await;
    let cases = [
        (json!({"channel": "sms", "body": "Hi"}), "patient_ids"),
        (json!({"patient_ids": [p], "body": "Hi"}), "channel"),
        (json!({"patient_ids": [p], "channel": "sms"}), "template_id"),
        (
            json!({"patient_ids": [p], "channel": "sms", "body": "Hi {{ nick }}"}),
            "body",
        ),
        (
            json!({"patient_ids": [p], "channel": "email", "body": "Hi"}),
            "subject",
        ),
        (
            json!({"patient_ids": [p], "channel": "sms", "body": "Hi", "cc_contacts": true}),
            "cc_contacts",
        ),
        (
            json!({"patient_ids": [p], "channel": "sms", "body": "Hi", "on_behalf_of": "nobody"}),
            "on_behalf_of",
        ),
        (
            json!({"patient_ids": [p], "channel": "sms", "template_id": "nope"}),
            "template_id",
        ),
        (
            json!({"patient_ids": [p, "missing"], "channel": "sms", "body": "Hi"}),
            "patient_ids[1]",
        ),
        (
            json!({"patient_ids": [p], "channel": "sms", "body": "This is longer than twenty"}),
            "body",
        ),
        (
            json!({"patient_ids": [p], "channel": "sms", "body": "Hi", "priority": "high"}),
            "priority",
        ),
    ];
    for (body, field) in cases {
        let r = call(&app, key, "POST", "/messages", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    for (path, field) in [
        ("/messages?category=spam", "category"),
        ("/messages?from=yesterday", "from"),
        ("/messages?from=2026-02-01&to=2026-01-01", "to"),
        ("/messages/stats?from=2024-01-01&to=2026-01-01", "from"),
        (
            &format!("/patients/{p}/messages?include_contacts=maybe"),
            "include_contacts",
        ),
    ] {
        let r = call(&app, key, "GET", path, None).await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (400, field),
            "{path}: {}",
            r.json
        );
    }
}

#[tokio::test]
async fn another_clinics_patients_and_history_are_out_of_reach() {
    let app = app().await;
    let mine = new_clinic(&app).await;
    let theirs = new_clinic(&app).await;
    grant(&app, &mine.id, 10).await;
    let mobile = unique_mobile();
    let their_patient = patient(
        &app,
        &theirs.staff_key,
        json!({"first_name": "Ivy", "last_name": "Kim", "mobile": mobile}),
    )
    .await;
    let before_mine = snapshot(&app, &mine.id).await;
    let before_theirs = snapshot(&app, &theirs.id).await;
    let r = call(&app, &mine.staff_key, "POST", "/messages",
        Some(json!({"patient_ids": [their_patient], "channel": "sms", "body": "Hi {{ first_name }}"}))).await;
    assert_rejected(&app, &mine.id, &before_mine, &r, 400, "patient_ids[0]").await;
    let r = call(
        &app,
        &mine.staff_key,
        "GET",
        &format!("/patients/{their_patient}/messages"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &app,
        &mine.staff_key,
        "POST",
        "/templates/preview",
        Some(json!({"body": "Hi {{ first_name }}", "patient_id": their_patient})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "patient_id"));
    assert_eq!(snapshot(&app, &theirs.id).await, before_theirs);
    assert!(moto_sent().await.sms_to(&mobile).is_empty());
    // Their messages, statistics, credits and ledger are theirs alone.
    grant(&app, &theirs.id, 7).await;
    let r = call(
        &app,
        &theirs.staff_key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [their_patient], "channel": "sms", "body": "Hi"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let (mine_listed, _) = list_all(&app, &mine.staff_key, "/messages?limit=50").await;
    assert!(mine_listed.is_empty());
    // Once their statistics count the message, mine still show nothing.
    let theirs_stats =
        tidings_tests::stats::when(&app, &theirs.staff_key, "/messages/stats", |s| {
            tidings_tests::stats::total(s, "messages") == 1
        })
        .await;
    assert_eq!(
        tidings_tests::stats::total(&theirs_stats.json, "messages"),
        1
    );
    let stats = call(&app, &mine.staff_key, "GET", "/messages/stats", None).await;
    assert_eq!(stats.json["days"], json!([]));
    let (theirs_listed, _) = list_all(&app, &theirs.staff_key, "/messages?limit=50").await;
    assert_eq!(theirs_listed.len(), 1);
    assert_eq!(balance(&app, &mine.staff_key).await, 10);
    let (ledger, _) = list_all(&app, &mine.staff_key, "/credits/ledger?limit=50").await;
    assert_eq!(ledger.len(), 1);
}
