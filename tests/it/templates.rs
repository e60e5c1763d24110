//! Templates and previews against DynamoDB Local.

use serde_json::json;
use tidings_tests::{app, assert_rejected, call, new_clinic, snapshot};

#[tokio::test]
async fn template_crud_and_errors_named_at_save_time() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;

    let r = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Reminder", "channel": "sms", "category": "appointment",
                    "body": "Hi {{ first_name }}, see you {{ appointment_date }} at {{ appointment_time }}. {{ clinic_name }}"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    assert_eq!(r.json["category"], "appointment");

    let before = snapshot(&app, &c.id).await;
    let bad = [
        (
            json!({"name": "x", "channel": "sms", "body": "Hi {{ frist_name }}"}),
            "body",
            "unknown_placeholder",
        ),
        (
            json!({"name": "x", "channel": "sms", "body": "Hi {{ first_name"}),
            "body",
            "template_syntax",
        ),
        (
            json!({"name": "x", "channel": "sms", "body": "{{ first_name | upper }}"}),
            "body",
            "invalid_template",
        ),
        (
            json!({"name": "x", "channel": "email", "body": "Hi"}),
            "subject",
            "required",
        ),
        (
            json!({"name": "x", "channel": "email", "subject": "{% for %}", "body": "Hi"}),
            "subject",
            "template_syntax",
        ),
        (
            json!({"name": "x", "channel": "sms", "body": "Hi", "subject": "s"}),
            "subject",
            "not_allowed",
        ),
        (
            json!({"name": "x", "channel": "fax", "body": "Hi"}),
            "channel",
            "invalid",
        ),
        (
            json!({"name": "x", "channel": "sms", "body": "Hi", "colour": "red"}),
            "colour",
            "unknown_field",
        ),
    ];
    for (body, field, code) in bad {
        let r = call(&app, key, "POST", "/templates", Some(body.clone())).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
        assert_eq!(r.code(), code, "{body}: {}", r.json);
    }
    let r = call(
        &app,
        key,
        "PATCH",
        &format!("/templates/{id}"),
        Some(json!({"body": "Hi {{ nickname }}"})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "body").await;

    let r = call(
        &app,
        key,
        "PATCH",
        &format!("/templates/{id}"),
        Some(json!({"name": "Day-before reminder"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], "Day-before reminder");
    let r = call(&app, key, "GET", "/templates?limit=10", None).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(&app, key, "DELETE", &format!("/templates/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(&app, key, "GET", &format!("/templates/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn templates_of_another_clinic_are_not_found() {
    let app = app().await;
    let mine = new_clinic(&app).await;
    let theirs = new_clinic(&app).await;
    let r = call(
        &app,
        &theirs.staff_key,
        "POST",
        "/templates",
        Some(json!({"name": "T", "channel": "sms", "body": "Hi {{ first_name }}"})),
    )
    .await;
    let id = r.id();
    let before = snapshot(&app, &theirs.id).await;
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "stolen"}))),
        ("DELETE", None),
    ] {
        let r = call(
            &app,
            &mine.staff_key,
            method,
            &format!("/templates/{id}"),
            body,
        )
        .await;
        assert_eq!(r.status, 404, "{method}");
    }
    let r = call(
        &app,
        &mine.staff_key,
        "POST",
        "/templates/preview",
        Some(json!({"template_id": id})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "template_id"));
    assert_eq!(snapshot(&app, &theirs.id).await, before);
    let r = call(&app, &mine.staff_key, "GET", "/templates", None).await;
    assert!(r.json["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn preview_shows_text_encoding_segments_cost_and_warnings() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.admin_key;

    // A patient and an appointment: values come from them, dates in the clinic's time zone,
    // capped as the clinic set.
    let r = call(
        &app,
        key,
        "PATCH",
        "/clinic",
        Some(json!({"placeholder_caps": {"patient_name": 5}, "max_sms_length": 120, "phone": "02 9374 4000"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let pr = call(
        &app,
        key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Maya Ng"})),
    )
    .await
    .id();
    let patient = call(
        &app,
        key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Alexandra", "last_name": "Lee"})),
    )
    .await
    .id();
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({
            "body": "Hi {{ first_name }}, {{ practitioner }} on {{ appointment_date }} at {{ appointment_time }} in {{ location }}. {{ clinic_phone }}",
            "patient_id": patient,
            "appointment": {"start": "2026-11-25T23:30:00Z", "practitioner_id": pr, "location": "Room 12"}
        })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["text"],
        "Hi Alexa, Dr Maya Ng on Thu 26 Nov at 10:30am in Room. 02 9374 4000"
    );
    assert_eq!(r.json["encoding"], "gsm7");
    assert_eq!(r.json["segments"], 1);
    assert_eq!(r.json["credits"], 1);
    assert_eq!(r.json["warnings"], json!([]));
    let raw = String::from_utf8(r.body.clone()).unwrap();
    assert_eq!(raw.matches("\"credits\"").count(), 1, "{raw}");

    // Sample values; an emoji forces UCS-2 and is named.
    let long = format!("{} 😀", "a".repeat(110));
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"body": long})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["encoding"], "ucs2");
    assert_eq!(r.json["characters"], 112);
    assert_eq!(r.json["segments"], 2);
    assert_eq!(r.json["credits"], 2);
    let warnings = r.json["warnings"].as_array().unwrap();
    assert_eq!(warnings[0]["code"], "forces_ucs2");
    assert_eq!(warnings[0]["characters"][0], "😀 (U+1F600)");
    // Over the clinic's maximum it is refused, as a send would be, saying by how much.
    let over = format!("{} 😀", "a".repeat(120));
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"body": over})),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field(), r.code()),
        (400, "body", "too_long"),
        "{}",
        r.json
    );
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("122 characters"),
        "{}",
        r.json
    );

    // Extension characters take two septets: 80 of them fill two segments' worth of units.
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"body": "€".repeat(80)})),
    )
    .await;
    assert_eq!(
        (r.json["encoding"].as_str(), r.json["units"].as_u64()),
        (Some("gsm7"), Some(160))
    );
    assert_eq!(r.json["segments"], 1);

    // A value the patient has not got, or an unknown sample, is a 400 naming it.
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"body": "See you {{ appointment_date }}", "patient_id": patient})),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field()),
        (400, "values.appointment_date")
    );
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"body": "Hi", "values": {"nickname": "Al"}})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "values.nickname"));

    // An email template previews subject, text and escaped HTML.
    let t = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(
            json!({"name": "Recall", "channel": "email", "category": "recall",
                    "subject": "Time for a check-up, {{ first_name }}",
                    "body": "Hi {{ first_name }}", "html_body": "<p>Hi {{ first_name }}</p>"}),
        ),
    )
    .await
    .id();
    let r = call(
        &app,
        key,
        "POST",
        "/templates/preview",
        Some(json!({"template_id": t, "values": {"first_name": "<Bo>"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["subject"], "Time for a check-up, <Bo>");
    assert_eq!(r.json["html"], "<p>Hi &lt;Bo&gt;</p>");
    assert_eq!(r.json["credits"], 0);
}

/// A template is text and placeholders only, and what it renders is bounded before it is made:
/// each hostile preview is a 400 naming its field, and saving it too; nothing is written. How
/// long the refusals take is the `hostile_templates` benchmark's (`make bench`), not this test's.
#[tokio::test]
async fn templates_cannot_make_work_or_text_beyond_their_values() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let before = snapshot(&app, &c.id).await;
    let cases = tidings_tests::hostile::template_previews();
    for case in &cases {
        tidings_tests::hostile::preview_is_refused(&app, &c.staff_key, case).await;
        let (body, field, code) = case;
        if *code == "too_long" {
            continue; // the template itself is fine; that link is not
        }
        let mut saved = body.clone();
        saved["name"] = json!("x");
        let r = call(&app, &c.staff_key, "POST", "/templates", Some(saved)).await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (400, *field),
            "saving it: {}",
            r.json
        );
    }
    assert_eq!(snapshot(&app, &c.id).await, before);
}

#[tokio::test]
async fn an_sms_template_longer_than_the_clinics_maximum_is_refused_at_save() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.admin_key;
    let r = call(
        &app,
        key,
        "PATCH",
        "/clinic",
        Some(json!({"max_sms_length": 60})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let before = snapshot(&app, &c.id).await;
    // 60 characters of text and a first name: over 60 with the sample values.
    let long = "Hi {{ first_name }}, your recall is due. Please call us soon to book a time.";
    let r = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Recall", "channel": "sms", "body": long})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "body").await;
    assert_eq!(r.code(), "too_long");
    let r = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Recall", "channel": "sms", "body": "Hi {{ first_name }}, call us."})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    let before = snapshot(&app, &c.id).await;
    let r = call(
        &app,
        key,
        "PATCH",
        &format!("/templates/{id}"),
        Some(json!({"body": long})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "body").await;
    // Email has no SMS maximum.
    let r = call(
        &app,
        key,
        "POST",
        "/templates",
        Some(json!({"name": "Recall email",
        "channel": "email", "subject": "Recall", "body": long})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
}
