//! `/patients` and `/patients/{id}` against DynamoDB Local.

use serde_json::{Value, json};
use std::collections::HashSet;
use tidings_app::store::keys;
use tidings_tests::{app, assert_rejected, call, list_all, new_clinic, snapshot};

fn ann() -> Value {
    json!({"first_name": "Ann", "last_name": "Lee", "mobile": "0412 345 678", "email": "ann@example.com"})
}

#[tokio::test]
async fn create_with_every_field_and_read_back() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let pr = call(
        &app,
        &c.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Ng"})),
    )
    .await
    .id();
    let body = json!({
        "first_name": "Ann", "last_name": "Lee", "date_of_birth": "1984-02-29", "gender": "female",
        "mobile": "(04) 1234 5678", "email": "Ann@Example.COM", "profile_type": "dependant",
        "external_id": "PMS-1001", "practitioner_id": pr,
        "receive_reminders": {"sms": true, "email": false}, "receive_campaigns": {"sms": false}
    });
    let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["mobile"], "+61412345678");
    assert_eq!(r.json["email"], "Ann@example.com");
    assert_eq!(
        r.json["receive_reminders"],
        json!({"sms": true, "email": false})
    );
    assert_eq!(
        r.json["receive_campaigns"],
        json!({"sms": false, "email": true})
    );
    assert_eq!(r.json["profile_type"], "dependant");
    let got = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{}", r.id()),
        None,
    )
    .await;
    assert_eq!(got.json, r.json);

    let minimal = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Bo", "last_name": "Li"})),
    )
    .await;
    assert_eq!(minimal.status, 201);
    assert_eq!(minimal.json["profile_type"], "patient");
    assert_eq!(
        minimal.json["receive_campaigns"],
        json!({"sms": true, "email": true})
    );
}

#[tokio::test]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let foreign_pr = call(
        &app,
        &other.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr X"})),
    )
    .await
    .id();
    let id = call(&app, &c.staff_key, "POST", "/patients", Some(ann()))
        .await
        .id();
    let before = snapshot(&app, &c.id).await;
    let with = |k: &str, v: Value| {
        let mut b = ann();
        b[k] = v;
        b
    };
    let cases = vec![
        (with("first_name", json!("")), "first_name"),
        (with("last_name", json!(null)), "last_name"),
        (with("first_name", json!("x".repeat(101))), "first_name"),
        (with("date_of_birth", json!("2999-01-01")), "date_of_birth"),
        (with("date_of_birth", json!("31/12/1980")), "date_of_birth"),
        (with("gender", json!("f")), "gender"),
        (with("mobile", json!("02 9374 4000")), "mobile"),
        (with("mobile", json!("0412")), "mobile"),
        (with("email", json!("ann@")), "email"),
        (with("profile_type", json!("vip")), "profile_type"),
        (with("external_id", json!("x".repeat(65))), "external_id"),
        (
            with("practitioner_id", json!("no-such-practitioner")),
            "practitioner_id",
        ),
        (
            with("practitioner_id", json!(foreign_pr)),
            "practitioner_id",
        ),
        (
            with("receive_reminders", json!({"sms": "yes"})),
            "receive_reminders.sms",
        ),
        (
            with("receive_campaigns", json!({"fax": true})),
            "receive_campaigns.fax",
        ),
        (with("clinic_id", json!("other")), "clinic_id"),
    ];
    for (body, field) in cases.clone() {
        let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    // The same values through PATCH.
    for (body, field) in cases {
        let value = body
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| field.starts_with(k.as_str()))
            .map(|(k, v)| json!({k: v}))
            .unwrap();
        let r = call(
            &app,
            &c.staff_key,
            "PATCH",
            &format!("/patients/{id}"),
            Some(value),
        )
        .await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let r = call(&app, &c.staff_key, "POST", "/patients", None).await;
    assert_rejected(&app, &c.id, &before, &r, 400, "body").await;
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/patients/{id}"),
        Some(json!("text")),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "body").await;
}

#[tokio::test]
async fn external_ids_are_unique_within_a_clinic_only() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let mut first = ann();
    first["external_id"] = json!("PMS-7");
    let p1 = call(&app, &c.staff_key, "POST", "/patients", Some(first.clone()))
        .await
        .id();
    let before = snapshot(&app, &c.id).await;
    let dup = call(&app, &c.staff_key, "POST", "/patients", Some(first.clone())).await;
    assert_rejected(&app, &c.id, &before, &dup, 409, "external_id").await;
    assert_eq!(dup.code(), "duplicate_external_id");
    // Another clinic may use the same external id.
    assert_eq!(
        call(
            &app,
            &other.staff_key,
            "POST",
            "/patients",
            Some(first.clone())
        )
        .await
        .status,
        201
    );

    // PATCH to a taken id is a 409 too; moving the id frees the old one.
    let p2 = call(&app, &c.staff_key, "POST", "/patients", Some(ann()))
        .await
        .id();
    let before = snapshot(&app, &c.id).await;
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/patients/{p2}"),
        Some(json!({"external_id": "PMS-7"})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 409, "external_id").await;
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/patients/{p1}"),
        Some(json!({"external_id": "PMS-8"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &format!("/patients/{p2}"),
        Some(json!({"external_id": "PMS-7"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // Deleting a patient frees its external id.
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("/patients/{p1}"),
            None
        )
        .await
        .status,
        204
    );
    first["external_id"] = json!("PMS-8");
    assert_eq!(
        call(&app, &c.staff_key, "POST", "/patients", Some(first))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn patch_merges_and_null_clears() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let id = call(&app, &c.staff_key, "POST", "/patients", Some(ann()))
        .await
        .id();
    let path = format!("/patients/{id}");
    let r = call(
        &app,
        &c.staff_key,
        "PATCH",
        &path,
        Some(
            json!({"mobile": null, "receive_campaigns": {"email": false}, "last_name": "Lee-Wong"}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["mobile"].is_null());
    assert_eq!(r.json["email"], "ann@example.com");
    assert_eq!(
        r.json["receive_campaigns"],
        json!({"sms": true, "email": false})
    );
    assert_eq!(r.json["last_name"], "Lee-Wong");
    assert_eq!(
        call(&app, &c.staff_key, "GET", &path, None).await.json,
        r.json
    );
}

#[tokio::test]
async fn delete_erases_personal_data_and_keeps_an_anonymised_record() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let mut body = ann();
    body["external_id"] = json!("PMS-9");
    body["date_of_birth"] = json!("1990-01-01");
    let id = call(&app, &c.staff_key, "POST", "/patients", Some(body))
        .await
        .id();
    let contact = json!({"name": "Bo Lee", "relationship": "mother", "mobile": "0412 000 111"});
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "POST",
            &format!("/patients/{id}/contacts"),
            Some(contact)
        )
        .await
        .status,
        201
    );

    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("/patients/{id}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        call(&app, &c.staff_key, "GET", &format!("/patients/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &app,
            &c.staff_key,
            "DELETE",
            &format!("/patients/{id}"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(&app, &c.staff_key, "GET", "/patients", None)
            .await
            .json["items"],
        json!([])
    );

    let items = snapshot(&app, &c.id).await;
    let dump = format!("{items:?}");
    for personal in [
        "Ann",
        "Lee",
        "+61412345678",
        "ann@example.com",
        "PMS-9",
        "1990-01-01",
        "Bo Lee",
        "+61412000111",
    ] {
        assert!(!dump.contains(personal), "{personal} survived the erase");
    }
    let record = items
        .iter()
        .find(|i| i["sk"].as_s().unwrap() == &keys::patient_sk(&id))
        .expect("anonymised record kept");
    assert!(record.contains_key("deleted_at") && record.contains_key("created_at"));
}

#[tokio::test]
async fn another_clinics_patient_is_404_on_every_route() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    let id = call(&app, &a.staff_key, "POST", "/patients", Some(ann()))
        .await
        .id();
    let before = snapshot(&app, &a.id).await;
    let path = format!("/patients/{id}");
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"first_name": "Eve"}))),
        ("DELETE", None),
    ] {
        let r = call(&app, &b.staff_key, method, &path, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{method} {}",
            r.json
        );
    }
    assert_eq!(
        call(&app, &b.staff_key, "GET", "/patients", None)
            .await
            .json["items"],
        json!([])
    );
    assert_eq!(snapshot(&app, &a.id).await, before);
}

#[tokio::test]
async fn list_filters_and_pages() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let pr = call(
        &app,
        &c.staff_key,
        "POST",
        "/practitioners",
        Some(json!({"name": "Dr Ng"})),
    )
    .await
    .id();
    let people = [
        ("Ann", "Lee", "female", "1980-03-05", true),
        ("Anna", "Smith", "female", "1991-03-17", false),
        ("Ben", "Annand", "male", "1975-07-01", true),
        ("Cat", "Jones", "female", "2001-12-24", false),
        ("Dan", "Lee", "male", "1966-03-30", true),
        ("Eve", "Park", "other", "1999-01-09", false),
        ("Fay", "Wu", "female", "1988-03-03", true),
    ];
    for (first, last, gender, dob, assigned) in people {
        let mut body =
            json!({"first_name": first, "last_name": last, "gender": gender, "date_of_birth": dob});
        if assigned {
            body["practitioner_id"] = json!(pr);
        }
        assert_eq!(
            call(&app, &c.staff_key, "POST", "/patients", Some(body))
                .await
                .status,
            201
        );
    }
    let names = |v: &[Value]| {
        v.iter()
            .map(|p| p["first_name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    let (all, pages) = list_all(&app, &c.staff_key, "/patients?limit=3").await;
    assert_eq!(pages, 3);
    assert_eq!(
        names(&all),
        ["Ann", "Anna", "Ben", "Cat", "Dan", "Eve", "Fay"],
        "oldest first, each once"
    );

    let (found, _) = list_all(&app, &c.staff_key, "/patients?limit=2&q=ANN").await;
    assert_eq!(
        names(&found),
        ["Ann", "Anna", "Ben"],
        "q matches any part of the full name, ignoring case"
    );
    let (found, _) = list_all(
        &app,
        &c.staff_key,
        "/patients?limit=2&gender=female&birth_month=3",
    )
    .await;
    assert_eq!(names(&found), ["Ann", "Anna", "Fay"]);
    let (found, _) = list_all(
        &app,
        &c.staff_key,
        &format!("/patients?limit=2&practitioner_id={pr}"),
    )
    .await;
    assert_eq!(names(&found), ["Ann", "Ben", "Dan", "Fay"]);
    let unique: HashSet<_> = all
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(unique.len(), 7);

    for (query, field) in [
        ("gender=f", "gender"),
        ("birth_month=13", "birth_month"),
        ("limit=500", "limit"),
        ("cursor=Q0xJTklDIw", "cursor"),
    ] {
        let r = call(
            &app,
            &c.staff_key,
            "GET",
            &format!("/patients?{query}"),
            None,
        )
        .await;
        assert_eq!((r.status.as_u16(), r.field()), (400, field), "{query}");
    }
}

/// Erasure is complete: after `DELETE /patients/{id}`, no item anywhere in the table holds the
/// patient's (or their contact's) names, date of birth, numbers, addresses or message text:
/// not their SMS and email history, not a reply and its notification, not a campaign message,
/// not an upload row. Statuses, credits and dates stay. (Before, messages kept `to` and `body`,
/// notifications `from` and `body`, and upload rows everything.)
#[tokio::test]
async fn erasure_leaves_nothing_of_the_person_anywhere_in_the_table() {
    use tidings_tests::campaigns::{event, limits, report};
    let app = app().await;
    let c = new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 100).await;
    let number = tidings_tests::assign_number(&app, &c.id).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let (first, last) = (format!("Erin{tag}"), format!("Forget{tag}"));
    let mobile = tidings_tests::unique_mobile();
    let email = format!("erin.{tag}@example.com");
    let external = format!("PMS-{tag}");
    let dob = "1931-02-17";
    let id = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": first,
        "last_name": last, "mobile": mobile, "email": email, "external_id": external,
        "date_of_birth": dob})),
    )
    .await
    .id();
    let (mum_mobile, mum_email) = (
        tidings_tests::unique_mobile(),
        format!("mum.{tag}@example.com"),
    );
    let r = call(&app, &c.staff_key, "POST", &format!("/patients/{id}/contacts"), Some(json!({
        "name": format!("Mum{tag}"), "relationship": "mother", "mobile": mum_mobile, "email": mum_email,
        "receive_reminders_and_campaigns": true}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    // SMS and email, to the patient and (cc) the contact.
    let body = format!("Your results {tag}, {{{{ first_name }}}}");
    let r = call(&app, &c.staff_key, "POST", "/messages", Some(json!({"patient_ids": [id],
        "channel": "both", "subject": format!("Results {tag}"), "body": body, "cc_contacts": true}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    // A reply, and its notification.
    let reply = format!("Thanks {tag} see you");
    tidings_tests::inbound_sms(&app, &number, &mobile, &reply).await;
    // A campaign message.
    let template = call(&app, &c.staff_key, "POST", "/templates", Some(json!({"name": "Recall",
        "channel": "sms", "category": "recall", "body": format!("Recall {tag} {{{{ first_name }}}}")}))).await.id();
    let report_id = report(
        &app,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let created = call(
        &app,
        &c.staff_key,
        "POST",
        "/campaigns",
        Some(json!({"name": "Recall",
        "report_id": report_id, "channels": {"sms": template},
        "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.json);
    tidings_app::services::campaign_run::fire(
        &app,
        &event(&c, &created.id(), &chrono::Utc::now().to_rfc3339()),
        &limits(60),
    )
    .await
    .unwrap();
    // Upload rows: one matched (with the list's own mobile), one failed (wrong date of birth).
    let csv = format!(
        "External ID,DOB,First Name,Last Name,Mobile\n{external},{dob},{first},{last},{mobile}\n{external},1931-02-18,{first},{last},\n"
    );
    let r = tidings_tests::call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/uploads?channel=sms",
        Some((csv.into_bytes(), "text/csv")),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["matched"].as_u64()),
        (201, Some(1)),
        "{}",
        r.json
    );

    let history = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients/{id}/messages?include_contacts=true"),
        None,
    )
    .await;
    let before: Vec<(Value, Value)> = history.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].clone(), m["status"].clone()))
        .collect();
    assert!(before.len() >= 5, "{}", history.json);
    tidings_tests::erase_patient(&app, &c.staff_key, &id).await;

    let personal = [
        first.clone(),
        last.clone(),
        mobile.clone(),
        email.clone(),
        external.clone(),
        format!("Mum{tag}"),
        mum_mobile.clone(),
        mum_email.clone(),
        format!("results {tag}"),
        format!("Results {tag}"),
        reply.clone(),
    ];
    let client = app.store.client();
    let mut start = None;
    let mut scanned = 0;
    loop {
        let out = client
            .scan()
            .table_name(app.store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items.unwrap_or_default() {
            scanned += 1;
            let dump = format!("{item:?}");
            for p in &personal {
                assert!(
                    !dump.contains(p.as_str()),
                    "{p} survived the erasure in {dump}"
                );
            }
            if dump.contains(&c.id) {
                assert!(!dump.contains(dob), "the date of birth survived in {dump}");
            }
        }
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    assert!(scanned > 0);
    // What the practice counts stays: every message, with its status; the statistics add up.
    for (mid, status) in before {
        let m = call(
            &app,
            &c.staff_key,
            "GET",
            &format!("/messages/{}", mid.as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(
            (m.status.as_u16(), &m.json["status"]),
            (200, &status),
            "{}",
            m.json
        );
        assert!(
            m.json["to"].is_null() && m.json["body"].is_null(),
            "{}",
            m.json
        );
    }
    let stats = call(&app, &c.staff_key, "GET", "/messages/stats", None).await;
    assert_eq!(stats.status, 200, "{}", stats.json);
}

/// A campaign paused for credits holds a message for the patient (in no history yet): erasing
/// the patient ends it `not_sent` (reason `erased`) without its number or text, so no top-up
/// sends it later.
#[tokio::test]
async fn erasure_reaches_the_messages_a_paused_campaign_holds() {
    use tidings_tests::campaigns::{campaign_to_new_patients, event, limits};
    let app = app().await;
    let (c, campaign, mobiles) = campaign_to_new_patients(&app, 0, 1).await;
    let outcome = tidings_app::services::campaign_run::fire(
        &app,
        &event(&c, &campaign, &chrono::Utc::now().to_rfc3339()),
        &limits(60),
    )
    .await
    .unwrap();
    let rows = recipients(&app, &c.staff_key, &campaign).await;
    assert_eq!(
        rows.json["items"][0]["status"], "held",
        "{outcome:?} {}",
        rows.json
    );
    let patient = rows.json["items"][0]["patient_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tidings_tests::erase_patient(&app, &c.staff_key, &patient).await;
    let rows = recipients(&app, &c.staff_key, &campaign).await;
    let row = &rows.json["items"][0];
    assert_eq!(
        (row["status"].as_str(), row["reason"].as_str()),
        (Some("not_sent"), Some("erased")),
        "{row}"
    );
    assert!(row["to"].is_null(), "{row}");
    let dump = format!("{:?}", snapshot(&app, &c.id).await);
    assert!(
        !dump.contains(&mobiles[0]),
        "the number survived the erasure"
    );
}

/// Erasing a patient reads the clinic's campaign runs that are still sending or paused, not
/// every run it had: a finished run leaves the open runs' index, and 40 more finished runs
/// are not read, while the message a paused run holds for the patient is still ended `erased`.
#[tokio::test]
async fn erasure_reads_the_unfinished_campaign_runs_not_every_run() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use tidings_tests::campaigns::{
        campaign_to_new_patients, day_ahead_campaign, event, limits, report,
    };
    const OTHERS: usize = 40;
    let app = app().await;
    // One credit: campaign `sent` takes it and finishes; campaign `held` then pauses.
    let (c, held, _) = campaign_to_new_patients(&app, 1, 1).await;
    let all = report(
        &app,
        &c.staff_key,
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let sent = day_ahead_campaign(&app, &c, &all, None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now().to_rfc3339();
    for campaign in [&sent, &held] {
        tidings_app::services::campaign_run::fire(&app, &event(&c, campaign, &now), &limits(60))
            .await
            .unwrap();
    }
    let (client, table) = (app.store.client(), app.store.table());
    let pk = keys::clinic_pk(&c.id);
    let run_of = |campaign: &str| {
        let (prefix, pk) = (format!("RUN#{campaign}#"), pk.clone());
        async move {
            let out = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", AttributeValue::S(pk))
                .expression_attribute_values(":p", AttributeValue::S(prefix))
                .send()
                .await
                .unwrap();
            out.items.unwrap().remove(0)
        }
    };
    let finished = run_of(&sent).await;
    assert_eq!(finished["status"], AttributeValue::S("sent".into()));
    assert!(!finished.contains_key("gsi2pk"), "{finished:?}");
    let paused = run_of(&held).await;
    assert_eq!(paused["status"], AttributeValue::S("paused".into()));
    assert_eq!(
        paused["gsi2pk"],
        AttributeValue::S(keys::open_runs_gsi(&c.id))
    );
    // The clinic's history: 40 more finished runs.
    for _ in 0..OTHERS {
        let id = uuid::Uuid::now_v7().to_string();
        let mut copy = finished.clone();
        copy.insert("sk".into(), AttributeValue::S(keys::run_sk(&sent, &id)));
        copy.insert("id".into(), AttributeValue::S(id));
        client
            .put_item()
            .table_name(table)
            .set_item(Some(copy))
            .send()
            .await
            .unwrap();
    }
    let rows = recipients(&app, &c.staff_key, &held).await;
    assert_eq!(rows.json["items"][0]["status"], "held", "{}", rows.json);
    let patient = rows.json["items"][0]["patient_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (all_read, by_queries) = erase_metered(&app, &c.staff_key, &patient).await;
    assert!(
        by_queries < OTHERS as u64,
        "erasing the patient read {by_queries} items by queries ({all_read} in all): every run"
    );
    let rows = recipients(&app, &c.staff_key, &held).await;
    let row = &rows.json["items"][0];
    assert_eq!(
        (row["status"].as_str(), row["reason"].as_str()),
        (Some("not_sent"), Some("erased")),
        "{row}"
    );
}

/// Erasing a patient reads their notifications through the patient index, not every
/// notification of the clinic: another patient's year of replies (here 60, from a year ago)
/// is not read, and stays as it was.
#[tokio::test]
async fn erasure_reads_the_patients_notifications_not_the_clinics() {
    const OTHERS: usize = 60;
    let base = app().await;
    let c = new_clinic(&base).await;
    let number = tidings_tests::assign_number(&base, &c.id).await;
    let (ann_mobile, bob_mobile) = (
        tidings_tests::unique_mobile(),
        tidings_tests::unique_mobile(),
    );
    let mut ids = Vec::new();
    for mobile in [&ann_mobile, &bob_mobile] {
        let body = json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile});
        let r = call(&base, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.id());
    }
    let (ann, bob) = (ids[0].clone(), ids[1].clone());
    tidings_tests::inbound_sms(&base, &number, &ann_mobile, "Ann's words").await;
    tidings_tests::inbound_sms(&base, &number, &bob_mobile, "Bob's words").await;
    // Bob's history: copies of his notification, made a year ago (ids are UUID v7: time order).
    let client = base.store.client();
    let pk = keys::clinic_pk(&c.id);
    let (notes, _) = list_all(&base, &c.staff_key, "/notifications?limit=100").await;
    let bobs = notes
        .iter()
        .find(|n| n["patient_id"] == bob.as_str())
        .unwrap();
    let item = client
        .get_item()
        .table_name(base.store.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::notification_sk(
                bobs["id"].as_str().unwrap(),
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let year_ago = chrono::Utc::now() - chrono::Duration::days(365);
    for i in 0..OTHERS {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            u64::try_from(year_ago.timestamp()).unwrap() + i as u64,
            0,
        );
        let id = uuid::Uuid::new_v7(ts).to_string();
        let mut copy = item.clone();
        for (k, v) in [
            ("sk", keys::notification_sk(&id)),
            ("gsi2sk", keys::notification_sk(&id)),
            ("id", id.clone()),
        ] {
            copy.insert(k.into(), aws_sdk_dynamodb::types::AttributeValue::S(v));
        }
        copy.insert(
            "gsi1sk".into(),
            aws_sdk_dynamodb::types::AttributeValue::S(keys::notification_order(false, &id)),
        );
        client
            .put_item()
            .table_name(base.store.table())
            .set_item(Some(copy))
            .send()
            .await
            .unwrap();
    }

    let (all, by_queries) = erase_metered(&base, &c.staff_key, &ann).await;
    assert!(
        by_queries < OTHERS as u64,
        "erasing Ann read {by_queries} items by queries ({all} in all): Bob's notifications too"
    );
    let (notes, _) = list_all(&base, &c.staff_key, "/notifications?limit=100").await;
    for n in &notes {
        if n["patient_id"] == ann.as_str() {
            assert_eq!(
                (n["from"].as_str(), n["body"].as_str()),
                (Some(""), Some("")),
                "{n}"
            );
        } else {
            assert_eq!(n["body"], "Bob's words", "{n}");
        }
    }
    assert_eq!(notes.len(), OTHERS + 2);
}

/// Erasing a patient reads the upload rows that name them through their references, not
/// every upload of the clinic: 40 other lists (each a summary and a chunk) are not read, and
/// their rows stay as uploaded; the patient's matched row, the failed row with their external
/// id and the one with their number as a practice system writes it are emptied, and their
/// references go.
#[tokio::test]
async fn erasure_reads_the_upload_rows_that_name_the_patient_not_every_upload() {
    const OTHERS: usize = 40;
    let base = app().await;
    let c = new_clinic(&base).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let (external, dob, mobile) = (
        format!("PMS-{tag}"),
        "1950-03-04",
        tidings_tests::unique_mobile(),
    );
    let r = call(
        &base,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ann",
        "last_name": format!("Lee{tag}"), "mobile": mobile, "external_id": external,
        "date_of_birth": dob})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let ann = r.id();
    let upload = |csv: String| {
        let (app, key) = (&base, &c.staff_key);
        async move {
            let r = tidings_tests::call_raw(
                app,
                Some(key),
                "POST",
                "/uploads?channel=sms",
                Some((csv.into_bytes(), "text/csv")),
            )
            .await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.json);
            r.json["id"].as_str().unwrap().to_owned()
        }
    };
    let header = "External ID,DOB,First Name,Last Name,Mobile";
    // Matched; failed (another date of birth); failed (an id the clinic does not know, with
    // her number as the practice system writes it: `0412 345 678`).
    let digits = mobile.trim_start_matches("+61");
    let local = format!("0{} {} {}", &digits[..3], &digits[3..6], &digits[6..]);
    let anns = upload(format!(
        "{header}\n{external},{dob},Ann,Lee{tag},{mobile}\n{external},1950-03-05,Ann,Lee{tag},\n\
         UNKNOWN-{tag},{dob},Ann,Lee{tag},{local}\n"
    ))
    .await;
    let mut others = Vec::new();
    for i in 0..OTHERS {
        others.push(
            upload(format!(
                "{header}\nOTHER-{tag}-{i},1960-01-01,Bob,Other{i},\n"
            ))
            .await,
        );
    }
    let failures = |id: String| {
        let (app, key) = (&base, &c.staff_key);
        async move {
            let r = tidings_tests::call_raw(
                app,
                Some(key),
                "GET",
                &format!("/uploads/{id}/failures.csv"),
                None,
            )
            .await;
            assert_eq!(r.status.as_u16(), 200);
            String::from_utf8(r.body).unwrap()
        }
    };
    assert!(failures(anns.clone()).await.contains(&external));

    let (all, by_queries) = erase_metered(&base, &c.staff_key, &ann).await;
    assert!(
        by_queries < OTHERS as u64,
        "erasing Ann read {by_queries} items by queries ({all} in all): the other lists too"
    );
    let left = failures(anns).await;
    assert!(
        !left.contains(&external) && !left.contains(&tag) && !left.contains(&local),
        "Ann's failed rows survived: {left}"
    );
    let dump = format!("{:?}", snapshot(&base, &c.id).await);
    for gone in [mobile.as_str(), external.as_str(), "UPLOADREF#P"] {
        assert!(!dump.contains(gone), "{gone} survived the erasure");
    }
    for (i, id) in others.into_iter().enumerate() {
        assert!(
            failures(id)
                .await
                .contains(&format!("OTHER-{tag}-{i},1960-01-01,Bob,Other{i}")),
            "another list's row changed"
        );
    }
}

/// `DELETE /patients/{id}` (answered 204) through a store that counts what it reads: the
/// items read in all, and those read by queries.
/// A campaign's recipients, as the practice lists them.
async fn recipients(app: &tidings_app::App, key: &str, campaign: &str) -> tidings_tests::Reply {
    call(
        app,
        key,
        "GET",
        &format!("/campaigns/{campaign}/recipients"),
        None,
    )
    .await
}

/// A page larger than one read's own limit (100 items) is read in one call when the items
/// are there: a campaign's page of 500 patients was five reads, each of which DynamoDB Local
/// makes cost the size of the clinic's whole partition. The budget of items a page may
/// evaluate is unchanged.
#[tokio::test]
async fn a_page_of_patients_is_one_read_however_long() {
    let base = app().await;
    let c = new_clinic(&base).await;
    let mobiles: Vec<String> = (0..230).map(|_| tidings_tests::unique_mobile()).collect();
    let ids = tidings_tests::campaigns::seed_patients(&base, &c.id, &mobiles).await;
    let (app, meter) = tidings_tests::meter::metered_app(&base).await;
    let queries = || meter.breakdown()["Query"]["calls"].as_u64().unwrap_or(0);
    queries();
    let r = call(&app, &c.staff_key, "GET", "/patients?limit=200", None).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(200));
    assert_eq!(queries(), 1, "a page of 200 in one read");
    let cursor = r.json["next_cursor"].as_str().expect("a cursor").to_owned();
    let r = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/patients?limit=200&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let rest: Vec<&str> = r.json["items"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        rest,
        ids[200..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(r.json["next_cursor"], Value::Null);
    assert_eq!(queries(), 1);
}

async fn erase_metered(base: &tidings_app::App, key: &str, id: &str) -> (u64, u64) {
    let (app, meter) = tidings_tests::meter::metered_app(base).await;
    meter.items_read();
    tidings_tests::erase_patient(&app, key, id).await;
    meter.items_read()
}
