//! Who caused it (issue 25, point 4): every message records the key that sent it (or made its
//! campaign) or the schedule that did, as `sent_by`; every change of a patient's or contact's
//! consent records the key, the unsubscribe link or the email provider's report that made it,
//! as `consent_changed_by`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::campaign_run::{FireOutcome, fire};
use tidings_app::services::reminders::sweep_clinic;
use tidings_domain::message_template::Channel;
use tidings_domain::unsubscribe::Token;
use tidings_tests::campaigns::{event, limits, report, sms_template};
use tidings_tests::{
    TestClinic, app, call, call_public_with, grant, new_clinic, unique_email, unique_mobile,
};

/// The id of a key string `tk_<id>.<secret>`.
fn id_of(key: &str) -> String {
    let id = key.split('.').next().unwrap_or_default();
    id.strip_prefix("tk_").unwrap_or(id).to_owned()
}

fn by_key(key: &str) -> Value {
    json!({"type": "api_key", "key_id": id_of(key)})
}

/// A second staff key of the clinic, issued through `POST /keys`.
async fn front_desk_key(app: &App, c: &TestClinic) -> String {
    let body = json!({"role": "staff", "label": "Front desk"});
    let r = call(app, &c.admin_key, "POST", "/keys", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["key"].as_str().unwrap().to_owned()
}

async fn history(app: &App, c: &TestClinic, patient: &str) -> Vec<Value> {
    let path = format!("/patients/{patient}/messages?limit=100");
    let r = call(app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["items"].as_array().unwrap().clone()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn every_message_records_the_key_or_the_schedule_that_sent_it() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let desk = front_desk_key(&app, &c).await;
    let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": unique_mobile()});
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(body))
        .await
        .id();

    // A one-off message: the key that sent it, by id and in the history.
    let send = json!({"patient_ids": [p], "channel": "sms", "body": "Hi {{ first_name }}"});
    let r = call(&app, &desk, "POST", "/messages", Some(send)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let one_off = r.json["messages"][0]["id"].as_str().unwrap().to_owned();
    let r = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/messages/{one_off}"),
        None,
    )
    .await;
    assert_eq!(r.json["sent_by"], by_key(&desk), "{}", r.json);

    // A campaign's messages: the key that made the campaign.
    let report_id = report(
        &app,
        &c.admin_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let template = sms_template(&app, &c.staff_key).await;
    let at = (Utc::now() + Duration::days(1)).to_rfc3339();
    let body = json!({"name": "Recall", "report_id": report_id,
                      "channels": {"sms": template}, "send_at": at});
    let r = call(&app, &c.admin_key, "POST", "/campaigns", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["created_by"], id_of(&c.admin_key).as_str());
    let campaign = r.id();
    let fired = "2027-02-01T09:00:00Z";
    let out = fire(&app, &event(&c, &campaign, fired), &limits(300)).await;
    assert!(matches!(out, Ok(FireOutcome::Finished { .. })), "{out:?}");

    // A reminder: the reminder schedule.
    let settings = json!({"enabled": true,
        "channels": {"sms": {"body": "Hi {{ first_name }}, your visit:", "append": ["date_time"]}},
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
    let start = "2027-03-10T14:00:00+11:00";
    let booking = json!({"patient_id": p, "start": start,
                         "end": (t(start) + Duration::minutes(30)).to_rfc3339()});
    let r = call(&app, &c.staff_key, "POST", "/appointments", Some(booking)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let swept = sweep_clinic(&app, &c.id, t("2027-03-09T14:00:00+11:00"))
        .await
        .unwrap();
    assert_eq!(swept.sent, 1, "{swept:?}");

    let mut by_category: Vec<(String, Value)> = history(&app, &c, &p)
        .await
        .iter()
        .map(|m| {
            (
                m["category"].as_str().unwrap().to_owned(),
                m["sent_by"].clone(),
            )
        })
        .collect();
    by_category.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_category,
        vec![
            ("appointment".to_owned(), json!({"type": "reminders"})),
            ("general".to_owned(), by_key(&desk)),
            ("recall".to_owned(), by_key(&c.admin_key)),
        ]
    );
}

#[tokio::test]
async fn every_change_of_consent_records_who_made_it_and_nothing_else_does() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let desk = front_desk_key(&app, &c).await;
    let body = json!({"first_name": "Ann", "last_name": "Lee", "email": unique_email("consent")});
    let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["consent_changed_by"], by_key(&c.staff_key));
    let made_at = r.json["consent_changed_at"].clone();
    assert!(made_at.is_string(), "{}", r.json);
    let p = r.id();
    let path = format!("/patients/{p}");

    // Another field changes nothing about consent.
    let r = call(
        &app,
        &desk,
        "PATCH",
        &path,
        Some(json!({"last_name": "Li"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (&r.json["consent_changed_by"], &r.json["consent_changed_at"]),
        (&by_key(&c.staff_key), &made_at)
    );
    // A change of consent records the key that made it.
    let patch = json!({"receive_campaigns": {"sms": false}});
    let r = call(&app, &desk, "PATCH", &path, Some(patch)).await;
    assert_eq!(r.json["consent_changed_by"], by_key(&desk), "{}", r.json);
    assert_ne!(r.json["consent_changed_at"], made_at);

    // The unsubscribe link: the person, not a key.
    let token = Token {
        clinic_id: c.id.clone(),
        patient_id: p.clone(),
        contact_id: None,
        channel: Channel::Email,
    }
    .sign(
        &tidings_tests::secret("UNSUBSCRIBE_SECRET")
            .await
            .into_bytes(),
    );
    let r = call_public_with(
        &app,
        "POST",
        &format!("/unsubscribe/{token}"),
        &[],
        b"List-Unsubscribe=One-Click".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(r.json["receive_campaigns"]["email"], false);
    assert_eq!(
        r.json["consent_changed_by"],
        json!({"type": "unsubscribe_link"})
    );

    // A contact: made by one key, its consent changed by another.
    let body = json!({"name": "Bo Lee", "relationship": "Parent", "mobile": unique_mobile()});
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        &format!("{path}/contacts"),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["consent_changed_by"], by_key(&c.staff_key));
    let contact = format!("{path}/contacts/{}", r.id());
    let r = call(
        &app,
        &desk,
        "PATCH",
        &contact,
        Some(json!({"relationship": "Mother"})),
    )
    .await;
    assert_eq!(
        r.json["consent_changed_by"],
        by_key(&c.staff_key),
        "{}",
        r.json
    );
    let patch = json!({"receive_reminders_and_campaigns": false});
    let r = call(&app, &desk, "PATCH", &contact, Some(patch)).await;
    assert_eq!(r.json["consent_changed_by"], by_key(&desk), "{}", r.json);
}
