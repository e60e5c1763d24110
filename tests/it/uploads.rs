//! `/uploads` against DynamoDB Local: rows matched by external id and date of birth, the
//! failure CSV, and a campaign sent to the list.

use serde_json::json;
use std::time::Duration as StdDuration;
use tidings_app::services::campaign_run::{FireEvent, FireOutcome, Limits, fire};
use tidings_tests::{
    app, assert_rejected, call, call_raw, grant, moto_sent, new_clinic, snapshot, unique_mobile,
};

#[tokio::test]
async fn rows_match_by_external_id_and_date_of_birth_and_a_campaign_reaches_them() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    grant(&app, &c.id, 10).await;
    let (ann_m, cat_m, eve_m) = (unique_mobile(), unique_mobile(), unique_mobile());
    let ext = |s: &str| format!("{s}-{}", &c.id[..8]);
    for (e, first, dob, mobile) in [
        ("E1", "Ann", "1990-01-02", Some(ann_m.as_str())),
        ("E2", "Bob", "1980-05-06", None),
        ("E3", "Cat", "1970-01-01", Some(cat_m.as_str())),
        ("E4", "Dee", "1985-03-02", None),
        ("E5", "Eve", "1999-09-09", None),
    ] {
        let r = call(
            &app,
            key,
            "POST",
            "/patients",
            Some(
                json!({"first_name": first, "last_name": "X", "date_of_birth": dob,
                        "mobile": mobile, "external_id": ext(e)}),
            ),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    let csv = format!(
        "External_ID,Date_Of_Birth,First_Name,Last_Name,Mobile,Notes\n\
         {e1},1990-01-02,Ann,X,,\n\
         {e2},1980-05-06,Bob,X,,no mobile anywhere\n\
         {e3},1971-01-01,Cat,X,,wrong year\n\
         NOPE,1990-01-01,Nobody,X,,\n\
         {e1},1990-01-02,Ann,X,,again\n\
         {e4},02/03/1985,Dee,X,12,bad mobile\n\
         {e5},1999-09-09,Eve,X,{eve},mobile only in the list\n",
        e1 = ext("E1"),
        e2 = ext("E2"),
        e3 = ext("E3"),
        e4 = ext("E4"),
        e5 = ext("E5"),
        eve = eve_m.replace("+61", "0"),
    );
    let r = call_raw(
        &app,
        Some(key),
        "POST",
        "/uploads?channel=sms",
        Some((csv.into_bytes(), "text/csv")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (
            r.json["rows"].as_u64(),
            r.json["matched"].as_u64(),
            r.json["unmatched"].as_u64()
        ),
        (Some(7), Some(2), Some(5))
    );
    let id = r.id();
    assert_eq!(
        call(&app, key, "GET", &format!("/uploads/{id}"), None)
            .await
            .json,
        r.json
    );

    let failures = call(
        &app,
        key,
        "GET",
        &format!("/uploads/{id}/failures.csv"),
        None,
    )
    .await;
    assert_eq!(failures.status, 200);
    let text = String::from_utf8(failures.body).unwrap();
    let got: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[f.len() - 1].to_owned())
        })
        .collect();
    let want = [
        ("3", "no_contact_detail"),
        ("4", "date_of_birth_mismatch"),
        ("5", "not_found"),
        ("6", "duplicate_row"),
        ("7", "invalid_mobile"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec(),
        "{text}"
    );

    // A campaign to the list reaches the two matched people, Eve at the list's number.
    let template = call(&app, key, "POST", "/templates",
        Some(json!({"name": "Flu", "channel": "sms", "category": "marketing", "body": "Hi {{ first_name }}, flu shots are in."}))).await.id();
    let created = call(&app, key, "POST", "/campaigns", Some(json!({"name": "Flu", "upload_id": id,
        "channels": {"sms": template}, "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}))).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let ev = FireEvent {
        clinic_id: c.id.clone(),
        campaign_id: created.id(),
        scheduled_time: "2026-12-01T09:00:00Z".into(),
        wake_time: None,
    };
    let limits = Limits {
        stop_at: tokio::time::Instant::now() + StdDuration::from_secs(60),
        lease: chrono::Duration::minutes(5),
    };
    let out = fire(&app, &ev, &limits).await.unwrap();
    let FireOutcome::Finished { counts, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!((counts.recipients, counts.sent), (2, 2));
    let sent = moto_sent().await;
    assert_eq!(sent.sms_to(&ann_m).len(), 1);
    assert_eq!(sent.sms_to(&eve_m).len(), 1);
    assert_eq!(sent.sms_to(&cat_m).len(), 0);
}

#[tokio::test]
async fn malformed_and_oversized_files_are_refused_and_clinics_kept_apart() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let key = &c.staff_key;
    let before = snapshot(&app, &c.id).await;
    let post = |body: Vec<u8>, q: &'static str| {
        let app = &app;
        async move {
            call_raw(
                app,
                Some(key),
                "POST",
                &format!("/uploads{q}"),
                Some((body, "text/csv")),
            )
            .await
        }
    };
    let r = post(
        b"external_id,date_of_birth\nE1,1990-01-01\nE2\n".to_vec(),
        "?channel=sms",
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "line 3").await;
    let r = post(b"id,dob\nE1,1990-01-01\n".to_vec(), "?channel=sms").await;
    assert_rejected(&app, &c.id, &before, &r, 400, "line 1").await;
    let r = post(b"external_id,date_of_birth\n".to_vec(), "?channel=sms").await;
    assert_rejected(&app, &c.id, &before, &r, 400, "line 2").await;
    let r = post(
        b"external_id,date_of_birth\nE1,1990-01-01\n".to_vec(),
        "?channel=fax",
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "channel").await;
    let r = post(b"external_id,date_of_birth\nE1,1990-01-01\n".to_vec(), "").await;
    assert_rejected(&app, &c.id, &before, &r, 400, "channel").await;
    let big = format!(
        "external_id,date_of_birth\n{}",
        "E1,1990-01-01\n".repeat(90_000)
    )
    .into_bytes();
    let r = post(big, "?channel=sms").await;
    assert_eq!(r.status, 413);
    assert_eq!(snapshot(&app, &c.id).await, before);

    let r = post(
        b"external_id,date_of_birth\nE1,1990-01-01\n".to_vec(),
        "?channel=email",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    for path in [
        format!("/uploads/{id}"),
        format!("/uploads/{id}/failures.csv"),
    ] {
        assert_eq!(
            call(&app, &other.staff_key, "GET", &path, None)
                .await
                .status,
            404,
            "{path}"
        );
    }
    let r = call(
        &app,
        &other.staff_key,
        "POST",
        "/campaigns",
        Some(json!({"name": "X", "upload_id": id, "channels": {"sms": "t"}})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "upload_id"));
}

/// `failures.csv` gives back what was uploaded through the one CSV writer: a cell a
/// spreadsheet would run as a formula comes back as text.
#[tokio::test]
async fn failures_csv_neutralises_formula_cells() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let csv = "External ID,Date of Birth,First Name,Last Name,Mobile\n\
               NOPE,1990-01-01,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@SUM(A1),\n";
    let r = call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/uploads?channel=sms",
        Some((csv.as_bytes().to_vec(), "text/csv")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let failures = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/uploads/{}/failures.csv", r.id()),
        None,
    )
    .await;
    assert_eq!(failures.status, 200);
    let mut rows = csv::Reader::from_reader(failures.body.as_slice());
    let row = rows.records().next().unwrap().unwrap();
    assert_eq!(&row[3], "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(&row[4], "'@SUM(A1)");
}

/// A field beyond the documented limit fails the file with a 400 naming its line, before
/// anything is stored (a 450 KB field made its chunk exceed DynamoDB's item limit: a 500,
/// with earlier chunks left behind).
#[tokio::test]
async fn an_oversized_field_fails_the_file_naming_its_line_and_stores_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let mut csv = String::from("External ID,DOB,First Name\n");
    for i in 0..150 {
        csv.push_str(&format!("E{i},1990-01-01,Ann\n"));
    }
    csv.push_str(&format!("E999,1990-01-01,{}\n", "x".repeat(450 * 1024)));
    let before = snapshot(&app, &c.id).await;
    let r = call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/uploads?channel=sms",
        Some((csv.into_bytes(), "text/csv")),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field(), r.code()),
        (400, "line 152", "malformed_csv"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&app, &c.id).await, before);
}

/// Fails the `PutItem` of an upload's chunk of failed rows.
#[derive(Debug)]
struct RefuseFailedChunk;

impl aws_sdk_dynamodb::config::Intercept for RefuseFailedChunk {
    fn name(&self) -> &'static str {
        "refuse-failed-chunk"
    }

    fn read_before_execution(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let put = ctx
            .input()
            .downcast_ref::<aws_sdk_dynamodb::operation::put_item::PutItemInput>();
        let sk = put.and_then(|p| p.item.as_ref()?.get("sk")?.as_s().ok().cloned());
        if sk.is_some_and(|sk| sk.contains("#FAILED#")) {
            return Err("injected: chunk refused".into());
        }
        Ok(())
    }
}

/// An upload whose write DynamoDB refuses midway (after its matched rows and every reference
/// were written) takes all of it back: no chunk, no reference to who its rows name (a hash of
/// a number is still theirs), no summary.
#[tokio::test]
async fn a_refused_write_leaves_nothing_of_the_upload() {
    let base = app().await;
    let c = new_clinic(&base).await;
    let mobile = unique_mobile();
    let r = call(&base, &c.staff_key, "POST", "/patients", Some(json!({"first_name": "Ann",
        "last_name": "Lee", "mobile": mobile, "external_id": "PMS-1", "date_of_birth": "1950-03-04"}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let aws = aws_config::load_from_env().await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&aws)
        .interceptor(RefuseFailedChunk)
        .build();
    let store = tidings_app::store::Store::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        &base.config.table_name,
    );
    let csv = format!(
        "External ID,DOB,First Name,Last Name,Mobile\nPMS-1,1950-03-04,Ann,Lee,{mobile}\nPMS-2,1950-03-04,Bob,Lee,{}\n",
        unique_mobile()
    );
    let stored =
        tidings_app::services::uploads::create(&store, &c.id, Some("sms"), csv.as_bytes()).await;
    assert!(stored.is_err(), "{stored:?}");
    let left: Vec<String> = snapshot(&base, &c.id)
        .await
        .into_iter()
        .filter_map(|i| i["sk"].as_s().ok().cloned())
        .filter(|sk| sk.starts_with("UPLOAD"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
