//! Events out (issue 25, point 1): `/webhook-endpoints` (admin), signed deliveries through the
//! table's stream, the delivery queue and the `webhook-deliver` function of the local stack,
//! retries with backoff, an endpoint disabled after three days of failures, and addresses a
//! deployment refuses (when the endpoint is made, and again at each delivery).

use chrono::Duration;
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::webhook_delivery::DeliveryRef;
use tidings_app::services::webhook_delivery::{Next, attempt};
use tidings_domain::outbound::signature;
use tidings_domain::outbound::url::Reach;
use tidings_domain::webhook::generic;
use tidings_tests::receiver::Receiver;
use tidings_tests::{
    TestClinic, app, assert_rejected, assign_number, call, call_public, new_clinic, snapshot,
    unique_mobile,
};

const SECRET: &str = "local-webhook-secret-not-for-production";

async fn endpoint(app: &App, c: &TestClinic, url: &str, events: Value) -> Value {
    let body = json!({"url": url, "events": events, "description": "Practice system"});
    let r = call(app, &c.admin_key, "POST", "/webhook-endpoints", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json
}

/// A patient with a mobile, and the number the clinic's replies arrive at.
async fn patient_and_number(app: &App, c: &TestClinic) -> (String, String, String) {
    let number = assign_number(app, &c.id).await;
    let mobile = unique_mobile();
    let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile});
    let r = call(app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    (r.id(), mobile, number)
}

/// The patient texts the clinic, through the generic provider's signed webhook.
async fn text(app: &App, from: &str, to: &str, words: &str) {
    let body = json!({"type": "message", "id": uuid::Uuid::new_v4().to_string(),
                      "from": from, "to": to, "body": words});
    let bytes = body.to_string().into_bytes();
    let ts = chrono::Utc::now().timestamp().to_string();
    let h = vec![
        (generic::TIMESTAMP_HEADER, ts.clone()),
        (
            generic::SIGNATURE_HEADER,
            generic::sign(SECRET.as_bytes(), &ts, &bytes),
        ),
    ];
    let r = call_public(app, "/webhooks/sms/generic", &h, bytes, "application/json").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn deliveries(app: &App, c: &TestClinic, id: &str) -> Vec<Value> {
    let path = format!("/webhook-endpoints/{id}/deliveries");
    let r = call(app, &c.admin_key, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"].as_array().unwrap().clone()
}

/// Sends `body`; expects a 400 naming `field` with `code`, and nothing written.
async fn refused(
    app: &App,
    c: &TestClinic,
    method: &str,
    path: &str,
    body: Value,
    field: &str,
    code: &str,
) {
    let before = snapshot(app, &c.id).await;
    let r = call(app, &c.admin_key, method, path, Some(body.clone())).await;
    assert_eq!(r.code(), code, "{body}: {}", r.json);
    assert_rejected(app, &c.id, &before, &r, 400, field).await;
}

/// An app that refuses private addresses, as every deployment does.
async fn deployed_app() -> App {
    let mut app = app().await;
    app.config.endpoint_reach = Reach::PublicOnly;
    app.webhook_http = tidings_app::webhook_http::WebhookHttp::new(Reach::PublicOnly).unwrap();
    app
}

#[tokio::test]
async fn an_admin_makes_an_endpoint_whose_secret_is_shown_once_and_no_other_clinic_sees_it() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let made = endpoint(
        &app,
        &c,
        "https://hooks.example.com/tidings",
        json!(["reply.received"]),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(
        made["secret"].as_str().unwrap().starts_with("whsec_"),
        "{made}"
    );
    assert_eq!(made["enabled"], true);
    let path = format!("/webhook-endpoints/{id}");

    let list = call(&app, &c.admin_key, "GET", "/webhook-endpoints", None).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
    let one = call(&app, &c.admin_key, "GET", &path, None).await;
    assert_eq!(one.json["url"], "https://hooks.example.com/tidings");
    for shown in [&list.json, &one.json] {
        assert!(!shown.to_string().contains("whsec_"), "{shown}");
    }
    // Staff keys do not manage endpoints.
    let r = call(&app, &c.staff_key, "GET", "/webhook-endpoints", None).await;
    assert_eq!(r.status, 403);

    let patch = json!({"events": ["message.failed", "reply.received"], "enabled": false});
    let r = call(&app, &c.admin_key, "PATCH", &path, Some(patch)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["events"],
        json!(["message.failed", "reply.received"])
    );
    assert_eq!(r.json["enabled"], false);

    // Another clinic: every route answers 404, and its list is empty.
    let other = new_clinic(&app).await;
    let before = snapshot(&app, &c.id).await;
    for (method, p, body) in [
        ("GET", path.clone(), None),
        ("PATCH", path.clone(), Some(json!({"enabled": true}))),
        ("DELETE", path.clone(), None),
        ("GET", format!("{path}/deliveries"), None),
    ] {
        let r = call(&app, &other.admin_key, method, &p, body).await;
        assert_eq!(r.status, 404, "{method} {p}: {}", r.json);
    }
    let r = call(&app, &other.admin_key, "GET", "/webhook-endpoints", None).await;
    assert_eq!(r.json["items"], json!([]));
    assert_eq!(snapshot(&app, &c.id).await, before);

    let r = call(&app, &c.admin_key, "DELETE", &path, None).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        call(&app, &c.admin_key, "GET", &path, None).await.status,
        404
    );
}

#[tokio::test]
async fn bad_endpoints_are_refused_naming_the_field_and_nothing_is_written() {
    let app = deployed_app().await;
    let c = new_clinic(&app).await;
    let ok = |url: &str| json!({"url": url, "events": ["reply.received"]});
    for (body, field, code) in [
        (ok("http://hooks.example.com/"), "url", "not_https"),
        (ok("https://127.0.0.1/"), "url", "private_address"),
        (ok("https://10.0.0.8/hook"), "url", "private_address"),
        (
            ok("https://169.254.169.254/latest/meta-data/"),
            "url",
            "private_address",
        ),
        (ok("https://[::1]:8443/"), "url", "private_address"),
        (
            ok("https://[::ffff:192.168.0.1]/"),
            "url",
            "private_address",
        ),
        (ok("https://localhost/"), "url", "private_address"),
        (ok("https://2130706433/"), "url", "private_address"),
        (ok("https://user:pw@hooks.example.com/"), "url", "invalid"),
        (json!({"events": ["reply.received"]}), "url", "required"),
        (
            json!({"url": "https://hooks.example.com/"}),
            "events",
            "required",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": []}),
            "events",
            "required",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["message.sent"]}),
            "events[0]",
            "unknown_event",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["reply.received"], "description": "x".repeat(201)}),
            "description",
            "too_long",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["reply.received"], "secret": "mine"}),
            "secret",
            "unknown_field",
        ),
    ] {
        refused(&app, &c, "POST", "/webhook-endpoints", body, field, code).await;
    }
    // A PATCH that would point an endpoint at the instance metadata service.
    let made = endpoint(
        &app,
        &c,
        "https://hooks.example.com/",
        json!(["reply.received"]),
    )
    .await;
    let path = format!("/webhook-endpoints/{}", made["id"].as_str().unwrap());
    let patch = json!({"url": "https://169.254.169.254/"});
    refused(&app, &c, "PATCH", &path, patch, "url", "private_address").await;
}

#[tokio::test]
async fn a_clinic_has_at_most_sixteen_endpoints() {
    let app = app().await;
    let c = new_clinic(&app).await;
    for i in 0..16 {
        endpoint(
            &app,
            &c,
            &format!("https://hooks.example.com/{i}"),
            json!(["reply.received"]),
        )
        .await;
    }
    let body = json!({"url": "https://hooks.example.com/17", "events": ["reply.received"]});
    let r = call(&app, &c.admin_key, "POST", "/webhook-endpoints", Some(body)).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "too_many_endpoints"),
        "{}",
        r.json
    );
}

#[tokio::test]
async fn a_reply_and_an_opt_out_reach_the_clinics_endpoint_signed_and_no_other_clinic_hears_them() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let receiver = Receiver::start(200).await;
    let made = endpoint(
        &app,
        &c,
        &receiver.url,
        json!(["reply.received", "patient.opted_out"]),
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    // Another clinic listens for replies too.
    let other = new_clinic(&app).await;
    let eavesdropper = Receiver::start(200).await;
    endpoint(&app, &other, &eavesdropper.url, json!(["reply.received"])).await;

    let (patient, mobile, number) = patient_and_number(&app, &c).await;
    text(&app, &mobile, &number, "Can I come Thursday instead?").await;
    let posts = receiver.wait_for(1, 60).await;
    assert_eq!(posts.len(), 1, "the stack delivered the reply's event");
    let post = &posts[0];
    let header = post.header(signature::HEADER).unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    assert!(
        signature::verify(&secret, header, post.body.as_bytes(), now, 300),
        "{header}"
    );
    assert!(!signature::verify(
        "whsec_wrong",
        header,
        post.body.as_bytes(),
        now,
        300
    ));
    let event = post.json();
    assert_eq!(event["type"], "reply.received", "{event}");
    assert_eq!(event["data"]["patient_id"], patient.as_str());
    assert_eq!(post.header("Tidings-Event-Id"), event["id"].as_str());
    // Ids only: the reply's words and the patient's number stay behind the API.
    assert!(
        !post.body.contains("Thursday") && !post.body.contains(&mobile[1..]),
        "{}",
        post.body
    );

    text(&app, &mobile, &number, "STOP").await;
    let posts = receiver.wait_for(2, 60).await;
    let kinds: Vec<Value> = posts.iter().map(|p| p.json()["type"].clone()).collect();
    assert!(kinds.contains(&json!("patient.opted_out")), "{kinds:?}");

    let shown = deliveries(&app, &c, &id).await;
    assert!(shown.len() >= 2, "{shown:?}");
    let first = shown
        .iter()
        .find(|d| d["event_type"] == "reply.received")
        .unwrap();
    assert_eq!(first["status"], "delivered", "{first}");
    assert_eq!(first["attempts"][0]["status_code"], 200);
    assert!(first.get("payload").is_none());
    assert!(
        eavesdropper.posts().is_empty(),
        "another clinic's endpoint heard nothing"
    );
}

#[tokio::test]
async fn a_failing_endpoint_is_tried_again_later_then_disabled_after_three_days() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let receiver = Receiver::start(500).await;
    let made = endpoint(&app, &c, &receiver.url, json!(["reply.received"])).await;
    let id = made["id"].as_str().unwrap().to_owned();
    let (_, mobile, number) = patient_and_number(&app, &c).await;
    text(&app, &mobile, &number, "Running late").await;
    // The stack's first attempt fails; its next is a minute later.
    let first = receiver.wait_for(1, 60).await;
    assert_eq!(first.len(), 1);
    let event_id = first[0].json()["id"].as_str().unwrap().to_owned();
    let mut shown = Vec::new();
    for _ in 0..50 {
        shown = deliveries(&app, &c, &id).await;
        if shown
            .first()
            .is_some_and(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let d = &shown[0];
    assert_eq!(
        (
            d["status"].as_str(),
            d["attempts"][0]["status_code"].as_u64()
        ),
        (Some("pending"), Some(500)),
        "{d}"
    );
    assert!(d["next_attempt_at"].is_string());

    // The next attempts, as the queue would hand them over, on a clock moved forward.
    let target = DeliveryRef {
        clinic_id: c.id.clone(),
        endpoint_id: id.clone(),
        event_id: event_id.clone(),
    };
    assert_eq!(attempt(&app, &target).await.unwrap(), Next::RetryAfter(300));
    app.store.clock().advance(Duration::days(3));
    assert_eq!(
        attempt(&app, &target).await.unwrap(),
        Next::RetryAfter(1_800)
    );
    let r = call(
        &app,
        &c.admin_key,
        "GET",
        &format!("/webhook-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(r.json["enabled"], false, "{}", r.json);
    assert!(r.json["disabled_reason"].is_string());
    let notes = call(&app, &c.staff_key, "GET", "/notifications", None).await;
    let kinds: Vec<&str> = notes.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"webhook_endpoint_disabled"), "{kinds:?}");
    // A disabled endpoint gets nothing more: the delivery ends.
    assert_eq!(attempt(&app, &target).await.unwrap(), Next::Done);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 3);
    assert!(
        posts.iter().all(|p| p.json()["id"] == event_id.as_str()),
        "the same event each time"
    );
    assert_eq!(deliveries(&app, &c, &id).await[0]["status"], "failed");

    // Enabled again, it starts afresh.
    let path = format!("/webhook-endpoints/{id}");
    let r = call(
        &app,
        &c.admin_key,
        "PATCH",
        &path,
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        (
            r.json["enabled"].as_bool(),
            r.json["disabled_reason"].is_null()
        ),
        (Some(true), true)
    );
}

#[tokio::test]
async fn a_delivery_to_an_address_the_deployment_refuses_is_never_posted() {
    // An endpoint stored with a local URL (here the local stack allowed it), delivered by a
    // deployment that refuses private addresses: the attempt is refused, nothing is posted.
    let app = app().await;
    let c = new_clinic(&app).await;
    let receiver = Receiver::start(200).await;
    let made = endpoint(&app, &c, &receiver.url, json!(["reply.received"])).await;
    let id = made["id"].as_str().unwrap().to_owned();
    receiver.answer(500);
    let (_, mobile, number) = patient_and_number(&app, &c).await;
    text(&app, &mobile, &number, "Hello").await;
    let first = receiver.wait_for(1, 60).await;
    let event_id = first[0].json()["id"].as_str().unwrap().to_owned();
    let deployed = deployed_app().await;
    let target = DeliveryRef {
        clinic_id: c.id.clone(),
        endpoint_id: id.clone(),
        event_id,
    };
    assert!(matches!(
        attempt(&deployed, &target).await.unwrap(),
        Next::RetryAfter(_)
    ));
    assert_eq!(
        receiver.posts().len(),
        1,
        "nothing posted by the deployment"
    );
    let d = &deliveries(&app, &c, &id).await[0];
    let outcomes: Vec<&str> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes.last(), Some(&"refused_address"), "{d}");
}

#[tokio::test]
async fn a_change_the_stream_hands_over_twice_is_one_event_and_one_delivery() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let receiver = Receiver::start(200).await;
    let made = endpoint(&app, &c, &receiver.url, json!(["reply.received"])).await;
    let id = made["id"].as_str().unwrap().to_owned();
    // A stream record as Lambda hands it over: a reply's notification, inserted.
    let record = json!({"dynamodb": {
        "ApproximateCreationDateTime": chrono::Utc::now().timestamp() as f64,
        "Keys": {"pk": {"S": format!("CLINIC#{}", c.id)}, "sk": {"S": "NOTIFICATION#n-twice"}},
        "NewImage": {"id": {"S": "n-twice"}, "kind": {"S": "reply"}, "message_id": {"S": "m-1"},
                     "patient_id": {"S": "p-1"}, "contact_id": {"NULL": true},
                     "appointment_id": {"NULL": true}, "from": {"S": "+61400000000"},
                     "body": {"S": "hello"}, "read": {"BOOL": false},
                     "created_at": {"S": "2026-12-06T00:00:00Z"}, "read_at": {"NULL": true}},
        "SequenceNumber": "4200000000000000000001"}});
    let event = || serde_json::from_value(json!({"Records": [record.clone()]})).unwrap();
    let first = tidings_app::webhook_functions::handle_stream(&app, event())
        .await
        .unwrap();
    assert_eq!(first, 1);
    receiver.wait_for(1, 30).await;
    // Lambda retries the batch: the same change, the same event, no second delivery.
    tidings_app::webhook_functions::handle_stream(&app, event())
        .await
        .unwrap();
    let shown = deliveries(&app, &c, &id).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["status"], "delivered");
    let posts = receiver.posts();
    assert!(
        posts.iter().all(|p| p.json()["id"] == shown[0]["event_id"]),
        "{posts:?}"
    );
    assert!(!posts[0].body.contains("hello") && !posts[0].body.contains("+61400000000"));
}

/// The SNS event Lambda delivers to `ses-events` for one SES event about `message_id`.
fn ses_event(kind: &str, clinic_id: &str, message_id: &str, extra: Value) -> Value {
    let mut ses = json!({"eventType": kind,
        "mail": {"timestamp": "2026-11-24T00:00:00.000Z", "source": "hello@harbour.example",
                 "messageId": "ses-provider-id", "destination": [],
                 "tags": {"clinic_id": [clinic_id], "message_id": [message_id]}}});
    ses.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"Records": [{"Sns": {"Message": ses.to_string()}}]})
}

#[tokio::test]
async fn deliveries_bounces_a_finished_campaign_and_low_credits_reach_the_endpoint() {
    use tidings_tests::campaigns::{event, limits, report, sms_template};
    let app = app().await;
    let c = new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 50).await;
    let receiver = Receiver::start(200).await;
    let wanted = json!([
        "message.delivered",
        "message.failed",
        "campaign.sent",
        "credits.low"
    ]);
    endpoint(&app, &c, &receiver.url, wanted).await;
    let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": unique_mobile(),
                      "email": tidings_tests::unique_email("events")});
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(body))
        .await
        .id();

    // Two emails: SES reports one delivered and the other bounced.
    let mut emails = Vec::new();
    for _ in 0..2 {
        let send =
            json!({"patient_ids": [p], "channel": "email", "subject": "Hi", "body": "Hello"});
        let r = call(&app, &c.staff_key, "POST", "/messages", Some(send)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        emails.push(r.json["messages"][0]["id"].as_str().unwrap().to_owned());
    }
    let apply = |e: Value| {
        let app = app.clone();
        async move {
            let e = serde_json::from_value(e).unwrap();
            tidings_app::ses_function::handle(&app, e).await.unwrap()
        }
    };
    assert_eq!(
        apply(ses_event(
            "Delivery",
            &c.id,
            &emails[0],
            json!({"delivery": {}})
        ))
        .await,
        1
    );
    let bounce = json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": []}});
    assert_eq!(
        apply(ses_event("Bounce", &c.id, &emails[1], bounce)).await,
        1
    );

    // A campaign to the one patient: it finishes, and its credit takes the balance below 50.
    let report_id = report(
        &app,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let template = sms_template(&app, &c.staff_key).await;
    let at = (chrono::Utc::now() + Duration::days(1)).to_rfc3339();
    let body = json!({"name": "Recall", "report_id": report_id, "channels": {"sms": template}, "send_at": at});
    let campaign = call(&app, &c.staff_key, "POST", "/campaigns", Some(body))
        .await
        .id();
    tidings_app::services::campaign_run::fire(
        &app,
        &event(&c, &campaign, "2027-02-01T09:00:00Z"),
        &limits(300),
    )
    .await
    .unwrap();

    let posts = receiver.wait_for(4, 60).await;
    let by_type = |t: &str| posts.iter().map(|p| p.json()).find(|e| e["type"] == t);
    let delivered = by_type("message.delivered").expect("message.delivered");
    assert_eq!(delivered["data"]["message_id"], emails[0].as_str());
    assert_eq!(delivered["data"]["channel"], "email");
    let failed = by_type("message.failed").expect("message.failed");
    assert_eq!(failed["data"]["message_id"], emails[1].as_str());
    assert!(
        !failed.to_string().contains("bounced"),
        "no provider diagnostics: {failed}"
    );
    let sent = by_type("campaign.sent").expect("campaign.sent");
    assert_eq!(sent["data"]["campaign_id"], campaign.as_str());
    let low = by_type("credits.low").expect("credits.low");
    assert_eq!(
        (
            low["data"]["account"].as_str(),
            low["data"]["below"].as_i64()
        ),
        (Some("group"), Some(50))
    );
    assert!(low["data"]["balance"].as_i64().unwrap() < 50, "{low}");
    assert_eq!(
        posts.len(),
        4,
        "each once: {:?}",
        posts
            .iter()
            .map(|p| p.json()["type"].clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_deliver_function_killed_after_its_post_and_before_its_record_posts_again_and_loses_nothing()
 {
    use tidings_app::store::{Delivery, DeliveryStatus};
    use tidings_domain::outbound::event::{Event, EventType};
    use tidings_tests::lambda_process::LambdaProcess;
    let app = app().await;
    let c = new_clinic(&app).await;
    let receiver = Receiver::start(200).await;
    let made = endpoint(&app, &c, &receiver.url, json!(["reply.received"])).await;
    let endpoint_id = made["id"].as_str().unwrap().to_owned();
    // A delivery as webhook-events records it (not queued: this test hands it over itself).
    let now = chrono::Utc::now();
    let event = Event {
        id: format!("evt_crash_{}", uuid::Uuid::new_v4().simple()),
        kind: EventType::ReplyReceived,
        created_at: now,
        data: json!({"message_id": "m-1", "patient_id": "p-1"}),
    };
    let delivery = Delivery {
        event_id: event.id.clone(),
        endpoint_id: endpoint_id.clone(),
        event_type: event.kind,
        created_at: now,
        status: DeliveryStatus::Pending,
        attempts: vec![],
        next_attempt_at: Some(now),
        payload: serde_json::to_string(&event).unwrap(),
    };
    assert!(
        app.store
            .create_webhook_delivery(&c.id, &delivery)
            .await
            .unwrap()
    );
    let target = DeliveryRef {
        clinic_id: c.id.clone(),
        endpoint_id: endpoint_id.clone(),
        event_id: event.id.clone(),
    };
    let sqs_event = json!({"Records": [{"messageId": "m-crash", "receiptHandle": "handle-crash",
                                        "body": serde_json::to_string(&target).unwrap()}]});

    // The endpoint takes the post and the function dies before it hears back or records it.
    receiver.hold(true);
    let mut process = LambdaProcess::start("webhook-deliver", &sqs_event, &[]).await;
    let got = receiver.wait_for(1, 30).await;
    assert_eq!(got.len(), 1, "the post reached the endpoint");
    process.kill();
    receiver.hold(false);
    let d = &deliveries(&app, &c, &endpoint_id).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_array().map(Vec::len)),
        (Some("pending"), Some(0)),
        "{d}"
    );

    // SQS hands the message over again (it was never deleted): posted again, then recorded.
    let event_again: tidings_app::queue::SqsEvent = serde_json::from_value(sqs_event).unwrap();
    let out = tidings_app::webhook_functions::handle_queue(&app, event_again).await;
    assert!(out.batch_item_failures.is_empty(), "{out:?}");
    let posts = receiver.posts();
    assert_eq!(posts.len(), 2, "at least once: never lost");
    assert!(
        posts.iter().all(|p| p.json()["id"] == event.id.as_str()),
        "the same event id, for the receiver to skip"
    );
    let d = &deliveries(&app, &c, &endpoint_id).await[0];
    assert_eq!(d["status"], "delivered", "{d}");
}
