//! The SMS webhook against the local stack: each provider's signature, replays, opt-out
//! keywords, answers to reminders, history, notifications and delivery receipts.

use base64::Engine;
use serde_json::{Value, json};
use tidings_app::App;
use tidings_domain::webhook::{generic, twilio};
use tidings_tests::{
    Reply, TestClinic, app, assign_number, call, call_public, grant, moto_sent, new_clinic,
    snapshot, unique_mobile,
};

type Headers = Vec<(&'static str, String)>;

const SECRET: &str = "local-webhook-secret-not-for-production";

/// A clinic that receives replies at its own number, and one patient.
struct Setup {
    app: App,
    c: TestClinic,
    number: String,
    patient_id: String,
    mobile: String,
}

async fn setup() -> Setup {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let number = assign_number(&app, &c.id).await;
    let r = call(
        &app,
        &c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"phone": "02 9000 0000"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mobile = unique_mobile();
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    Setup {
        patient_id: r.id(),
        app,
        c,
        number,
        mobile,
    }
}

fn generic_headers(body: &[u8], secret: &str, at: i64) -> Vec<(&'static str, String)> {
    let ts = at.to_string();
    vec![
        (generic::TIMESTAMP_HEADER, ts.clone()),
        (
            generic::SIGNATURE_HEADER,
            generic::sign(secret.as_bytes(), &ts, body),
        ),
    ]
}

async fn post_generic(app: &App, body: &Value) -> Reply {
    let bytes = body.to_string().into_bytes();
    let h = generic_headers(&bytes, SECRET, chrono::Utc::now().timestamp());
    call_public(app, "/webhooks/sms/generic", &h, bytes, "application/json").await
}

async fn text(s: &Setup, id: &str, body: &str) -> Reply {
    post_generic(
        &s.app,
        &json!({"type": "message", "id": id, "from": s.mobile, "to": s.number, "body": body}),
    )
    .await
}

fn fresh_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sends an SMS to the patient; the message as `POST /messages` returns it.
async fn send_sms(s: &Setup) -> Value {
    let r = call(&s.app, &s.c.staff_key, "POST", "/messages",
        Some(json!({"patient_ids": [s.patient_id], "channel": "sms", "body": "Hi {{ first_name }}", "category": "marketing"}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["messages"][0].clone()
}

/// Runs a marketing SMS campaign to everyone in the clinic now; the patient's recipient row.
async fn campaign(s: &Setup) -> Value {
    let key = &s.c.staff_key;
    let report =
        tidings_tests::campaigns::report(&s.app, key, json!({"name": "All", "type": "patient"}))
            .await;
    let template = call(
        &s.app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "News", "channel": "sms",
        "category": "marketing", "body": "News from {{ clinic_name }}"})),
    )
    .await
    .id();
    let created = call(&s.app, key, "POST", "/campaigns", Some(json!({"name": "News", "report_id": report,
        "channels": {"sms": template}, "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}))).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let ev = tidings_app::services::campaign_run::FireEvent {
        clinic_id: s.c.id.clone(),
        campaign_id: created.id(),
        scheduled_time: chrono::Utc::now().to_rfc3339(),
        wake_time: None,
    };
    let limits = tidings_app::services::campaign_run::Limits {
        stop_at: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        lease: chrono::Duration::minutes(5),
    };
    tidings_app::services::campaign_run::fire(&s.app, &ev, &limits)
        .await
        .unwrap();
    let r = call(
        &s.app,
        key,
        "GET",
        &format!("/campaigns/{}/recipients", created.id()),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["patient_id"] == s.patient_id.as_str())
        .unwrap()
        .clone()
}

async fn history(s: &Setup) -> Vec<Value> {
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        &format!("/patients/{}/messages", s.patient_id),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn generic_signatures_are_checked_before_anything_is_stored() {
    let s = setup().await;
    let body = json!({"type": "message", "id": fresh_id(), "from": s.mobile, "to": s.number, "body": "STOP"});
    let bytes = body.to_string().into_bytes();
    let now = chrono::Utc::now().timestamp();
    let before = snapshot(&s.app, &s.c.id).await;
    let tampered = body.to_string().replace("STOP", "HELLO").into_bytes();
    let cases: Vec<(Headers, Vec<u8>, &str)> = vec![
        (
            generic_headers(&bytes, SECRET, now),
            tampered,
            "bad_signature",
        ),
        (
            generic_headers(&bytes, "another-secret", now),
            bytes.clone(),
            "bad_signature",
        ),
        (vec![], bytes.clone(), "bad_signature"),
        (
            generic_headers(&bytes, SECRET, now - 301),
            bytes.clone(),
            "stale_signature",
        ),
    ];
    for (headers, b, code) in cases {
        let r = call_public(
            &s.app,
            "/webhooks/sms/generic",
            &headers,
            b,
            "application/json",
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.json);
        assert_eq!(r.json["error"]["code"], code);
    }
    assert_eq!(
        snapshot(&s.app, &s.c.id).await,
        before,
        "a refused post stored nothing"
    );
    let r = call_public(
        &s.app,
        "/webhooks/sms/nope",
        &[],
        b"{}".to_vec(),
        "application/json",
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post_generic(&s.app, &json!({"type": "message", "id": fresh_id()})).await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "body"));

    // Signed and fresh: stored; the same provider id again is stored once.
    let r = call_public(
        &s.app,
        "/webhooks/sms/generic",
        &generic_headers(&bytes, SECRET, now),
        bytes.clone(),
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["outcome"], "stored");
    let r = call_public(
        &s.app,
        "/webhooks/sms/generic",
        &generic_headers(&bytes, SECRET, now),
        bytes,
        "application/json",
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["outcome"].as_str()),
        (200, Some("replay"))
    );
    let received: Vec<Value> = history(&s)
        .await
        .into_iter()
        .filter(|m| m["status"] == "received")
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["from"], s.mobile.as_str());
    assert_eq!(received[0]["body"], "STOP");
}

#[tokio::test]
async fn stop_opts_the_number_out_start_back_in_and_help_answers() {
    let s = setup().await;
    assert_eq!(text(&s, &fresh_id(), "  Stop! ").await.status, 200);
    let answers = moto_sent().await;
    let to_patient = answers.sms_to(&s.mobile);
    assert_eq!(to_patient.len(), 1, "one confirmation");
    assert!(to_patient[0]["message"].as_str().unwrap().contains("START"));
    let m = send_sms(&s).await;
    assert_eq!(m["status"], "skipped");
    assert!(
        m["reason"].as_str().unwrap().starts_with("opted_out"),
        "{m}"
    );
    assert_eq!(m["credits"], 0);
    let in_campaign = campaign(&s).await;
    assert_eq!(in_campaign["status"], "skipped", "{in_campaign}");
    assert!(
        in_campaign["reason"]
            .as_str()
            .unwrap()
            .starts_with("opted_out")
    );

    assert_eq!(text(&s, &fresh_id(), "start").await.status, 200);
    assert_eq!(send_sms(&s).await["status"], "sent");
    assert_eq!(campaign(&s).await["status"], "sent");

    assert_eq!(text(&s, &fresh_id(), "HELP").await.status, 200);
    let sent = moto_sent().await;
    let help = sent.sms_to(&s.mobile);
    assert!(
        help.iter().any(|m| {
            let t = m["message"].as_str().unwrap();
            t.contains("Harbour Dental") && t.contains("02 9000 0000")
        }),
        "{help:?}"
    );
}

#[tokio::test]
async fn replies_reach_history_and_notifications_unread_first_and_stay_in_their_clinic() {
    let s = setup().await;
    let first = fresh_id();
    assert_eq!(text(&s, &first, "Running 5 min late").await.status, 200);
    assert_eq!(text(&s, &fresh_id(), "Thanks!").await.status, 200);
    // A number the clinic does not know.
    let r = post_generic(&s.app, &json!({"type": "message", "id": fresh_id(), "from": unique_mobile(), "to": s.number, "body": "who is this"})).await;
    assert_eq!(r.status, 200);
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let items = r.json["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["kind"], "unmatched_reply");
    assert_eq!(items[1]["body"], "Thanks!");
    assert_eq!(items[2]["kind"], "reply");
    assert_eq!(items[2]["patient_id"], s.patient_id.as_str());

    // Another clinic sees none of it and cannot mark it read.
    let other = new_clinic(&s.app).await;
    let r = call(&s.app, &other.staff_key, "GET", "/notifications", None).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 0);
    let newest = items[0]["id"].as_str().unwrap();
    let r = call(
        &s.app,
        &other.staff_key,
        "POST",
        &format!("/notifications/{newest}/read"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);

    // Read ones go after the unread.
    let r = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        &format!("/notifications/{newest}/read"),
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["read"].as_bool()),
        (200, Some(true))
    );
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        "/notifications?limit=2",
        None,
    )
    .await;
    let page: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["Thanks!", "Running 5 min late"]);
    let cursor = r.json["next_cursor"].as_str().unwrap();
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        &format!("/notifications?cursor={cursor}"),
        None,
    )
    .await;
    let rest: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["who is this"]);
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        "/notifications?cursor=%%%",
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "cursor"));

    let texts: Vec<Value> = history(&s)
        .await
        .into_iter()
        .filter(|m| m["status"] == "received")
        .collect();
    assert_eq!(texts.len(), 2);
}

#[tokio::test]
async fn a_reply_from_a_shared_number_goes_to_whoever_last_received_a_text_there() {
    let s = setup().await;
    let r = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ben", "last_name": "Lee", "mobile": s.mobile})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let ben = r.id();
    let r = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [ben], "channel": "sms", "body": "Hi Ben"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    text(&s, &fresh_id(), "Thanks").await;
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    assert_eq!(r.json["items"][0]["patient_id"], ben.as_str());
    // Ann is texted later: the next reply is hers.
    send_sms(&s).await;
    text(&s, &fresh_id(), "Thanks from Ann").await;
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    assert_eq!(r.json["items"][0]["patient_id"], s.patient_id.as_str());
}

#[tokio::test]
async fn a_reply_number_belongs_to_one_clinic() {
    let s = setup().await;
    let other = new_clinic(&s.app).await;
    let before = snapshot(&s.app, &other.id).await;
    // A clinic cannot claim a number, its own or another's: ops assign them.
    for number in [s.number.clone(), unique_mobile()] {
        let r = call(
            &s.app,
            &other.admin_key,
            "PATCH",
            "/clinic",
            Some(json!({"sms_reply_number": number})),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.field(), r.code()),
            (400, "sms_reply_number", "assigned_by_ops"),
            "{}",
            r.json
        );
        assert!(!r.body.windows(number.len()).any(|w| w == number.as_bytes()));
    }
    assert_eq!(snapshot(&s.app, &other.id).await, before);
    // Ops cannot give one number to two clinics either.
    let taken = tidings_app::services::clinics::assign(
        &s.app.store,
        &other.id,
        tidings_app::services::clinics::Assignment::AssignNumber(s.number.clone()),
    )
    .await;
    assert!(
        matches!(
            &taken,
            Err(tidings_app::ServiceError::Conflict {
                code: "number_taken",
                ..
            })
        ),
        "{taken:?}"
    );
    assert_eq!(snapshot(&s.app, &other.id).await, before);
    let r = call(
        &s.app,
        &other.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"opt_out_keywords": ["two words"]})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "opt_out_keywords[0]"));
    let r = call(
        &s.app,
        &other.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"twilio_auth_token": 5})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "twilio_auth_token"));
    // The clinic's own extra keyword opts out too.
    let r = call(
        &s.app,
        &s.c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"opt_out_keywords": ["halt"]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json.get("twilio_auth_token"), None);
    text(&s, &fresh_id(), "HALT.").await;
    assert_eq!(send_sms(&s).await["status"], "skipped");
}

/// An appointment in two days, and an SMS reminder of it sent to the patient; its id.
async fn reminded_appointment(s: &Setup) -> String {
    let start = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(2) + chrono::Duration::minutes(30))
        .to_rfc3339();
    let r = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        "/appointments",
        Some(json!({"patient_id": s.patient_id, "start": start, "end": end})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let appt = r.id();
    // A reminder: a campaign from an appointment report.
    let report = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        "/reports",
        Some(json!({"name": "Soon", "type": "appointment", "filters": {"in_days": 2}})),
    )
    .await;
    assert_eq!(report.status, 201, "{}", report.json);
    let template = call(
        &s.app,
        &s.c.staff_key,
        "POST",
        "/templates",
        Some(json!({"name": "R", "channel": "sms",
        "category": "appointment", "body": "See you soon. Reply YES to confirm or NO to cancel."})),
    )
    .await
    .id();
    let campaign = call(&s.app, &s.c.staff_key, "POST", "/campaigns", Some(json!({"name": "Reminder",
        "report_id": report.id(), "channels": {"sms": template}, "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}))).await;
    assert_eq!(campaign.status, 201, "{}", campaign.json);
    let ev = tidings_app::services::campaign_run::FireEvent {
        clinic_id: s.c.id.clone(),
        campaign_id: campaign.id(),
        scheduled_time: chrono::Utc::now().to_rfc3339(),
        wake_time: None,
    };
    let limits = tidings_app::services::campaign_run::Limits {
        stop_at: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        lease: chrono::Duration::minutes(5),
    };
    tidings_app::services::campaign_run::fire(&s.app, &ev, &limits)
        .await
        .unwrap();
    appt
}

#[tokio::test]
async fn yes_confirms_the_reminded_appointment_and_no_flags_it() {
    let s = setup().await;
    let appt = reminded_appointment(&s).await;
    text(&s, &fresh_id(), "yes").await;
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        &format!("/appointments/{appt}"),
        None,
    )
    .await;
    assert_eq!(r.json["status"], "confirmed", "{}", r.json);
    text(&s, &fresh_id(), "No.").await;
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        &format!("/appointments/{appt}"),
        None,
    )
    .await;
    assert_eq!(r.json["status"], "cancellation_requested");
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    let kinds: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cancellation_requested", "appointment_confirmed"]);
}

#[tokio::test]
async fn receipts_settle_sent_messages() {
    let s = setup().await;
    let a = send_sms(&s).await;
    let b = send_sms(&s).await;
    let pid = |m: &Value| m["provider_message_id"].as_str().unwrap().to_owned();
    // The texts went through SNS: SNS's delivery events settle them.
    let r = sns_receipt(&s.app, &pid(&a), "DELIVERED").await;
    assert_eq!(r.json["outcome"], "receipt_recorded", "{}", r.json);
    let r = sns_receipt(&s.app, &pid(&b), "CARRIER_UNREACHABLE").await;
    assert_eq!(r.json["outcome"], "receipt_recorded");
    let r = sns_receipt(&s.app, &pid(&b), "DELIVERED").await;
    assert_eq!(
        r.json["outcome"], "receipt_ignored",
        "a settled message stays settled"
    );
    let h = history(&s).await;
    let find = |id: &Value| h.iter().find(|m| m["id"] == *id).unwrap().clone();
    assert_eq!(find(&a["id"])["status"], "delivered");
    assert_eq!(find(&b["id"])["status"], "failed");
    assert_eq!(find(&b["id"])["reason"], "CARRIER_UNREACHABLE: handset off");
    // The text that failed reached the carrier: its credits stay spent, in the statistics too.
    let stats = tidings_tests::stats::when(&s.app, &s.c.staff_key, "/messages/stats", |st| {
        tidings_tests::stats::total(st, "failed") == 1
    })
    .await;
    let days = stats.json["days"].as_array().unwrap();
    let day = days.iter().find(|d| d["category"] == "marketing").unwrap();
    assert_eq!(
        (day["messages"].as_u64(), day["failed"].as_u64()),
        (Some(1), Some(1)),
        "{day}"
    );
    let spent = a["credits"].as_u64().unwrap() + b["credits"].as_u64().unwrap();
    assert_eq!(day["credits"].as_u64(), Some(spent), "{day}");
}

#[tokio::test]
async fn twilio_posts_are_verified_with_the_clinics_token() {
    let s = setup().await;
    let token = "twilio-test-token-0123456789abcdef";
    let r = call(
        &s.app,
        &s.c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"twilio_auth_token": token})),
    )
    .await;
    assert_eq!(r.status, 200);
    let url = format!(
        "{}/webhooks/sms/twilio",
        std::env::var("PUBLIC_API_URL").unwrap()
    );
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    let params: Vec<(String, String)> = [
        ("MessageSid", sid.as_str()),
        ("From", s.mobile.as_str()),
        ("To", s.number.as_str()),
        ("Body", "STOP"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish()
        .into_bytes();
    let post = |sig: Option<String>, body: Vec<u8>| {
        let app = s.app.clone();
        async move {
            let h: Vec<(&str, String)> = sig
                .map(|s| vec![("x-twilio-signature", s)])
                .unwrap_or_default();
            call_public(
                &app,
                "/webhooks/sms/twilio",
                &h,
                body,
                "application/x-www-form-urlencoded",
            )
            .await
        }
    };
    let before = snapshot(&s.app, &s.c.id).await;
    let good = twilio::sign(token, &url, &params);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("STOP", "HELLO")
        .into_bytes();
    for (sig, b) in [
        (Some(good.clone()), tampered),
        (
            Some(twilio::sign("wrong-token", &url, &params)),
            body.clone(),
        ),
        (None, body.clone()),
    ] {
        let r = post(sig, b).await;
        assert_eq!(r.status, 401, "{}", r.json);
    }
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    let r = post(Some(good.clone()), body.clone()).await;
    assert_eq!(
        (r.status.as_u16(), r.json["outcome"].as_str()),
        (200, Some("stored")),
        "{}",
        r.json
    );
    let r = post(Some(good.clone()), body.clone()).await;
    assert_eq!(r.json["outcome"], "replay");
    assert_eq!(send_sms(&s).await["status"], "skipped");

    // `null` removes the token: a post signed with it is no longer the clinic's.
    let r = call(
        &s.app,
        &s.c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"twilio_auth_token": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = post(Some(good), body).await;
    assert_eq!(r.status, 401, "{}", r.json);
}

/// The SNS topic the local stack names (`SNS_TOPIC_ARNS`).
const OUR_TOPIC: &str = "arn:aws:sns:ap-southeast-2:123456789012:two-way";

/// An SNS envelope for `message` from our topic, sent now, signed with the test key whose
/// certificate the local certificate server serves.
fn sns_envelope(kind: &str, message: &str, cert_url: &str) -> Value {
    sns_envelope_from(kind, message, cert_url, OUR_TOPIC, chrono::Utc::now())
}

/// The local certificate server's test certificate.
fn test_cert() -> String {
    format!(
        "{}SimpleNotificationService-test.pem",
        std::env::var("SNS_CERT_URL_PREFIX").unwrap()
    )
}

async fn post_sns(app: &App, e: &Value) -> Reply {
    let b = e.to_string().into_bytes();
    call_public(app, "/webhooks/sms/sns", &[], b, "text/plain").await
}

/// A delivery event for the message SNS knows as `pid`, signed and posted by our topic.
async fn sns_receipt(app: &App, pid: &str, status: &str) -> Reply {
    let event = json!({"eventType": "TEXT_DELIVERED", "messageId": pid, "messageStatus": status,
        "messageStatusDescription": "handset off"});
    post_sns(
        app,
        &sns_envelope("Notification", &event.to_string(), &test_cert()),
    )
    .await
}

/// [`sns_envelope`] from any topic, at any time: SNS signs every topic's posts with the same
/// key, so the signature verifies whoever owns the topic.
fn sns_envelope_from(
    kind: &str,
    message: &str,
    cert_url: &str,
    topic: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let prefix = std::env::var("SNS_CERT_URL_PREFIX").unwrap();
    let mut e = json!({
        "Type": kind, "MessageId": fresh_id(), "TopicArn": topic,
        "Message": message, "Timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "SignatureVersion": "1",
        "SigningCertURL": cert_url, "Signature": "",
    });
    if kind == "SubscriptionConfirmation" {
        e["SubscribeURL"] = json!(format!(
            "{prefix}SimpleNotificationService-test.pem?Action=ConfirmSubscription"
        ));
        e["Token"] = json!("token");
    }
    signed(e)
}

/// The envelope with its `Signature` made with the test key over what it says now.
fn signed(mut e: Value) -> Value {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let key =
        rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../fixtures/sns/test-signing-key.pem"))
            .unwrap();
    let envelope: tidings_domain::webhook::sns::Envelope =
        serde_json::from_value(e.clone()).unwrap();
    let text = tidings_domain::webhook::sns::string_to_sign(&envelope).unwrap();
    let sig = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
        .sign(text.as_bytes())
        .to_vec();
    e["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    e
}

#[tokio::test]
async fn sns_posts_are_verified_with_a_certificate_from_the_sns_host_only() {
    let s = setup().await;
    let cert = test_cert();
    let inbound = json!({"originationNumber": s.mobile, "destinationNumber": s.number, "messageKeyword": "KEYWORD",
        "messageBody": "Can I move my appointment?", "inboundMessageId": fresh_id()}).to_string();
    let post = |e: &Value| {
        let app = s.app.clone();
        let b = e.to_string().into_bytes();
        async move { call_public(&app, "/webhooks/sms/sns", &[], b, "text/plain").await }
    };
    let before = snapshot(&s.app, &s.c.id).await;
    let good = sns_envelope("Notification", &inbound, &cert);
    let mut tampered = good.clone();
    tampered["Message"] = json!(inbound.replace("move", "cancel"));
    let elsewhere = sns_envelope(
        "Notification",
        &inbound,
        "https://evil.example/SimpleNotificationService-test.pem",
    );
    let mut unsigned = good.clone();
    unsigned.as_object_mut().unwrap().remove("Signature");
    for e in [&tampered, &elsewhere] {
        let r = post(e).await;
        assert_eq!(r.status, 401, "{}", r.json);
    }
    assert_eq!(post(&unsigned).await.status, 401);
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    let r = post(&good).await;
    assert_eq!(
        (r.status.as_u16(), r.json["outcome"].as_str()),
        (200, Some("stored")),
        "{}",
        r.json
    );
    assert_eq!(post(&good).await.json["outcome"], "replay");
    let r = post(&sns_envelope("SubscriptionConfirmation", "confirm", &cert)).await;
    assert_eq!(r.status, 200, "{}", r.json);
}

/// Arbitrary bodies and headers at each provider's endpoint: never a panic or a 5xx, always a
/// 4xx (nothing stored) or a 200.
#[test]
fn arbitrary_posts_are_answered_4xx_or_200() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(app());
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 64,
        ..Default::default()
    });
    let strategy = (
        prop_oneof![Just("sns"), Just("twilio"), Just("generic")],
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::option::of("[0-9a-zA-Z+/=]{0,64}"),
    );
    runner
        .run(&strategy, |(provider, body, sig)| {
            let headers: Headers = match sig {
                Some(s) => vec![
                    (
                        generic::TIMESTAMP_HEADER,
                        chrono::Utc::now().timestamp().to_string(),
                    ),
                    (generic::SIGNATURE_HEADER, s.clone()),
                    (twilio::SIGNATURE_HEADER, s),
                ],
                None => vec![],
            };
            let r = rt.block_on(call_public(
                &app,
                &format!("/webhooks/sms/{provider}"),
                &headers,
                body,
                "application/octet-stream",
            ));
            prop_assert!(
                r.status.is_client_error() || r.status == 200,
                "{provider}: {} {}",
                r.status,
                r.json
            );
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn campaign_texts_reach_history_and_take_receipts() {
    let s = setup().await;
    let row = campaign(&s).await;
    assert_eq!(row["status"], "sent", "{row}");
    let in_history = |h: &[Value]| h.iter().find(|m| m["id"] == row["message_id"]).cloned();
    let sent = in_history(&history(&s).await).expect("the campaign text is in the history");
    assert_eq!(sent["status"], "sent");
    let pid = sent["provider_message_id"].as_str().unwrap().to_owned();
    let texts = moto_sent().await;
    assert_eq!(
        texts.sms_with_ids(std::slice::from_ref(&pid)).len(),
        1,
        "the id SNS gave"
    );
    let r = sns_receipt(&s.app, &pid, "DELIVERED").await;
    assert_eq!(r.json["outcome"], "receipt_recorded", "{}", r.json);
    let delivered = in_history(&history(&s).await).unwrap();
    assert_eq!(delivered["status"], "delivered");
}

// ---- Issue 20: who may post, in what order, and about whose messages ----

/// A correctly signed SNS post from a topic this deployment does not name (any AWS account can
/// make one and subscribe our URL): refused before anything is stored or sent, and its
/// subscription is never confirmed.
#[tokio::test]
async fn an_sns_post_from_a_topic_we_do_not_name_is_refused() {
    let s = setup().await;
    let stranger = unique_mobile();
    let help = json!({"originationNumber": stranger, "destinationNumber": s.number,
        "messageBody": "HELP", "inboundMessageId": fresh_id()})
    .to_string();
    let foreign = "arn:aws:sns:ap-southeast-2:999999999999:not-ours";
    let before = snapshot(&s.app, &s.c.id).await;
    for (kind, message) in [
        ("Notification", help.as_str()),
        ("SubscriptionConfirmation", "join"),
    ] {
        let post = sns_envelope_from(kind, message, &test_cert(), foreign, chrono::Utc::now());
        let r = post_sns(&s.app, &post).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (401, "unknown_source"),
            "{kind}: {}",
            r.json
        );
    }
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    assert!(
        moto_sent().await.sms_to(&stranger).is_empty(),
        "no free HELP answer"
    );
    // The same post from our topic is taken.
    let ours = sns_envelope("Notification", &help, &test_cert());
    assert_eq!(post_sns(&s.app, &ours).await.json["outcome"], "stored");
    assert_eq!(moto_sent().await.sms_to(&stranger).len(), 1);
}

/// A deployment that names no SNS topic refuses every SNS post, its own topic's included.
#[tokio::test]
async fn a_deployment_naming_no_topic_refuses_every_sns_post() {
    let s = setup().await;
    let mut app = s.app.clone();
    if let Some(w) = app.config.webhooks.as_mut() {
        w.sns_topic_arns.clear();
    }
    let help = json!({"originationNumber": s.mobile, "destinationNumber": s.number,
        "messageBody": "HELP", "inboundMessageId": fresh_id()})
    .to_string();
    let before = snapshot(&s.app, &s.c.id).await;
    let r = post_sns(&app, &sns_envelope("Notification", &help, &test_cert())).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "unknown_source"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
}

/// An SNS post older than the window (default one hour), or dated ahead of our clock by more
/// than clock skew, is refused; one with no readable time is a 400 naming `Timestamp`.
#[tokio::test]
async fn a_stale_or_future_sns_post_is_refused() {
    let s = setup().await;
    let stop = json!({"originationNumber": s.mobile, "destinationNumber": s.number,
        "messageBody": "STOP", "inboundMessageId": fresh_id()})
    .to_string();
    let before = snapshot(&s.app, &s.c.id).await;
    let now = chrono::Utc::now();
    for at in [
        now - chrono::Duration::days(3),
        now - chrono::Duration::minutes(61),
        now + chrono::Duration::hours(1),
    ] {
        let e = sns_envelope_from("Notification", &stop, &test_cert(), OUR_TOPIC, at);
        let r = post_sns(&s.app, &e).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (401, "stale_signature"),
            "{at}: {}",
            r.json
        );
    }
    let mut unreadable = sns_envelope("Notification", &stop, &test_cert());
    unreadable["Timestamp"] = json!("last Tuesday");
    // Signed again, so only the time is wrong.
    let r = post_sns(&s.app, &signed(unreadable)).await;
    assert_eq!(
        (r.status.as_u16(), r.field()),
        (400, "Timestamp"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    // Within the window it counts.
    let e = sns_envelope_from(
        "Notification",
        &stop,
        &test_cert(),
        OUR_TOPIC,
        now - chrono::Duration::minutes(50),
    );
    assert_eq!(post_sns(&s.app, &e).await.json["outcome"], "stored");
    assert_eq!(send_sms(&s).await["status"], "skipped");
}

/// START (A), STOP (B), then A again: the replay is caught before it changes consent.
#[tokio::test]
async fn a_replayed_start_after_a_stop_changes_nothing() {
    let s = setup().await;
    let a = fresh_id();
    assert_eq!(text(&s, &a, "START").await.json["outcome"], "stored");
    assert_eq!(
        text(&s, &fresh_id(), "STOP").await.json["outcome"],
        "stored"
    );
    let before = snapshot(&s.app, &s.c.id).await;
    assert_eq!(text(&s, &a, "START").await.json["outcome"], "replay");
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    assert_eq!(send_sms(&s).await["status"], "skipped");
}

/// Consent follows the order the patient sent: a START sent before a STOP that was applied
/// first is kept in the history, tells the practice it is a reply, and changes nothing.
#[tokio::test]
async fn an_older_opt_in_arriving_after_a_newer_opt_out_changes_nothing() {
    let s = setup().await;
    let now = chrono::Utc::now();
    let at = |mins: i64| (now - chrono::Duration::minutes(mins)).to_rfc3339();
    let post = |body: &str, sent: String| {
        let msg = json!({"type": "message", "id": fresh_id(), "from": s.mobile, "to": s.number,
            "body": body, "received_at": sent});
        let app = s.app.clone();
        async move { post_generic(&app, &msg).await }
    };
    assert_eq!(post("STOP", at(1)).await.json["outcome"], "stored");
    assert_eq!(post("START", at(2)).await.json["outcome"], "stored");
    assert_eq!(send_sms(&s).await["status"], "skipped", "still opted out");
    let answers = moto_sent().await;
    assert_eq!(
        answers.sms_to(&s.mobile).len(),
        1,
        "only the STOP was confirmed"
    );
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    let kinds: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reply", "opted_out"]);
    let received = history(&s)
        .await
        .into_iter()
        .filter(|m| m["status"] == "received")
        .count();
    assert_eq!(received, 2, "both are in the history");
    // A START sent after the STOP opts back in.
    assert_eq!(post("START", at(0)).await.json["outcome"], "stored");
    assert_eq!(send_sms(&s).await["status"], "sent");
}

/// A clinic picks its email sender only inside the identities ops gave it.
#[tokio::test]
async fn a_clinic_sends_only_as_the_identities_ops_gave_it() {
    let s = setup().await;
    // Another clinic's domain, verified in SES (verification covers the whole account).
    tidings_tests::verify_sender_domain("other-clinic.example").await;
    let before = snapshot(&s.app, &s.c.id).await;
    for (patch, field) in [
        (
            json!({"email_sender": "hello@other-clinic.example"}),
            "email_sender",
        ),
        (
            json!({"email_sender": "hello@mail.harbour.example"}),
            "email_sender",
        ),
        (
            json!({"email_identities": ["other-clinic.example"]}),
            "email_identities",
        ),
        (
            json!({"sms_reply_numbers": [unique_mobile()]}),
            "sms_reply_numbers",
        ),
    ] {
        let r = call(
            &s.app,
            &s.c.admin_key,
            "PATCH",
            "/clinic",
            Some(patch.clone()),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (400, field),
            "{patch}: {}",
            r.json
        );
    }
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
    // Inside its own domain it may choose.
    let r = call(
        &s.app,
        &s.c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"email_sender": "bookings@harbour.example"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["email_identities"], json!(["harbour.example"]));
    assert_eq!(r.json["sms_reply_numbers"], json!([s.number]));
    // Ops give it the other domain; then it may send as it.
    tidings_app::services::clinics::assign(
        &s.app.store,
        &s.c.id,
        tidings_app::services::clinics::Assignment::AssignIdentity("other-clinic.example".into()),
    )
    .await
    .unwrap();
    let r = call(
        &s.app,
        &s.c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"email_sender": "hello@other-clinic.example"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // An identity the sender still needs cannot be taken back.
    let r = tidings_app::services::clinics::assign(
        &s.app.store,
        &s.c.id,
        tidings_app::services::clinics::Assignment::ReleaseIdentity("other-clinic.example".into()),
    )
    .await;
    assert!(
        matches!(r, Err(tidings_app::ServiceError::Invalid(ref f)) if f.field == "email_sender"),
        "{r:?}"
    );
}

/// Twilio status callbacks are about a message sent `From` the clinic's number, so they verify
/// with that clinic's token; a receipt changes only a message of the clinic (and provider)
/// that vouched for it.
#[tokio::test]
async fn a_receipt_settles_only_messages_of_the_clinic_and_provider_that_vouched_for_it() {
    let a = setup().await;
    let sent = send_sms(&a).await;
    let pid = sent["provider_message_id"].as_str().unwrap().to_owned();
    // Clinic B, with its own number and Twilio token, names A's message.
    let b = new_clinic(&a.app).await;
    let b_number = assign_number(&a.app, &b.id).await;
    let token = "clinic-b-twilio-token-0123456789";
    let r = call(
        &a.app,
        &b.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"twilio_auth_token": token})),
    )
    .await;
    assert_eq!(r.status, 200);
    let url = format!(
        "{}/webhooks/sms/twilio",
        std::env::var("PUBLIC_API_URL").unwrap()
    );
    let callback = |sid: &str| -> Vec<(String, String)> {
        [
            ("MessageSid", sid),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("From", b_number.as_str()),
            ("To", a.mobile.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let params = callback(&pid);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish()
        .into_bytes();
    let h = vec![("x-twilio-signature", twilio::sign(token, &url, &params))];
    let r = call_public(
        &a.app,
        "/webhooks/sms/twilio",
        &h,
        body,
        "application/x-www-form-urlencoded",
    )
    .await;
    // A genuine status callback verifies (with the token of the clinic that owns `From`)...
    assert_eq!(
        (r.status.as_u16(), r.json["outcome"].as_str()),
        (200, Some("receipt_ignored")),
        "{}",
        r.json
    );
    // ...and the generic provider's, which sent nothing, settles nothing either.
    let r = post_generic(
        &a.app,
        &json!({"type": "receipt", "id": pid, "status": "failed"}),
    )
    .await;
    assert_eq!(r.json["outcome"], "receipt_ignored", "{}", r.json);
    let status =
        |h: Vec<Value>| h.into_iter().find(|m| m["id"] == sent["id"]).unwrap()["status"].clone();
    assert_eq!(status(history(&a).await), "sent");
    // SNS, which sent it, settles it.
    assert_eq!(
        sns_receipt(&a.app, &pid, "DELIVERED").await.json["outcome"],
        "receipt_recorded"
    );
    assert_eq!(status(history(&a).await), "delivered");
}

/// CANCEL after a reminder opts out (carriers require it) and also flags the appointment, so
/// the practice calls the patient.
#[tokio::test]
async fn cancel_after_a_reminder_opts_out_and_flags_the_appointment() {
    let s = setup().await;
    let appt = reminded_appointment(&s).await;
    assert_eq!(
        text(&s, &fresh_id(), "Cancel").await.json["outcome"],
        "stored"
    );
    let r = call(
        &s.app,
        &s.c.staff_key,
        "GET",
        &format!("/appointments/{appt}"),
        None,
    )
    .await;
    assert_eq!(r.json["status"], "cancellation_requested", "{}", r.json);
    let r = call(&s.app, &s.c.staff_key, "GET", "/notifications", None).await;
    let mut kinds: Vec<&str> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["cancellation_requested", "opted_out"]);
    assert_eq!(send_sms(&s).await["status"], "skipped");
}

/// INFO answers like HELP, and a flood of keywords gets one automatic answer a day.
#[tokio::test]
async fn info_answers_like_help_once_a_day_however_often_it_is_sent() {
    let s = setup().await;
    for word in ["INFO", "help", "HELP", "info?"] {
        assert_eq!(text(&s, &fresh_id(), word).await.json["outcome"], "stored");
    }
    for _ in 0..3 {
        text(&s, &fresh_id(), "STOP").await;
    }
    let answers = moto_sent().await;
    let texts: Vec<&str> = answers
        .sms_to(&s.mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts.len(),
        2,
        "one help, one opt-out confirmation: {texts:?}"
    );
    assert!(texts[0].contains("02 9000 0000"), "{texts:?}");
    assert!(texts[1].contains("START"), "{texts:?}");
}

/// A clinic's own opt-out words cannot be words that answer a reminder, opt in or ask for help.
#[tokio::test]
async fn reserved_words_cannot_opt_out() {
    let s = setup().await;
    let before = snapshot(&s.app, &s.c.id).await;
    for word in [
        "YES", "y", "No", "n", "confirm", "Start", "UNSTOP", "help", "INFO",
    ] {
        let r = call(
            &s.app,
            &s.c.admin_key,
            "PATCH",
            "/clinic",
            Some(json!({"opt_out_keywords": ["halt", word]})),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.field(), r.code()),
            (400, "opt_out_keywords[1]", "reserved"),
            "{word}"
        );
    }
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
}

/// Extreme timestamps are a 401, never an overflow (a panic in debug builds before).
#[tokio::test]
async fn extreme_generic_timestamps_are_refused_without_overflow() {
    let s = setup().await;
    let body = json!({"type": "message", "id": fresh_id(), "from": s.mobile, "to": s.number, "body": "STOP"});
    let bytes = body.to_string().into_bytes();
    let before = snapshot(&s.app, &s.c.id).await;
    for ts in [
        "-9223372036854775808",
        "9223372036854775807",
        "-1",
        "99999999999999999999",
    ] {
        let h = vec![
            (generic::TIMESTAMP_HEADER, ts.to_owned()),
            (
                generic::SIGNATURE_HEADER,
                generic::sign(SECRET.as_bytes(), ts, &bytes),
            ),
        ];
        let r = call_public(
            &s.app,
            "/webhooks/sms/generic",
            &h,
            bytes.clone(),
            "application/json",
        )
        .await;
        assert_eq!(r.status, 401, "{ts}: {}", r.json);
    }
    assert_eq!(snapshot(&s.app, &s.c.id).await, before);
}
