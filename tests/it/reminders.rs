//! Appointment reminders against the local stack: settings over the API, and sweeps run "at"
//! chosen instants (the sweep takes its time as the schedule's scheduled time does), sending
//! through moto. Appointments are in 2027 so the local bridge's own real-time sweeps never
//! reach them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::reminders::{SweepReport, sweep_clinic};
use tidings_app::store::Scope;
use tidings_domain::credits::practitioner_account;
use tidings_tests::{
    TestClinic, app, assert_rejected, call, grant, moto_sent, new_clinic, snapshot, unique_mobile,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn patient(app: &App, c: &TestClinic, mobile: &str) -> String {
    let r = call(
        app,
        &c.admin_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn practitioner(app: &App, c: &TestClinic, name: &str) -> String {
    let r = call(
        app,
        &c.admin_key,
        "POST",
        "/practitioners",
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn appointment(app: &App, c: &TestClinic, body: Value) -> String {
    let r = call(app, &c.admin_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

fn booking(patient: &str, start: &str) -> Value {
    let s = t(start);
    json!({"patient_id": patient, "start": start,
           "end": (s + Duration::minutes(30)).to_rfc3339(), "location": "Room 2"})
}

async fn put_settings(app: &App, c: &TestClinic, path: &str, body: Value) -> Value {
    let r = call(app, &c.admin_key, "PUT", path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

fn settings(body: &str, rules: Value) -> Value {
    json!({"channels": {"sms": {"body": body, "append": ["date_time", "practitioner", "room"]}},
           "rules": rules})
}

async fn sms_to(mobile: &str) -> Vec<String> {
    moto_sent()
        .await
        .sms_to(mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn sweep(app: &App, c: &TestClinic, at: &str) -> SweepReport {
    sweep_clinic(app, &c.id, t(at)).await.unwrap()
}

async fn ready(app: &App) -> (TestClinic, String, String) {
    let c = new_clinic(app).await;
    grant(app, &c.id, 100).await;
    let mobile = unique_mobile();
    let p = patient(app, &c, &mobile).await;
    (c, p, mobile)
}

#[tokio::test]
async fn settings_validate_preview_and_stay_in_their_clinic() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let r = call(&app, &c.staff_key, "GET", "/settings/reminders", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["level"], "group");
    assert_eq!(
        r.json["statuses"],
        json!(["scheduled", "confirmed", "out_of_reach"])
    );

    let good = json!({
        "channels": {"sms": {"body": "{{ first_name }}, see you at {{ clinic_name }}:",
                             "append": ["date_time", "practitioner", "room"]}},
        "rules": [{"kind": "hours_before", "hours": 24},
                  {"kind": "days_before", "days": 2, "at": "09:00"}],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "ask_for_reply": false,
    });
    let before = snapshot(&app, &c.id).await;
    let staff = call(
        &app,
        &c.staff_key,
        "PUT",
        "/settings/reminders",
        Some(good.clone()),
    )
    .await;
    assert_eq!(staff.status, 403);
    for (body, field) in [
        (
            json!({"rules": [{"kind": "hours_before", "hours": 0}], "channels": good["channels"]}),
            "rules[0].hours",
        ),
        (
            json!({"rules": [{"kind": "days_before", "days": 1, "at": "9am"}], "channels": good["channels"]}),
            "rules[0].at",
        ),
        (json!({"rules": good["rules"]}), "channels"),
        (
            json!({"rules": good["rules"], "channels": {"sms": {"body": "Hi {{ nickname }}"}}}),
            "channels.sms.body",
        ),
        (
            json!({"rules": good["rules"], "channels": {"sms": {"body": "x".repeat(150), "append": ["date_time"]}}}),
            "channels.sms.body",
        ),
        (
            json!({"rules": good["rules"], "channels": good["channels"], "statuses": ["booked"]}),
            "statuses[0]",
        ),
        (
            json!({"rules": good["rules"], "channels": good["channels"], "quiet_hours": {"start": "08:00", "end": "08:00"}}),
            "quiet_hours.end",
        ),
    ] {
        let r = call(&app, &c.admin_key, "PUT", "/settings/reminders", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let saved = put_settings(&app, &c, "/settings/reminders", good.clone()).await;
    assert_eq!(saved["enabled"], true);
    let preview = &saved["preview"]["sms"];
    assert!(
        preview["text"]
            .as_str()
            .unwrap()
            .starts_with("Ann, see you at Harbour Dental:"),
        "{preview}"
    );
    assert!(preview["characters"].as_u64().unwrap() <= 160);
    assert_eq!(preview["credits"], 1);
    let got = call(&app, &c.staff_key, "GET", "/settings/reminders", None).await;
    assert_eq!(got.json["rules"], good["rules"]);

    // A practitioner's own settings replace the group's until deleted.
    let pr = practitioner(&app, &c, "Dr Maya Ng").await;
    let path = format!("/practitioners/{pr}/reminder-settings");
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(
        (r.json["level"].as_str(), r.json["practitioner_id"].as_str()),
        (Some("group"), Some(pr.as_str()))
    );
    let own = put_settings(
        &app,
        &c,
        &path,
        settings("Own words", json!([{"kind": "hours_before", "hours": 48}])),
    )
    .await;
    assert_eq!(own["level"], "individual");
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(
        r.json["rules"],
        json!([{"kind": "hours_before", "hours": 48}])
    );
    let r = call(&app, &c.admin_key, "DELETE", &path, None).await;
    assert_eq!(r.status, 204);
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(r.json["level"], "group");
    let r = call(&app, &c.admin_key, "DELETE", &path, None).await;
    assert_eq!(r.status, 404);

    // Deleting a practitioner deletes their own settings.
    let gone = practitioner(&app, &c, "Dr Leaving").await;
    let gone_path = format!("/practitioners/{gone}/reminder-settings");
    put_settings(
        &app,
        &c,
        &gone_path,
        settings("Bye", json!([{"kind": "at_creation"}])),
    )
    .await;
    let r = call(
        &app,
        &c.admin_key,
        "DELETE",
        &format!("/practitioners/{gone}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.json);
    let left = app
        .store
        .reminder_settings(&c.id, &Scope::Practitioner(gone))
        .await
        .unwrap();
    assert!(left.is_none());

    // Another clinic sees its own (default) settings and none of this clinic's practitioners.
    let other = new_clinic(&app).await;
    let r = call(&app, &other.staff_key, "GET", "/settings/reminders", None).await;
    assert_eq!(r.json["enabled"], false);
    for method in ["GET", "PUT", "DELETE"] {
        let body = (method == "PUT").then(|| good.clone());
        let r = call(&app, &other.admin_key, method, &path, body).await;
        assert_eq!(r.status, 404, "{method} {}", r.json);
    }
    let r = call(&app, &c.staff_key, "GET", "/settings/reminders", None).await;
    assert_eq!(r.json["rules"], good["rules"]);
}

#[tokio::test]
async fn each_rule_sends_once_at_its_time() {
    let app = app().await;
    let (c, p, mobile) = ready(&app).await;
    put_settings(
        &app,
        &c,
        "/settings/reminders",
        settings(
            "Hi {{ first_name }}, your visit:",
            json!([{"kind": "at_creation"}, {"kind": "after_creation", "minutes": 30},
                   {"kind": "hours_before", "hours": 24},
                   {"kind": "days_before", "days": 2, "at": "09:00"}]),
        ),
    )
    .await;
    appointment(&app, &c, booking(&p, "2027-03-10T14:00:00+11:00")).await;
    let sent = sms_to(&mobile).await;
    assert_eq!(sent, vec!["Hi Ann, your visit: Wed 10 Mar 14:00 Room"]);

    // 30 minutes after booking (the sweep covers from its checkpoint or 15 minutes back).
    let r = sweep_clinic(&app, &c.id, Utc::now() + Duration::minutes(31))
        .await
        .unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    assert_eq!(sms_to(&mobile).await.len(), 2);

    assert_eq!(sweep(&app, &c, "2027-03-08T08:59:00+11:00").await.sent, 0);
    let r = sweep(&app, &c, "2027-03-08T09:00:00+11:00").await;
    assert_eq!((r.due, r.sent), (1, 1), "{r:?}");
    assert_eq!(sweep(&app, &c, "2027-03-09T13:55:00+11:00").await.sent, 0);
    // The same firing delivered twice at once, then again: one reminder.
    let at = t("2027-03-09T14:00:00+11:00");
    let (a, b) = tokio::join!(sweep_clinic(&app, &c.id, at), sweep_clinic(&app, &c.id, at));
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 1);
    assert_eq!(sweep(&app, &c, "2027-03-09T14:00:00+11:00").await.sent, 0);
    assert_eq!(sms_to(&mobile).await.len(), 4);

    // Every reminder is in the patient's history, tied to the appointment.
    let h = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{p}/messages"),
        None,
    )
    .await;
    let items = h.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(
        items
            .iter()
            .all(|m| m["category"] == "appointment" && m["status"] == "sent")
    );
    let bal = call(&app, &c.staff_key, "GET", "/credits", None).await;
    assert_eq!(bal.json["accounts"][0]["balance"], 96);
}

#[tokio::test]
async fn statuses_reschedules_and_cancellations() {
    let app = app().await;
    let (c, p, mobile) = ready(&app).await;
    put_settings(
        &app,
        &c,
        "/settings/reminders",
        settings("Reminder:", json!([{"kind": "hours_before", "hours": 24}])),
    )
    .await;
    let cancelled = appointment(&app, &c, booking(&p, "2027-04-20T10:00:00+10:00")).await;
    let moved = appointment(&app, &c, booking(&p, "2027-04-20T11:00:00+10:00")).await;
    let deleted = appointment(&app, &c, booking(&p, "2027-04-20T12:00:00+10:00")).await;
    let mut arrived = booking(&p, "2027-04-20T13:00:00+10:00");
    arrived["status"] = json!("arrived");
    appointment(&app, &c, arrived).await;
    appointment(&app, &c, booking(&p, "2027-04-20T14:00:00+10:00")).await;
    let patch = |id: &str, body: Value| {
        let (app, key, path) = (&app, c.admin_key.clone(), format!("/appointments/{id}"));
        async move {
            let r = call(app, &key, "PATCH", &path, Some(body)).await;
            assert_eq!(r.status, 200, "{}", r.json);
        }
    };
    patch(&cancelled, json!({"status": "cancelled"})).await;
    patch(
        &moved,
        json!({"start": "2027-04-21T11:00:00+10:00", "end": "2027-04-21T11:30:00+10:00"}),
    )
    .await;
    let r = call(
        &app,
        &c.admin_key,
        "DELETE",
        &format!("/appointments/{deleted}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204);

    sweep(&app, &c, "2027-04-19T09:55:00+10:00").await;
    let r = sweep(&app, &c, "2027-04-19T14:00:00+10:00").await;
    assert_eq!(r.sent, 1, "only the kept appointment: {r:?}");
    assert_eq!(
        sms_to(&mobile).await,
        vec!["Reminder: Tue 20 Apr 14:00 Room"]
    );
    let r = sweep(&app, &c, "2027-04-20T11:00:00+10:00").await;
    assert_eq!(r.sent, 1, "the moved one, at its new time: {r:?}");
    assert_eq!(sms_to(&mobile).await.len(), 2);
    // Moving it back produces a reminder for that time again (a new start time), once.
    patch(
        &moved,
        json!({"start": "2027-04-22T11:00:00+10:00", "end": "2027-04-22T11:30:00+10:00"}),
    )
    .await;
    assert_eq!(sweep(&app, &c, "2027-04-21T11:00:00+10:00").await.sent, 1);
    assert_eq!(sweep(&app, &c, "2027-04-21T11:00:00+10:00").await.sent, 0);
}

#[tokio::test]
async fn quiet_hours_defer_or_skip() {
    let app = app().await;
    let (c, p, mobile) = ready(&app).await;
    let mut s = settings("Soon:", json!([{"kind": "hours_before", "hours": 2}]));
    s["quiet_hours"] = json!({"start": "21:00", "end": "08:00"});
    put_settings(&app, &c, "/settings/reminders", s).await;
    // Due at 07:00 (quiet): sent at 08:00. Due at 05:30 for 07:30: started by 08:00, skipped.
    appointment(&app, &c, booking(&p, "2027-05-10T09:00:00+10:00")).await;
    appointment(&app, &c, booking(&p, "2027-05-10T07:30:00+10:00")).await;
    sweep(&app, &c, "2027-05-09T20:55:00+10:00").await;
    let r = sweep(&app, &c, "2027-05-10T07:05:00+10:00").await;
    assert_eq!((r.quiet, r.sent), (1, 0), "{r:?}");
    assert!(sms_to(&mobile).await.is_empty());
    let r = sweep(&app, &c, "2027-05-10T08:00:00+10:00").await;
    assert_eq!((r.sent, r.skipped), (1, 1), "{r:?}");
    assert_eq!(sms_to(&mobile).await, vec!["Soon: Mon 10 May 09:00 Room"]);
    let h = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{p}/messages"),
        None,
    )
    .await;
    let reasons: Vec<&str> = h.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["reason"].as_str())
        .collect();
    assert_eq!(reasons, vec!["quiet_hours"]);
}

#[tokio::test]
async fn a_practitioner_own_settings_and_account_then_back_to_the_group() {
    let app = app().await;
    let (c, p, mobile) = ready(&app).await;
    let pr = practitioner(&app, &c, "Dr Maya Ng").await;
    put_settings(
        &app,
        &c,
        "/settings/reminders",
        settings("Group:", json!([{"kind": "hours_before", "hours": 24}])),
    )
    .await;
    let own_path = format!("/practitioners/{pr}/reminder-settings");
    put_settings(
        &app,
        &c,
        &own_path,
        settings("Own:", json!([{"kind": "hours_before", "hours": 48}])),
    )
    .await;
    // The practitioner pays for their own reminders from their own account.
    let r = call(
        &app,
        &c.admin_key,
        "POST",
        &format!("/practitioners/{pr}/credit-account"),
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let account = practitioner_account(&pr);
    tidings_app::services::credits::grant_to(&app.store, &c.id, &account, 5, None)
        .await
        .unwrap();
    let mut b = booking(&p, "2027-06-10T10:00:00+10:00");
    b["practitioner_id"] = json!(pr);
    appointment(&app, &c, b.clone()).await;
    sweep(&app, &c, "2027-06-08T09:55:00+10:00").await;
    assert_eq!(sweep(&app, &c, "2027-06-08T10:00:00+10:00").await.sent, 1);
    assert_eq!(
        sweep(&app, &c, "2027-06-09T10:00:00+10:00").await.sent,
        0,
        "the group rule does not apply"
    );
    assert_eq!(
        sms_to(&mobile).await,
        vec!["Own: Thu 10 Jun 10:00 Dr Maya Ng Room"]
    );
    assert_eq!(app.store.credit_balance(&c.id, &account).await.unwrap(), 4);
    assert_eq!(app.store.credit_balance(&c.id, "group").await.unwrap(), 100);

    let r = call(&app, &c.admin_key, "DELETE", &own_path, None).await;
    assert_eq!(r.status, 204);
    b["start"] = json!("2027-06-20T10:00:00+10:00");
    b["end"] = json!("2027-06-20T10:30:00+10:00");
    appointment(&app, &c, b).await;
    sweep(&app, &c, "2027-06-18T09:55:00+10:00").await;
    assert_eq!(sweep(&app, &c, "2027-06-18T10:00:00+10:00").await.sent, 0);
    assert_eq!(sweep(&app, &c, "2027-06-19T10:00:00+10:00").await.sent, 1);
    assert_eq!(
        sms_to(&mobile).await.last().unwrap(),
        "Group: Sun 20 Jun 10:00 Dr Maya Ng Room"
    );
}

/// "1 day before at 09:00" goes out at 09:00 local on both sides of each change.
#[tokio::test]
async fn day_before_at_nine_across_daylight_saving() {
    let app = app().await;
    for (zone, cases) in [
        (
            "Australia/Sydney",
            [
                ("2027-10-03T10:00:00+11:00", "2027-10-02T09:00:00+10:00"),
                ("2027-10-04T10:00:00+11:00", "2027-10-03T09:00:00+11:00"),
            ],
        ),
        (
            "Europe/London",
            [
                ("2027-03-28T10:00:00+01:00", "2027-03-27T09:00:00+00:00"),
                ("2027-03-29T10:00:00+01:00", "2027-03-28T09:00:00+01:00"),
            ],
        ),
    ] {
        let (c, p, mobile) = ready(&app).await;
        let r = call(
            &app,
            &c.admin_key,
            "PATCH",
            "/clinic",
            Some(json!({"time_zone": zone})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        put_settings(
            &app,
            &c,
            "/settings/reminders",
            settings(
                "Tomorrow:",
                json!([{"kind": "days_before", "days": 1, "at": "09:00"}]),
            ),
        )
        .await;
        for (start, due) in cases {
            appointment(&app, &c, booking(&p, start)).await;
            let due = t(due);
            sweep_clinic(&app, &c.id, due - Duration::minutes(10))
                .await
                .unwrap();
            let before = sweep_clinic(&app, &c.id, due - Duration::minutes(1))
                .await
                .unwrap();
            assert_eq!(before.sent, 0, "{zone} {start}: not before 09:00");
            let at = sweep_clinic(&app, &c.id, due).await.unwrap();
            assert_eq!(at.sent, 1, "{zone} {start}: at 09:00 local");
        }
        assert_eq!(sms_to(&mobile).await.len(), 2);
    }
}

#[tokio::test]
async fn a_reminder_the_account_cannot_pay_for_is_skipped_once() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let mobile = unique_mobile();
    let p = patient(&app, &c, &mobile).await;
    put_settings(
        &app,
        &c,
        "/settings/reminders",
        settings("Hi:", json!([{"kind": "hours_before", "hours": 24}])),
    )
    .await;
    appointment(&app, &c, booking(&p, "2027-07-01T10:00:00+10:00")).await;
    sweep(&app, &c, "2027-06-30T09:55:00+10:00").await;
    let r = sweep(&app, &c, "2027-06-30T10:00:00+10:00").await;
    assert_eq!((r.sent, r.skipped), (0, 1), "{r:?}");
    assert!(sms_to(&mobile).await.is_empty());
    let h = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{p}/messages"),
        None,
    )
    .await;
    assert_eq!(
        h.json["items"][0]["reason"].as_str().unwrap(),
        "insufficient_credits: group"
    );
}
