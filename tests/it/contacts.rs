//! `/patients/{id}/contacts` and `/patients/{id}/contacts/{contact_id}` against DynamoDB Local.

use serde_json::{Value, json};
use tidings_tests::{app, assert_rejected, call, new_clinic, snapshot};

fn patient() -> Value {
    json!({"first_name": "Tom", "last_name": "Lee", "profile_type": "dependant"})
}

fn mum() -> Value {
    json!({"name": "Ann Lee", "relationship": "mother", "mobile": "0412 345 678", "email": "ann@example.com"})
}

#[tokio::test]
async fn create_list_update_delete() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let base = format!("/patients/{p}/contacts");
    let r = call(&app, &c.staff_key, "POST", &base, Some(mum())).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (r.json["mobile"].as_str(), r.json["patient_id"].as_str()),
        (Some("+61412345678"), Some(p.as_str()))
    );
    assert_eq!(r.json["receive_reminders_and_campaigns"], true);
    let contact = r.id();

    // A contact who is another patient of the clinic.
    let dad = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Jo", "last_name": "Lee", "mobile": "0412 999 888"})),
    )
    .await
    .id();
    let linked = call(
        &app,
        &c.staff_key,
        "POST",
        &base,
        Some(json!({"relationship": "father", "contact_patient_id": dad})),
    )
    .await;
    assert_eq!(linked.status, 201, "{}", linked.json);

    let list = call(&app, &c.staff_key, "GET", &base, None).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);

    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("{base}/{contact}"),
        Some(json!({"receive_reminders_and_campaigns": false, "email": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (
            r.json["receive_reminders_and_campaigns"].as_bool(),
            r.json["email"].is_null()
        ),
        (Some(false), true)
    );

    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("{base}/{contact}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("{base}/{contact}"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(&app, &c.staff_key, "GET", &base, None).await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let foreign = call(&app, &other.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let base = format!("/patients/{p}/contacts");
    let contact = call(&app, &c.staff_key, "POST", &base, Some(mum()))
        .await
        .id();
    let before = snapshot(&app, &c.id).await;
    let with = |k: &str, v: Value| {
        let mut b = mum();
        b[k] = v;
        b
    };
    let cases = vec![
        (with("relationship", json!("")), "relationship"),
        (with("mobile", json!("12")), "mobile"),
        (with("email", json!("x@")), "email"),
        (with("name", json!("")), "name"),
        (json!({"relationship": "aunt", "name": "Sue"}), "mobile"),
        (
            with("receive_reminders_and_campaigns", json!("no")),
            "receive_reminders_and_campaigns",
        ),
        (
            with("contact_patient_id", json!("nobody")),
            "contact_patient_id",
        ),
        (
            with("contact_patient_id", json!(foreign)),
            "contact_patient_id",
        ),
        (with("contact_patient_id", json!(p)), "contact_patient_id"),
        (with("nickname", json!("Mum")), "nickname"),
    ];
    for (body, field) in cases {
        let r = call(&app, &c.staff_key, "POST", &base, Some(body.clone())).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
        if field != "mobile" || body.get("mobile").is_some() {
            let patch = json!({field: body.get(field).cloned().unwrap_or(Value::Null)});
            let r = call(
                &app,
                &c.staff_key,
                "PATCH",
                &format!("{base}/{contact}"),
                Some(patch),
            )
            .await;
            assert_rejected(&app, &c.id, &before, &r, 400, field).await;
        }
    }
}

#[tokio::test]
async fn a_patient_has_at_most_twenty_contacts() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let p = call(&app, &c.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let base = format!("/patients/{p}/contacts");
    for _ in 0..20 {
        assert_eq!(
            call(&app, &c.staff_key, "POST", &base, Some(mum()))
                .await
                .status,
            201
        );
    }
    let before = snapshot(&app, &c.id).await;
    let r = call(&app, &c.staff_key, "POST", &base, Some(mum())).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "too_many_contacts"));
    assert_eq!(snapshot(&app, &c.id).await, before);
    // Deleting the patient removes all twenty in one step.
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("/patients/{p}"),
            None
        )
        .await
        .status,
        204
    );
    assert!(
        snapshot(&app, &c.id)
            .await
            .iter()
            .all(|i| !i["sk"].as_s().unwrap().starts_with("CONTACT#"))
    );
}

#[tokio::test]
async fn another_clinics_patient_and_contacts_are_404_on_every_route() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    let p = call(&app, &a.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let base = format!("/patients/{p}/contacts");
    let contact = call(&app, &a.staff_key, "POST", &base, Some(mum()))
        .await
        .id();
    let own = call(&app, &b.staff_key, "POST", "/patients", Some(patient()))
        .await
        .id();
    let before = snapshot(&app, &a.id).await;
    let attempts = [
        ("POST", base.clone(), Some(mum())),
        ("GET", base.clone(), None),
        (
            "PATCH",
            format!("{base}/{contact}"),
            Some(json!({"name": "Eve"})),
        ),
        ("DELETE", format!("{base}/{contact}"), None),
        // B's own patient with A's contact id.
        (
            "PATCH",
            format!("/patients/{own}/contacts/{contact}"),
            Some(json!({"name": "Eve"})),
        ),
        (
            "DELETE",
            format!("/patients/{own}/contacts/{contact}"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let r = call(&app, &b.staff_key, method, &path, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{method} {path}: {}",
            r.json
        );
    }
    assert_eq!(snapshot(&app, &a.id).await, before);
}
