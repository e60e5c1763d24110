//! The ops command against DynamoDB Local: clinics and keys as ops create them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;
use tidings_tests::{app, call};

/// The clinic's item `sk`, which must be there.
async fn get_item(
    app: &tidings_app::App,
    clinic_id: &str,
    sk: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue;
    app.store
        .client()
        .get_item()
        .table_name(app.store.table())
        .key(
            "pk",
            AttributeValue::S(tidings_app::store::keys::clinic_pk(clinic_id)),
        )
        .key("sk", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

/// Deletes the clinic's item `sk` from the table (to make a clinic look as it was before).
async fn delete_item(app: &tidings_app::App, clinic_id: &str, sk: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    app.store
        .client()
        .delete_item()
        .table_name(app.store.table())
        .key(
            "pk",
            AttributeValue::S(tidings_app::store::keys::clinic_pk(clinic_id)),
        )
        .key("sk", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .unwrap();
}

/// `DELETE /patients/{id}`, answered 204.
async fn erase(app: &tidings_app::App, key: &str, id: String) {
    let r = call(app, key, "DELETE", &format!("/patients/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.json);
}

fn admin(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidings-admin"))
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn create_clinic_issue_list_and_revoke_keys() {
    let app = app().await;
    // Ops verify the clinic's sender domain in SES first; the command checks it is there.
    tidings_tests::verify_sender_domain("bay.example").await;
    let (ok, clinic, err) = admin(&[
        "clinic",
        "create",
        "--name",
        "Bay Physio",
        "--time-zone",
        "Europe/London",
        "--country",
        "GB",
        "--sms-sender-id",
        "BayPhysio",
        "--email-sender",
        "desk@bay.example",
    ]);
    assert!(ok, "{err}");
    let clinic_id = clinic["id"].as_str().unwrap();
    assert_eq!(clinic["time_zone"], "Europe/London");
    assert_eq!(
        clinic["email_identities"],
        serde_json::json!(["bay.example"])
    );

    let (ok, listed, _) = admin(&["clinic", "list"]);
    assert!(
        ok && listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == clinic_id)
    );

    let (ok, issued, err) = admin(&[
        "key", "create", "--clinic", clinic_id, "--role", "admin", "--label", "manager",
    ]);
    assert!(ok, "{err}");
    let key = issued["key"].as_str().unwrap();
    let r = call(&app, key, "GET", "/clinic", None).await;
    assert_eq!(
        (r.status.as_u16(), r.json["name"].as_str()),
        (200, Some("Bay Physio"))
    );

    let (ok, keys, _) = admin(&["key", "list", "--clinic", clinic_id]);
    assert!(ok);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(
        !keys.to_string().contains(key.split_once('.').unwrap().1),
        "the key itself is never listed"
    );

    let key_id = issued["key_id"].as_str().unwrap();
    assert!(admin(&["key", "revoke", "--clinic", clinic_id, "--key-id", key_id]).0);
    assert_eq!(call(&app, key, "GET", "/clinic", None).await.status, 401);
    assert!(
        !admin(&["key", "revoke", "--clinic", clinic_id, "--key-id", key_id]).0,
        "revoking twice fails"
    );
}

#[test]
fn invalid_input_fails_with_the_field_named() {
    let (ok, _, err) = admin(&[
        "clinic",
        "create",
        "--name",
        "X",
        "--time-zone",
        "Nowhere/Town",
        "--country",
        "AU",
        "--sms-sender-id",
        "Xclinic",
        "--email-sender",
        "x@x.example",
    ]);
    assert!(!ok);
    assert!(err.contains("time_zone"), "{err}");
    let (ok, _, err) = admin(&[
        "key",
        "create",
        "--clinic",
        "no-such-clinic",
        "--label",
        "x",
    ]);
    assert!(!ok);
    assert!(err.contains("clinic not found"), "{err}");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// "Assigned, not claimed", ops' side: a clinic is given only SES identities that exist, and
/// a reply number routes to one clinic only.
#[tokio::test]
async fn ops_assign_identities_that_exist_and_numbers_to_one_clinic() {
    let app = app().await;
    let create = |sender: String| {
        let args = [
            "clinic",
            "create",
            "--name",
            "Ops Test",
            "--time-zone",
            "Australia/Sydney",
            "--country",
            "AU",
            "--sms-sender-id",
            "OpsTest",
            "--email-sender",
        ];
        let mut v: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        v.push(sender);
        v
    };
    let unverified = format!("{}.unverified.example", uuid::Uuid::new_v4().simple());
    let (ok, _, err) = admin(&strs(&create(format!("hello@{unverified}"))));
    assert!(!ok && err.contains("not an identity in SES"), "{err}");

    tidings_tests::verify_sender_domain("ops-test.example").await;
    let (ok, clinic, err) = admin(&strs(&create("hello@ops-test.example".into())));
    assert!(ok, "{err}");
    assert_eq!(
        clinic["email_identities"],
        serde_json::json!(["ops-test.example"])
    );
    let id = clinic["id"].as_str().unwrap();
    let (ok, _, err) = admin(&[
        "clinic",
        "assign-identity",
        "--clinic",
        id,
        "--identity",
        &unverified,
    ]);
    assert!(!ok && err.contains("not an identity in SES"), "{err}");

    let number = tidings_tests::unique_mobile();
    let (ok, c, err) = admin(&[
        "clinic",
        "assign-number",
        "--clinic",
        id,
        "--number",
        &number,
    ]);
    assert!(ok, "{err}");
    assert_eq!(c["sms_reply_numbers"], serde_json::json!([number]));
    let other = tidings_tests::new_clinic(&app).await;
    let take = [
        "clinic",
        "assign-number",
        "--clinic",
        &other.id,
        "--number",
        &number,
    ];
    let (ok, _, err) = admin(&take);
    assert!(
        !ok && err.contains("another clinic receives replies"),
        "{err}"
    );
    let (ok, _, err) = admin(&[
        "clinic",
        "release-number",
        "--clinic",
        id,
        "--number",
        &number,
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = admin(&take);
    assert!(ok, "{err}");
}

/// Days before `count-stats` was deployed have no counters: `stats recount` counts them again
/// from the messages and the ledger, and the statistics read what they read before.
#[tokio::test]
async fn stats_recount_fills_days_without_counters() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::json;
    use tidings_tests::stats::{total, when};
    let app = app().await;
    let c = tidings_tests::new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 10).await;
    let patient =
        tidings_tests::campaigns::patient(&app, &c.staff_key, &tidings_tests::unique_mobile())
            .await;
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [patient], "channel": "sms", "body": "See you soon"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let messages = when(&app, &c.staff_key, "/messages/stats", |s| {
        total(s, "messages") == 1
    })
    .await
    .json;
    let credits = when(&app, &c.staff_key, "/credits/stats", |s| {
        s["totals"]["total"] == 1
    })
    .await
    .json;
    assert_eq!(total(&messages, "messages"), 1, "{messages}");

    // As before the counters existed: none for the clinic.
    let client = app.store.client();
    let counters = client
        .query()
        .table_name(app.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :stats)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CLINIC#{}", c.id)))
        .expression_attribute_values(":stats", AttributeValue::S("STATS#".into()))
        .send()
        .await
        .unwrap();
    assert!(!counters.items().is_empty());
    for item in counters.items() {
        client
            .delete_item()
            .table_name(app.store.table())
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
    }
    let empty = call(&app, &c.staff_key, "GET", "/messages/stats", None).await;
    assert_eq!(empty.json["days"], json!([]));

    let (ok, out, err) = admin(&["stats", "recount", "--clinic", &c.id]);
    assert!(ok, "{err}");
    assert_eq!(
        (out["clinics"].as_u64(), out["days"].as_u64()),
        (Some(1), Some(366))
    );
    let again = call(&app, &c.staff_key, "GET", "/messages/stats", None).await;
    assert_eq!(again.json, messages);
    let again = call(&app, &c.staff_key, "GET", "/credits/stats", None).await;
    assert_eq!(again.json, credits);

    // A bad day, or a period the wrong way round, is refused naming the option.
    for dates in [
        &["--from", "2026-13-01"][..],
        &["--from", "2026-11-02", "--to", "2026-11-01"],
    ] {
        let mut args = vec!["stats", "recount", "--clinic", c.id.as_str()];
        args.extend_from_slice(dates);
        let (ok, _, err) = admin(&args);
        assert!(!ok && err.contains("from"), "{dates:?}: {err}");
    }
}

/// One clinic whose stored record no longer reads does not hide the others from ops: it is
/// named on stderr.
#[tokio::test]
async fn clinic_list_names_a_clinic_that_does_not_read_and_lists_the_rest() {
    let app = app().await;
    let good = tidings_tests::new_clinic(&app).await;
    let broken = tidings_tests::broken_clinic(&app).await;
    let (ok, listed, err) = admin(&["clinic", "list"]);
    assert!(ok, "{err}");
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(ids.contains(&good.id.as_str()) && !ids.contains(&broken.id.as_str()));
    assert!(err.contains(&format!("clinic {}", broken.id)), "{err}");
}

/// A clinic from before notifications were indexed by patient: erasure reads every
/// notification of the clinic (none about the patient is missed); `notifications index`
/// indexes them and marks the clinic, and erasure then reads them by patient.
#[tokio::test]
async fn notifications_index_indexes_an_older_clinics_notifications() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::json;
    use tidings_app::store::keys;
    let app = app().await;
    let c = tidings_tests::new_clinic(&app).await;
    let number = tidings_tests::assign_number(&app, &c.id).await;
    let mut patients = Vec::new();
    for name in ["Ann", "Cat"] {
        let mobile = tidings_tests::unique_mobile();
        let body = json!({"first_name": name, "last_name": "Lee", "mobile": mobile});
        let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        tidings_tests::inbound_sms(&app, &number, &mobile, &format!("{name}'s words")).await;
        patients.push(r.id());
    }
    // As the clinic was before: no mark, no notification in the index.
    let (client, table) = (app.store.client(), app.store.table());
    let pk = || AttributeValue::S(keys::clinic_pk(&c.id));
    delete_item(&app, &c.id, keys::NOTIFICATIONS_INDEXED_SK).await;
    let notes = || async {
        let r = call(&app, &c.staff_key, "GET", "/notifications", None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["items"].as_array().unwrap().clone()
    };
    for n in notes().await {
        let sk = keys::notification_sk(n["id"].as_str().unwrap());
        client
            .update_item()
            .table_name(table)
            .key("pk", pk())
            .key("sk", AttributeValue::S(sk))
            .update_expression("REMOVE gsi2pk, gsi2sk")
            .send()
            .await
            .unwrap();
    }
    let erase = |id: String| erase(&app, &c.staff_key, id);
    let scrubbed = |notes: &[serde_json::Value], id: &str| {
        notes
            .iter()
            .filter(|n| n["patient_id"] == id)
            .all(|n| n["body"] == "" && n["from"] == "")
    };
    erase(patients[0].clone()).await;
    assert!(
        scrubbed(&notes().await, &patients[0]),
        "{:?}",
        notes().await
    );

    let (ok, out, err) = admin(&["notifications", "index", "--clinic", &c.id]);
    assert!(ok, "{err}");
    assert_eq!(out, json!({"clinics": 1, "notifications": 2, "indexed": 2}));
    let cat_note = notes()
        .await
        .iter()
        .find(|n| n["patient_id"] == patients[1].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cat = get_item(&app, &c.id, &keys::notification_sk(&cat_note)).await;
    assert_eq!(
        cat["gsi2pk"],
        AttributeValue::S(keys::patient_notifications_gsi(&c.id, &patients[1]))
    );
    erase(patients[1].clone()).await;
    assert!(
        scrubbed(&notes().await, &patients[1]),
        "{:?}",
        notes().await
    );
    let (ok, again, _) = admin(&["notifications", "index", "--clinic", &c.id]);
    assert!(ok);
    assert_eq!(again["indexed"], 0, "{again}");
}

/// A clinic from before upload references: its erasures read every upload (and still empty the
/// rows); `uploads index` references each stored row by who it names and marks the clinic, and
/// the next erasure finds the rows through the references.
#[tokio::test]
async fn uploads_index_references_an_older_clinics_upload_rows() {
    use serde_json::json;
    use tidings_app::store::keys;
    let app = app().await;
    let c = tidings_tests::new_clinic(&app).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let mut rows = String::from("External ID,DOB,First Name,Last Name,Mobile\n");
    let mut patients = Vec::new();
    for name in ["Ann", "Cat"] {
        let external = format!("{name}-{tag}");
        let body = json!({"first_name": name, "last_name": "Lee", "external_id": external,
            "date_of_birth": "1950-03-04", "mobile": tidings_tests::unique_mobile()});
        let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        patients.push((r.id(), external.clone()));
        // Matched, and failed (another date of birth).
        rows.push_str(&format!(
            "{external},1950-03-04,{name},Lee,\n{external},1950-03-05,{name},Lee,\n"
        ));
    }
    let r = tidings_tests::call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/uploads?channel=sms",
        Some((rows.into_bytes(), "text/csv")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.json);
    let upload = r.json["id"].as_str().unwrap().to_owned();
    // As the clinic was before: no mark, no references.
    let refs = || async {
        tidings_tests::snapshot(&app, &c.id)
            .await
            .into_iter()
            .filter_map(|i| i["sk"].as_s().ok().cloned())
            .filter(|sk| sk.starts_with("UPLOADREF#"))
            .collect::<Vec<_>>()
    };
    let written = refs().await;
    assert_eq!(written.len(), 4, "{written:?}");
    for sk in written
        .into_iter()
        .chain([keys::UPLOADS_INDEXED_SK.to_owned()])
    {
        delete_item(&app, &c.id, &sk).await;
    }
    let failures = || async {
        let r = tidings_tests::call_raw(
            &app,
            Some(&c.staff_key),
            "GET",
            &format!("/uploads/{upload}/failures.csv"),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200);
        String::from_utf8(r.body).unwrap()
    };
    let erase = |id: String| erase(&app, &c.staff_key, id);
    erase(patients[0].0.clone()).await;
    let left = failures().await;
    assert!(
        !left.contains(&patients[0].1) && left.contains(&patients[1].1),
        "{left}"
    );

    let (ok, out, err) = admin(&["uploads", "index", "--clinic", &c.id]);
    assert!(ok, "{err}");
    // Two chunks (matched, failed); references: both matched rows' patients (Ann's row keeps
    // her id, not her number) and Cat's failed row's external id (Ann's was emptied).
    assert_eq!(
        out,
        json!({"clinics": 1, "chunks": 2, "references": 3}),
        "{out}"
    );
    let indexed = refs().await;
    assert!(
        indexed.contains(&keys::upload_ref_sk(
            &format!("P{}", patients[1].0),
            &upload,
            "MATCHED",
            0
        )),
        "{indexed:?}"
    );
    erase(patients[1].0.clone()).await;
    let left = failures().await;
    assert!(!left.contains(&patients[1].1), "{left}");
    assert!(
        !refs().await.iter().any(|sk| sk.contains(&patients[1].0)),
        "Cat's references survived"
    );
}

/// A clinic from before the index of appointments by patient: its recall reports read the
/// book (and are right); `appointments index` puts every appointment on its patient's index
/// and marks the clinic, and the report, now read by patient, is the same.
#[tokio::test]
async fn appointments_index_indexes_an_older_clinics_appointments() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::json;
    use tidings_app::store::keys;
    let app = app().await;
    let c = tidings_tests::new_clinic(&app).await;
    let mut patients = Vec::new();
    for name in ["Ann", "Cat"] {
        let body = json!({"first_name": name, "last_name": "Lee",
            "mobile": tidings_tests::unique_mobile()});
        let r = call(&app, &c.staff_key, "POST", "/patients", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        patients.push(r.id());
    }
    // Ann is booked next week; Cat is not.
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    let body = json!({"patient_id": patients[0], "start": start,
        "end": start + chrono::Duration::minutes(30)});
    let r = call(&app, &c.staff_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let appointment = r.id();
    // As the clinic was before: no mark, no appointment on a patient's index.
    let (client, table) = (app.store.client(), app.store.table());
    let pk = || AttributeValue::S(keys::clinic_pk(&c.id));
    let sk = || AttributeValue::S(keys::appointment_sk(&appointment));
    delete_item(&app, &c.id, keys::APPOINTMENTS_INDEXED_SK).await;
    client
        .update_item()
        .table_name(table)
        .key("pk", pk())
        .key("sk", sk())
        .update_expression("REMOVE gsi2pk, gsi2sk")
        .send()
        .await
        .unwrap();
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/reports",
        Some(json!({"name": "Recall", "type": "recall", "filters": {"months": 6}})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let report = r.id();
    let recalled = || async {
        let r = call(
            &app,
            &c.staff_key,
            "GET",
            &format!("/reports/{report}/results"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(recalled().await, vec![patients[1].clone()]);

    let (ok, out, err) = admin(&["appointments", "index", "--clinic", &c.id]);
    assert!(ok, "{err}");
    assert_eq!(out, json!({"clinics": 1, "appointments": 1, "indexed": 1}));
    let item = get_item(&app, &c.id, &keys::appointment_sk(&appointment)).await;
    assert_eq!(
        item["gsi2pk"],
        AttributeValue::S(keys::patient_appointments_gsi(&c.id, &patients[0]))
    );
    assert_eq!(item["gsi2sk"], item["gsi1sk"]);
    assert_eq!(recalled().await, vec![patients[1].clone()]);
    let (ok, again, _) = admin(&["appointments", "index", "--clinic", &c.id]);
    assert!(ok);
    assert_eq!(again["indexed"], 0, "{again}");
}

/// A clinic from before the open runs' index: its erasures read every run (and still reach the
/// messages a paused run holds); `runs index` puts each unfinished run on the index and marks
/// the clinic, and the next erasure reaches the held message through it.
#[tokio::test]
async fn runs_index_indexes_an_older_clinics_unfinished_runs() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use tidings_app::store::keys;
    use tidings_tests::campaigns::{campaign_to_new_patients, event, limits};
    let app = app().await;
    // No credits: the run pauses, holding a message for each of the two patients.
    let (c, campaign, _) = campaign_to_new_patients(&app, 0, 2).await;
    let now = chrono::Utc::now().to_rfc3339();
    tidings_app::services::campaign_run::fire(&app, &event(&c, &campaign, &now), &limits(60))
        .await
        .unwrap();
    let out = app
        .store
        .client()
        .query()
        .table_name(app.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
        .expression_attribute_values(":pk", AttributeValue::S(keys::clinic_pk(&c.id)))
        .expression_attribute_values(":p", AttributeValue::S(format!("RUN#{campaign}#")))
        .send()
        .await
        .unwrap();
    let run = out.items.unwrap().remove(0);
    let run_sk = run["sk"].as_s().unwrap().clone();
    let run_id = run["id"].as_s().unwrap().clone();
    // As the clinic was before: no mark, the run on no index.
    delete_item(&app, &c.id, keys::RUNS_INDEXED_SK).await;
    app.store
        .client()
        .update_item()
        .table_name(app.store.table())
        .key("pk", AttributeValue::S(keys::clinic_pk(&c.id)))
        .key("sk", AttributeValue::S(run_sk.clone()))
        .update_expression("REMOVE gsi2pk, gsi2sk")
        .send()
        .await
        .unwrap();
    let recipients = || async {
        let r = call(
            &app,
            &c.staff_key,
            "GET",
            &format!("/campaigns/{campaign}/recipients"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["items"].as_array().unwrap().clone()
    };
    let held: Vec<String> = recipients()
        .await
        .iter()
        .map(|r| r["patient_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(held.len(), 2);
    let erased = |patient: &str| {
        let patient = patient.to_owned();
        let recipients = &recipients;
        async move {
            let rows = recipients().await;
            let row = rows.iter().find(|r| r["patient_id"] == patient.as_str());
            let row = row.unwrap();
            (row["status"].as_str(), row["reason"].as_str()) == (Some("not_sent"), Some("erased"))
        }
    };
    erase(&app, &c.staff_key, held[0].clone()).await;
    assert!(erased(&held[0]).await, "before the index");

    let (ok, out, err) = admin(&["runs", "index", "--clinic", &c.id]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        serde_json::json!({"clinics": 1, "unfinished_runs": 1, "indexed": 1})
    );
    let item = get_item(&app, &c.id, &run_sk).await;
    assert_eq!(
        (&item["gsi2pk"], &item["gsi2sk"]),
        (
            &AttributeValue::S(keys::open_runs_gsi(&c.id)),
            &AttributeValue::S(run_id)
        )
    );
    get_item(&app, &c.id, keys::RUNS_INDEXED_SK).await;
    assert!(!erased(&held[1]).await);
    erase(&app, &c.staff_key, held[1].clone()).await;
    assert!(erased(&held[1]).await, "through the index");
    let (ok, again, _) = admin(&["runs", "index", "--clinic", &c.id]);
    assert!(ok);
    assert_eq!(again["indexed"], 0, "{again}");
}
