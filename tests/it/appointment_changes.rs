//! The whole appointment (issue 25, point 2): a moved, cancelled or missed appointment
//! tells its patient at once, from the reminder settings' `on_change`, `on_cancel` and
//! `on_missed`: once per change, by consent, held through quiet hours, previewed like the rest;
//! and `after_visit`, hours after a visit is completed.

use chrono::{Duration, Timelike, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_tests::{
    TestClinic, app, call, grant, moto_sent, new_clinic, unique_email, unique_mobile,
};

fn settings(extra: Value) -> Value {
    let mut s = json!({"enabled": true,
        "channels": {"sms": {"body": "See you soon:", "append": ["date_time"]}},
        "rules": [{"kind": "hours_before", "hours": 24}],
        "on_change": {"sms": {"body": "Your visit has moved:", "append": ["date_time", "room"]},
                      "email": {"subject": "Your visit has moved", "body": "New time:", "append": ["date_time"]}},
        "on_cancel": {"sms": {"body": "Your visit is cancelled:", "append": ["date_time"]}},
        "on_missed": {"sms": {"body": "We missed you today, {{ first_name }}. Call us to rebook."}}});
    s.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    s
}

async fn put(app: &App, c: &TestClinic, body: Value) -> tidings_tests::Reply {
    call(app, &c.admin_key, "PUT", "/settings/reminders", Some(body)).await
}

async fn patient(app: &App, c: &TestClinic, extra: Value) -> (String, String, String) {
    let (mobile, email) = (unique_mobile(), unique_email("changes"));
    let mut body =
        json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile, "email": email});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = call(app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    (r.id(), mobile, email)
}

async fn book(app: &App, c: &TestClinic, patient: &str, start: &str) -> String {
    let end =
        (chrono::DateTime::parse_from_rfc3339(start).unwrap() + Duration::minutes(30)).to_rfc3339();
    let body = json!({"patient_id": patient, "start": start, "end": end, "location": "Room 2"});
    let r = call(app, &c.staff_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn patch(app: &App, c: &TestClinic, id: &str, body: Value) {
    let r = call(
        app,
        &c.staff_key,
        "PATCH",
        &format!("/appointments/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn texts(mobile: &str) -> Vec<String> {
    moto_sent()
        .await
        .sms_to(mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_moved_cancelled_or_missed_appointment_tells_its_patient_once_per_change() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let r = put(&app, &c, settings(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    for key in [
        "sms",
        "on_change.sms",
        "on_change.email",
        "on_cancel.sms",
        "on_missed.sms",
    ] {
        assert!(
            r.json["preview"][key]["text"].is_string(),
            "{key}: {}",
            r.json["preview"]
        );
    }
    let (ann, mobile, email) = patient(&app, &c, json!({})).await;
    let a = book(&app, &c, &ann, "2027-06-10T14:00:00+10:00").await;
    assert!(texts(&mobile).await.is_empty());

    // Moved: the new details, by SMS and email; the same PATCH again changes nothing.
    let moved = json!({"start": "2027-06-11T09:00:00+10:00", "end": "2027-06-11T09:30:00+10:00"});
    patch(&app, &c, &a, moved.clone()).await;
    patch(&app, &c, &a, moved).await;
    assert_eq!(
        texts(&mobile).await,
        ["Your visit has moved: Fri 11 Jun 09:00 Room"]
    );
    assert_eq!(moto_sent().await.email_to(&email).len(), 1);
    // Another room is another change.
    patch(&app, &c, &a, json!({"location": "Room 5"})).await;
    assert_eq!(texts(&mobile).await.len(), 2);
    // Another field (the type) is not news.
    patch(&app, &c, &a, json!({"appointment_type": "Check-up"})).await;
    assert_eq!(texts(&mobile).await.len(), 2);

    patch(&app, &c, &a, json!({"status": "cancelled"})).await;
    let t = texts(&mobile).await;
    assert_eq!(
        t.last().map(String::as_str),
        Some("Your visit is cancelled: Fri 11 Jun 09:00")
    );

    let b = book(&app, &c, &ann, "2027-06-12T14:00:00+10:00").await;
    patch(&app, &c, &b, json!({"status": "no_show"})).await;
    let t = texts(&mobile).await;
    assert_eq!(
        t.last().map(String::as_str),
        Some("We missed you today, Ann. Call us to rebook.")
    );
    assert_eq!(t.len(), 4);

    // Each is a message of the appointment in the history, paid as a reminder.
    let r = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{ann}/messages?limit=100"),
        None,
    )
    .await;
    let mine: Vec<&Value> = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["appointment_id"] == a.as_str() && m["channel"] == "sms")
        .collect();
    assert_eq!(mine.len(), 3, "{}", r.json);
    assert!(
        mine.iter()
            .all(|m| m["category"] == "appointment" && m["credits"] == 1)
    );
    assert!(
        mine.iter()
            .all(|m| m["sent_by"] == json!({"type": "reminders"}))
    );
}

#[tokio::test]
async fn change_messages_follow_consent_and_quiet_hours() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    put(&app, &c, settings(json!({}))).await;
    // A patient who takes no reminders by SMS: the cancellation is recorded, not sent.
    let (bo, bo_mobile, _) = patient(&app, &c, json!({"receive_reminders": {"sms": false}})).await;
    let a = book(&app, &c, &bo, "2027-06-10T14:00:00+10:00").await;
    patch(&app, &c, &a, json!({"status": "cancelled"})).await;
    assert!(texts(&bo_mobile).await.is_empty());
    let r = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{bo}/messages"),
        None,
    )
    .await;
    assert_eq!(
        r.json["items"][0]["reason"], "category_excluded",
        "{}",
        r.json
    );

    // Quiet hours now, where the clinic is: the message waits for them to end.
    let local = Utc::now().with_timezone(&chrono_tz::Australia::Sydney);
    let hm = |h: u32| format!("{:02}:{:02}", h % 24, 0);
    let quiet =
        json!({"quiet_hours": {"start": hm(local.hour() + 23), "end": hm(local.hour() + 2)}});
    let r = put(&app, &c, settings(quiet)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let (cy, cy_mobile, _) = patient(&app, &c, json!({})).await;
    let b = book(&app, &c, &cy, "2027-06-10T14:00:00+10:00").await;
    patch(&app, &c, &b, json!({"status": "cancelled"})).await;
    // Moved while quiet, then moved again: only the last version's message will go.
    let d = book(&app, &c, &cy, "2027-06-20T14:00:00+10:00").await;
    patch(&app, &c, &d, json!({"location": "Room 7"})).await;
    patch(&app, &c, &d, json!({"location": "Room 9"})).await;
    assert!(texts(&cy_mobile).await.is_empty());
    let sweep = |at| tidings_app::services::reminders::sweep_clinic(&app, &c.id, at);
    // Still quiet: nothing.
    assert_eq!(
        sweep(Utc::now() + Duration::minutes(30))
            .await
            .unwrap()
            .sent,
        0
    );
    // After they end: the cancellation (SMS), and the last move (SMS and email), once.
    let after = Utc::now() + Duration::hours(3);
    assert_eq!(sweep(after).await.unwrap().sent, 3);
    assert_eq!(sweep(after + Duration::minutes(5)).await.unwrap().sent, 0);
    let t = texts(&cy_mobile).await;
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(
        t.iter().any(|m| m.starts_with("Your visit is cancelled:")),
        "{t:?}"
    );
    assert!(
        t.iter().any(|m| m.starts_with("Your visit has moved:")),
        "{t:?}"
    );
}

#[tokio::test]
async fn change_messages_are_checked_like_reminders_and_a_bad_one_writes_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    for (extra, field, code) in [
        (json!({"on_cancel": {}}), "on_cancel", "required"),
        (
            json!({"on_cancel": {"sms": {"body": " "}}}),
            "on_cancel.sms.body",
            "required",
        ),
        (
            json!({"on_missed": {"email": {"body": "Missed you"}}}),
            "on_missed.email.subject",
            "required",
        ),
        (
            json!({"on_change": {"sms": {"body": "{{ link }}"}}}),
            "on_change.sms.body",
            "unknown_placeholder",
        ),
        (
            json!({"on_change": {"sms": {"body": "x".repeat(2000)}}}),
            "on_change.sms.body",
            "too_long",
        ),
        (
            json!({"on_late": {"sms": {"body": "x"}}}),
            "on_late",
            "unknown_field",
        ),
    ] {
        let before = tidings_tests::snapshot(&app, &c.id).await;
        let r = put(&app, &c, settings(extra.clone())).await;
        assert_eq!(
            (r.status.as_u16(), r.field(), r.code()),
            (400, field, code),
            "{extra}: {}",
            r.json
        );
        assert_eq!(tidings_tests::snapshot(&app, &c.id).await, before);
    }
    // Change messages alone, without timed reminders.
    let only = json!({"enabled": true, "on_cancel": {"sms": {"body": "Cancelled:", "append": ["date_time"]}}});
    let r = put(&app, &c, only).await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[tokio::test]
async fn a_completed_visit_gets_its_follow_up_with_the_link_hours_later_once() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let body = json!({"enabled": true, "after_visit": {"hours": 2, "link": "https://feedback.example/harbour",
        "sms": {"body": "Thanks for visiting, {{ first_name }}. How did we do? {{ link }}"}}});
    let r = put(&app, &c, body).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(
        r.json["preview"]["after_visit.sms"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Thanks for visiting")
    );
    let (ann, mobile, _) = patient(&app, &c, json!({})).await;
    let a = book(&app, &c, &ann, "2027-06-10T14:00:00+10:00").await;
    let b = book(&app, &c, &ann, "2027-06-11T14:00:00+10:00").await;
    patch(&app, &c, &a, json!({"status": "completed"})).await;
    // Completed by mistake, then put back: no follow-up.
    patch(&app, &c, &b, json!({"status": "completed"})).await;
    patch(&app, &c, &b, json!({"status": "arrived"})).await;
    let done = Utc::now();

    let early =
        tidings_app::services::reminders::sweep_clinic(&app, &c.id, done + Duration::minutes(90))
            .await
            .unwrap();
    assert_eq!(early.sent, 0, "{early:?}");
    let due =
        tidings_app::services::reminders::sweep_clinic(&app, &c.id, done + Duration::minutes(121))
            .await
            .unwrap();
    assert_eq!(due.sent, 1, "{due:?}");
    assert_eq!(
        texts(&mobile).await,
        ["Thanks for visiting, Ann. How did we do? https://feedback.example/harbour"]
    );
    let again =
        tidings_app::services::reminders::sweep_clinic(&app, &c.id, done + Duration::minutes(125))
            .await
            .unwrap();
    assert_eq!(again.sent, 0);

    for (av, field, code) in [
        (
            json!({"hours": 2, "sms": {"body": "How did we do? {{ link }}"}}),
            "after_visit.link",
            "required",
        ),
        (
            json!({"hours": 0, "sms": {"body": "Thanks"}}),
            "after_visit.hours",
            "out_of_range",
        ),
        (
            json!({"sms": {"body": "Thanks"}}),
            "after_visit.hours",
            "required",
        ),
        (
            json!({"hours": 2, "link": "http://feedback.example", "sms": {"body": "{{ link }}"}}),
            "after_visit.link",
            "invalid",
        ),
        (json!({"hours": 2}), "after_visit", "required"),
    ] {
        let r = put(&app, &c, json!({"enabled": true, "after_visit": av})).await;
        assert_eq!(
            (r.status.as_u16(), r.field(), r.code()),
            (400, field, code),
            "{av}: {}",
            r.json
        );
    }
}
