//! `GET|PATCH /clinic`: a key sees and changes only its own clinic.

use serde_json::json;
use tidings_tests::{app, assert_rejected, call, new_clinic, snapshot};

#[tokio::test]
async fn get_and_patch_own_clinic() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let r = call(&app, &c.staff_key, "GET", "/clinic", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], c.id.as_str());
    assert_eq!(r.json["time_zone"], "Australia/Sydney");

    let r = call(
        &app,
        &c.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"time_zone": "Pacific/Auckland", "country": "NZ", "sms_sender_id": "Harbour"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["time_zone"], "Pacific/Auckland");
    assert_eq!(
        r.json["name"], "Harbour Dental",
        "a PATCH keeps fields it does not name"
    );
    assert_eq!(
        call(&app, &c.staff_key, "GET", "/clinic", None).await.json["sms_sender_id"],
        "Harbour"
    );
}

#[tokio::test]
async fn invalid_settings_are_rejected_by_field_and_write_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let before = snapshot(&app, &c.id).await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"country": "ZZ"}), "country"),
        (json!({"sms_sender_id": "123456"}), "sms_sender_id"),
        (json!({"sms_sender_id": "TooLongSender"}), "sms_sender_id"),
        (json!({"email_sender": "nope"}), "email_sender"),
        (json!({"name": 7}), "name"),
        (json!({"id": "other"}), "id"),
        (json!(["not", "an", "object"]), "body"),
    ];
    for (body, field) in cases {
        let r = call(&app, &c.admin_key, "PATCH", "/clinic", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
}

#[tokio::test]
async fn another_clinics_settings_are_out_of_reach() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    call(
        &app,
        &b.admin_key,
        "PATCH",
        "/clinic",
        Some(json!({"name": "B's clinic"})),
    )
    .await;
    let r = call(&app, &a.staff_key, "GET", "/clinic", None).await;
    assert_eq!(
        (
            r.json["id"].as_str().unwrap(),
            r.json["name"].as_str().unwrap()
        ),
        (a.id.as_str(), "Harbour Dental")
    );
}
