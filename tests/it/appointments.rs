//! `/appointments`, `/referrers` and `/patients/{id}/referrals` against DynamoDB Local.

use serde_json::json;
use tidings_tests::{app, assert_rejected, call, list_all, new_clinic, snapshot};

#[tokio::test]
async fn appointments_are_stored_in_utc_shown_locally_and_listed_by_time() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    let pr = call(
        &app,
        key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Ng"})),
    )
    .await
    .id();
    let p = call(
        &app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "A", "last_name": "B"})),
    )
    .await
    .id();
    // Given in UTC, shown in Sydney time (UTC+11 in December).
    let r = call(
        &app,
        key,
        "POST",
        "/appointments",
        Some(json!({"patient_id": p, "practitioner_id": pr, "start": "2026-12-01T22:00:00Z",
                    "end": "2026-12-01T22:30:00Z", "location": "Room 2", "appointment_type": "Check-up"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["start"], "2026-12-02T09:00:00+11:00");
    assert_eq!(r.json["status"], "scheduled");
    let first = r.id();
    for (day, status) in [("2026-12-03", "confirmed"), ("2026-12-20", "cancelled")] {
        let r = call(
            &app,
            key,
            "POST",
            "/appointments",
            Some(
                json!({"patient_id": p, "start": format!("{day}T10:00:00+11:00"),
                        "end": format!("{day}T10:15:00+11:00"), "status": status}),
            ),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let (all, pages) = list_all(
        &app,
        key,
        "/appointments?from=2026-12-01&to=2026-12-31&limit=1",
    )
    .await;
    assert_eq!((all.len(), pages), (3, 3));
    let starts: Vec<_> = all
        .iter()
        .map(|a| a["start"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "in start order");
    let (mine, _) = list_all(
        &app,
        key,
        &format!("/appointments?from=2026-12-01&to=2026-12-31&practitioner_id={pr}"),
    )
    .await;
    assert_eq!(mine.len(), 1);
    let (live, _) = list_all(
        &app,
        key,
        "/appointments?from=2026-12-01&to=2026-12-31&status=scheduled,confirmed",
    )
    .await;
    assert_eq!(live.len(), 2);
    let (day2, _) = list_all(&app, key, "/appointments?from=2026-12-02&to=2026-12-02").await;
    assert_eq!(day2.len(), 1, "a date is a whole local day");

    let path = format!("/appointments/{first}");
    let r = call(&app, key, "PATCH", &path, Some(json!({"start": "2026-12-02T10:00:00+11:00", "end": "2026-12-02T10:30:00+11:00", "status": "arrived"}))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (r.json["start"].as_str(), r.json["status"].as_str()),
        (Some("2026-12-02T10:00:00+11:00"), Some("arrived"))
    );
    assert_eq!(r.json["location"], "Room 2");
    assert_eq!(call(&app, key, "GET", &path, None).await.json, r.json);
    assert_eq!(call(&app, key, "DELETE", &path, None).await.status, 204);
    assert_eq!(call(&app, key, "GET", &path, None).await.status, 404);
}

#[tokio::test]
async fn bad_appointments_are_rejected_naming_the_field_and_clinics_kept_apart() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let key = &c.staff_key;
    let p = call(
        &app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "A", "last_name": "B"})),
    )
    .await
    .id();
    let theirs = other_patient(&app, &other.staff_key).await;
    let ok = json!({"patient_id": p, "start": "2026-12-01T09:00:00+11:00", "end": "2026-12-01T09:30:00+11:00"});
    let before = snapshot(&app, &c.id).await;
    for (k, v, field) in [
        ("start", json!("2026-12-01 09:00"), "start"),
        ("start", json!("2026-12-01T09:00:00"), "start"),
        ("end", json!("2026-12-01T08:00:00+11:00"), "end"),
        ("patient_id", json!("nope"), "patient_id"),
        ("patient_id", json!(theirs), "patient_id"),
        ("practitioner_id", json!("nope"), "practitioner_id"),
        ("status", json!("booked"), "status"),
        ("room", json!("2"), "room"),
    ] {
        let mut body = ok.clone();
        body[k] = v;
        let r = call_json(&app, key, "POST", "/appointments", body).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let r = call(
        &app,
        key,
        "GET",
        "/appointments?from=2026-12-01&to=2028-12-01",
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "to"));
    let r = call(&app, key, "GET", "/appointments?status=booked", None).await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "status"));

    let id = call_json(&app, key, "POST", "/appointments", ok).await.id();
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"status": "cancelled"}))),
        ("DELETE", None),
    ] {
        let r = tidings_tests::call(
            &app,
            &other.staff_key,
            method,
            &format!("/appointments/{id}"),
            body,
        )
        .await;
        assert_eq!(r.status, 404, "{method}");
    }
    let (listed, _) = list_all(
        &app,
        &other.staff_key,
        "/appointments?from=2026-11-01&to=2026-12-31",
    )
    .await;
    assert!(listed.is_empty());
}

async fn call_json(
    app: &tidings_app::App,
    key: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> tidings_tests::Reply {
    tidings_tests::call(app, key, method, path, Some(body)).await
}

/// A patient of the clinic whose key this is.
async fn other_patient(app: &tidings_app::App, key: &str) -> String {
    call(
        app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "T", "last_name": "U"})),
    )
    .await
    .id()
}

#[tokio::test]
async fn referrers_and_referrals() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let key = &c.staff_key;
    let r = call_json(&app, key, "POST", "/referrers", json!({"name": "Dr Jo Park", "practice": "Park GP", "mobile": "0412 000 111", "email": "jo@park.example"})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["mobile"], "+61412000111");
    let id = r.id();
    let path = format!("/referrers/{id}");
    let r = call_json(&app, key, "PATCH", &path, json!({"practice": null})).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["practice"].is_null());
    let r = call(&app, key, "GET", &path, None).await;
    assert_eq!(
        (r.status.as_u16(), &r.json["name"]),
        (200, &json!("Dr Jo Park"))
    );
    let (all, _) = list_all(&app, key, "/referrers?limit=10").await;
    assert_eq!(all.len(), 1);

    let before = snapshot(&app, &c.id).await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "X", "mobile": "12"}), "mobile"),
        (json!({"name": "X", "email": "nope"}), "email"),
    ] {
        let r = call_json(&app, key, "POST", "/referrers", body).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let p = tidings_tests::call(
        &app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "A", "last_name": "B"})),
    )
    .await
    .id();
    let before = snapshot(&app, &c.id).await;
    for (body, field, status) in [
        (
            json!({"referrer_id": "nope", "date": "2026-01-05"}),
            "referrer_id",
            400,
        ),
        (
            json!({"referrer_id": id, "date": "2999-01-05"}),
            "date",
            400,
        ),
        (json!({"referrer_id": id}), "date", 400),
    ] {
        let r = call_json(&app, key, "POST", &format!("/patients/{p}/referrals"), body).await;
        assert_rejected(&app, &c.id, &before, &r, status, field).await;
    }
    let r = call_json(
        &app,
        key,
        "POST",
        &format!("/patients/{p}/referrals"),
        json!({"referrer_id": id, "date": "2026-01-05"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // Another clinic sees none of it.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "Z"}))),
        ("DELETE", None),
    ] {
        let r = tidings_tests::call(&app, &other.staff_key, method, &path, body).await;
        assert_eq!(r.status, 404, "{method}");
    }
    let r = call_json(
        &app,
        &other.staff_key,
        "POST",
        &format!("/patients/{p}/referrals"),
        json!({"referrer_id": id, "date": "2026-01-05"}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(
        tidings_tests::call(&app, key, "DELETE", &path, None)
            .await
            .status,
        204
    );
}

/// A cursor bound to this clinic and list but naming a place outside the dates read (made by
/// hand, or kept from a list of other dates) is a 400, not a read DynamoDB refuses (a 500).
#[tokio::test]
async fn a_book_position_outside_the_dates_read_is_an_invalid_cursor() {
    use tidings_app::store::cursor;
    let app = app().await;
    let c = new_clinic(&app).await;
    let scope = cursor::scope(&c.id, "/appointments");
    for position in [
        "2001-01-01T00:00:00Z#0190-ab",
        "ZZZZ#0190-ab",
        "2099-01-01T00:00:00Z#",
        "~",
    ] {
        let path = format!("/appointments?cursor={}", cursor::encode(&scope, position));
        let r = call(&app, &c.staff_key, "GET", &path, None).await;
        assert_eq!(
            (r.status.as_u16(), r.field(), r.code()),
            (400, "cursor", "invalid_cursor"),
            "{position}: {}",
            r.json
        );
    }
}
