//! Dependants and contacts (issue 25, point 3): a dependant's reminders go to their contacts who
//! receive reminders, by SMS and email, named for the dependant; a contact-only profile is
//! never messaged as a patient.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::reminders::sweep_clinic;
use tidings_tests::{
    TestClinic, app, call, grant, moto_sent, new_clinic, unique_email, unique_mobile,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn person(app: &App, c: &TestClinic, body: Value) -> String {
    let r = call(app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn contact(app: &App, c: &TestClinic, patient: &str, body: Value) -> String {
    let path = format!("/patients/{patient}/contacts");
    let r = call(app, &c.staff_key, "POST", &path, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

async fn remind(app: &App, c: &TestClinic, patient: &str, start: &str) {
    let booking = json!({"patient_id": patient, "start": start,
                         "end": (t(start) + Duration::minutes(30)).to_rfc3339(), "location": "Room 2"});
    let r = call(app, &c.staff_key, "POST", "/appointments", Some(booking)).await;
    assert_eq!(r.status, 201, "{}", r.json);
}

async fn history(app: &App, c: &TestClinic, patient: &str) -> Vec<Value> {
    let path = format!("/patients/{patient}/messages?include_contacts=true&limit=100");
    let r = call(app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_dependants_reminder_goes_to_the_contacts_who_receive_reminders_named_for_them() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let settings = json!({"enabled": true,
        "channels": {"sms": {"body": "See you soon at {{ clinic_name }}:", "append": ["date_time"]},
                     "email": {"subject": "Appointment", "body": "See you soon:", "append": ["date_time"]}},
        "rules": [{"kind": "hours_before", "hours": 24}]});
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(settings),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Sam, a child with no number of his own; his mother receives reminders, his father does
    // not, and his aunt is a patient herself (a linked contact: her details serve).
    let sam = person(
        &app,
        &c,
        json!({"first_name": "Sam", "last_name": "Lee", "profile_type": "dependant"}),
    )
    .await;
    let (mum_mobile, mum_email) = (unique_mobile(), unique_email("mum"));
    let mum = contact(
        &app,
        &c,
        &sam,
        json!({"name": "Jo Lee", "relationship": "mother",
        "mobile": mum_mobile, "email": mum_email}),
    )
    .await;
    let dad_mobile = unique_mobile();
    let dad = contact(
        &app,
        &c,
        &sam,
        json!({"name": "Bo Lee", "relationship": "father",
        "mobile": dad_mobile, "receive_reminders_and_campaigns": false}),
    )
    .await;
    let aunt_mobile = unique_mobile();
    let aunt_patient = person(
        &app,
        &c,
        json!({"first_name": "Kim", "last_name": "Lee", "mobile": aunt_mobile}),
    )
    .await;
    let aunt = contact(
        &app,
        &c,
        &sam,
        json!({"relationship": "aunt", "contact_patient_id": aunt_patient}),
    )
    .await;

    remind(&app, &c, &sam, "2027-05-10T14:00:00+10:00").await;
    let r = sweep_clinic(&app, &c.id, t("2027-05-09T14:00:00+10:00"))
        .await
        .unwrap();
    assert_eq!(r.sent, 3, "{r:?}");

    let sent = moto_sent().await;
    let texts: Vec<String> = sent
        .sms_to(&mum_mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0].starts_with("Sam's appointment: See you soon at"),
        "{texts:?}"
    );
    assert_eq!(sent.email_to(&mum_email).len(), 1);
    assert_eq!(
        sent.sms_to(&aunt_mobile).len(),
        1,
        "the linked patient's number"
    );
    assert!(sent.sms_to(&dad_mobile).is_empty());

    let h = history(&app, &c, &sam).await;
    let outcome = |contact: &str, channel: &str| {
        h.iter()
            .find(|m| m["contact_id"] == contact && m["channel"] == channel)
            .map(|m| {
                (
                    m["status"].as_str().unwrap().to_owned(),
                    m["reason"].as_str().map(str::to_owned),
                )
            })
    };
    assert_eq!(outcome(&mum, "sms"), Some(("sent".into(), None)));
    assert_eq!(outcome(&mum, "email"), Some(("sent".into(), None)));
    assert_eq!(
        outcome(&dad, "sms"),
        Some(("skipped".into(), Some("contact_not_receiving".into())))
    );
    assert_eq!(outcome(&aunt, "sms"), Some(("sent".into(), None)));
    assert_eq!(
        outcome(&aunt, "email"),
        Some(("skipped".into(), Some("no_email".into())))
    );
    assert!(
        h.iter().all(|m| m["recipient"] == "contact"),
        "Sam himself is not messaged"
    );
    // Once: the sweep again sends nothing.
    let again = sweep_clinic(&app, &c.id, t("2027-05-09T14:00:00+10:00"))
        .await
        .unwrap();
    assert_eq!(again.sent, 0);

    // The aunt's own history shows what she received as Sam's contact.
    let own = history(&app, &c, &aunt_patient).await;
    let copy = own
        .iter()
        .find(|m| m["contact_id"] == aunt.as_str() && m["channel"] == "sms")
        .unwrap_or_else(|| panic!("{own:?}"));
    assert_eq!(
        (
            copy["patient_id"].as_str(),
            copy["recipient"].as_str(),
            copy["status"].as_str()
        ),
        (Some(sam.as_str()), Some("contact"), Some("sent"))
    );
    // Erased, nothing of her stays: not even the number Sam's reminder went to.
    tidings_tests::erase_patient(&app, &c.staff_key, &aunt_patient).await;
    let table = format!("{:?}", tidings_tests::snapshot(&app, &c.id).await);
    assert!(
        !table.contains(&aunt_mobile[1..]),
        "the aunt's number is still stored"
    );
}

#[tokio::test]
async fn contact_only_profiles_and_dependants_are_never_messaged_as_patients() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let carl_mobile = unique_mobile();
    let carl = person(
        &app,
        &c,
        json!({"first_name": "Carl", "last_name": "Ng",
        "mobile": carl_mobile, "profile_type": "contact_only"}),
    )
    .await;
    let tim_mobile = unique_mobile();
    let tim = person(
        &app,
        &c,
        json!({"first_name": "Tim", "last_name": "Ng",
        "mobile": tim_mobile, "profile_type": "dependant"}),
    )
    .await;
    let send =
        json!({"patient_ids": [carl, tim], "channel": "sms", "body": "Hello {{ first_name }}"});
    let r = call(&app, &c.staff_key, "POST", "/messages", Some(send)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let reasons: Vec<&str> = r.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(reasons, ["contact_only", "dependant"]);
    assert_eq!(r.json["credits"]["charged"], 0);
    let sent = moto_sent().await;
    assert!(sent.sms_to(&carl_mobile).is_empty() && sent.sms_to(&tim_mobile).is_empty());

    // A dependant with no contacts: the reminder is recorded as skipped, not sent to them.
    let settings = json!({"enabled": true,
        "channels": {"sms": {"body": "See you soon:", "append": ["date_time"]}},
        "rules": [{"kind": "hours_before", "hours": 24}]});
    call(
        &app,
        &c.admin_key,
        "PUT",
        "/settings/reminders",
        Some(settings),
    )
    .await;
    remind(&app, &c, &tim, "2027-05-12T14:00:00+10:00").await;
    let r = sweep_clinic(&app, &c.id, t("2027-05-11T14:00:00+10:00"))
        .await
        .unwrap();
    assert_eq!(r.sent, 0, "{r:?}");
    let h = history(&app, &c, &tim).await;
    assert!(
        h.iter()
            .any(|m| m["category"] == "appointment" && m["reason"] == "dependant"),
        "{h:?}"
    );
    assert!(moto_sent().await.sms_to(&tim_mobile).is_empty());
}
