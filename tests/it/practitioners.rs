//! `/practitioners` and `/practitioners/{id}` against DynamoDB Local.

use serde_json::json;
use std::collections::HashSet;
use tidings_tests::{app, assert_rejected, call, list_all, new_clinic, snapshot};

#[tokio::test]
async fn create_read_update_delete() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let body = json!({"name": " Dr Maya Lee ", "email_sender_name": "Dr Lee at Harbour", "reply_to": "Maya@Harbour.example"});
    let r = call(&app, &c.staff_key, "POST", "/practitioners", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["name"], "Dr Maya Lee");
    assert_eq!(r.json["reply_to"], "Maya@harbour.example");
    assert_eq!(r.json["active"], true);
    let id = r.id();
    let path = format!("/practitioners/{id}");

    let got = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(got.json, r.json);

    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &path,
        Some(json!({"active": false, "reply_to": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (r.json["active"].as_bool(), r.json["reply_to"].is_null()),
        (Some(false), true)
    );
    assert_eq!(r.json["name"], "Dr Maya Lee");

    assert_eq!(
        call(&app, &c.staff_key, "DELETE", &path, None).await.status,
        204
    );
    assert_eq!(
        call(&app, &c.staff_key, "GET", &path, None).await.status,
        404
    );
    assert_eq!(
        call(&app, &c.staff_key, "DELETE", &path, None).await.status,
        404
    );
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let id = call(
        &app,
        &c.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Ng"})),
    )
    .await
    .id();
    let before = snapshot(&app, &c.id).await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(121)}), "name"),
        (
            json!({"name": "Dr A", "reply_to": "not-an-email"}),
            "reply_to",
        ),
        (json!({"name": "Dr A", "active": "yes"}), "active"),
        (
            json!({"name": "Dr A", "email_sender_name": "bad\u{7}name"}),
            "email_sender_name",
        ),
        (json!({"name": "Dr A", "colour": "blue"}), "colour"),
    ];
    for (body, field) in cases.clone() {
        let r = call(&app, &c.staff_key, "POST", "/practitioners", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    for (body, field) in cases.into_iter().skip(2) {
        let r = call(
            &app,
            &c.staff_key,
            "PATCH",
            &format!("/practitioners/{id}"),
            Some(body),
        )
        .await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/practitioners/{id}"),
        Some(json!({"name": null})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "name").await;
}

#[tokio::test]
async fn another_clinics_practitioner_is_404_on_every_route() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    let id = call(
        &app,
        &a.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr A"})),
    )
    .await
    .id();
    let before = snapshot(&app, &a.id).await;
    let path = format!("/practitioners/{id}");
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "Stolen"}))),
        ("DELETE", None),
    ] {
        let r = call(&app, &b.staff_key, method, &path, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{method}"
        );
    }
    let listed = call(&app, &b.staff_key, "GET", "/practitioners", None).await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 0);
    assert_eq!(snapshot(&app, &a.id).await, before);
}

#[tokio::test]
async fn list_pages_through_every_practitioner_once() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let mut created = HashSet::new();
    for i in 0..5 {
        created.insert(
            call(
                &app,
                &c.staff_key,
                "POST",
                "/practitioners",
                Some(json!({"name": format!("Dr {i}")})),
            )
            .await
            .id(),
        );
    }
    let (items, pages) = list_all(&app, &c.staff_key, "/practitioners?limit=2").await;
    let seen: Vec<String> = items
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);

    for bad in [
        "/practitioners?limit=0",
        "/practitioners?limit=201",
        "/practitioners?limit=x",
    ] {
        assert_eq!(
            call(&app, &c.staff_key, "GET", bad, None).await.field(),
            "limit"
        );
    }
    assert_eq!(
        call(&app, &c.staff_key, "GET", "/practitioners?cursor=%%%", None)
            .await
            .field(),
        "cursor"
    );
}

#[tokio::test]
async fn a_practitioner_with_patients_cannot_be_deleted() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let pr = call(
        &app,
        &c.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Busy"})),
    )
    .await
    .id();
    let patient = json!({"first_name": "Ann", "last_name": "Lee", "practitioner_id": pr});
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(patient))
        .await
        .id();
    let before = snapshot(&app, &c.id).await;
    let r = call(
        &app,
        &c.staff_key,
        "DELETE",
        &format!("/practitioners/{pr}"),
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "practitioner_in_use"));
    assert_eq!(snapshot(&app, &c.id).await, before);
    // Once the patient is reassigned, the practitioner can go.
    call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/patients/{p}"),
        Some(json!({"practitioner_id": null})),
    )
    .await;
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("/practitioners/{pr}"),
            None
        )
        .await
        .status,
        204
    );
}
