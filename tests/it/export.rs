//! `GET /patients/export`: CSV of the chosen columns, across DynamoDB pages.

use serde_json::json;
use tidings_tests::{app, call, new_clinic};

#[tokio::test]
async fn exports_chosen_columns_of_every_patient_across_pages() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    call(
        &app,
        &other.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Other", "last_name": "Clinic"})),
    )
    .await;
    for i in 0..250 {
        let body = json!({"first_name": format!("P{i:03}"), "last_name": "Test", "email": format!("p{i}@example.com"), "mobile": "0412 345 678"});
        assert_eq!(
            call(&app, &c.staff_key, "POST", "/patients", Some(body))
                .await
                .status,
            201
        );
    }
    call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "=HYPERLINK(\"x\")", "last_name": "Quote, \"Me\""})),
    )
    .await;

    let r = call(
        &app,
        &c.staff_key,
        "GET",
        "/patients/export?columns=first_name,email,mobile",
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers.get("x-next-cursor").is_none());
    let text = String::from_utf8(r.body).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rows.headers().unwrap(),
        vec!["first_name", "email", "mobile"]
    );
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(
        records.len(),
        251,
        "every patient of the clinic, none of another's"
    );
    assert_eq!(&records[0][0], "P000");
    assert_eq!(&records[249][1], "p249@example.com");
    assert_eq!(&records[249][2], "+61412345678");
    assert_eq!(
        &records[250][0], "'=HYPERLINK(\"x\")",
        "formulas are neutralised"
    );

    let filtered = call(
        &app,
        &c.staff_key,
        "GET",
        "/patients/export?columns=first_name&q=p00",
        None,
    )
    .await;
    assert_eq!(
        String::from_utf8(filtered.body).unwrap().lines().count(),
        1 + 10
    );

    for (query, field) in [
        ("columns=first_name,password", "columns"),
        ("columns=email,email", "columns"),
        ("gender=x", "gender"),
        ("format=xls", "format"),
    ] {
        let r = call(
            &app,
            &c.staff_key,
            "GET",
            &format!("/patients/export?{query}"),
            None,
        )
        .await;
        assert_eq!((r.status.as_u16(), r.field()), (400, field), "{query}");
    }
}

#[tokio::test]
async fn a_large_export_continues_from_its_cursor_without_gaps_or_repeats() {
    use tidings_app::services::patients;
    use tidings_app::store::cursor;
    use tidings_domain::export::{Column, parse_columns};
    use tidings_domain::patient::PatientFilter;

    let app = app().await;
    let c = new_clinic(&app).await;
    for i in 0..30 {
        call(
            &app,
            &c.staff_key,
            "POST",
            "/patients",
            Some(json!({"first_name": format!("N{i:02}"), "last_name": "Chunk"})),
        )
        .await;
    }
    // Chunks of ~40 bytes (about 8 rows) instead of 4 MiB, so continuation is exercised on a small clinic.
    let cols = [Column::FirstName];
    let mut after = None;
    let mut rows = Vec::new();
    let mut chunks = 0;
    loop {
        let (bytes, next) = patients::export(
            &app.store,
            &c.id,
            &cols,
            &PatientFilter::default(),
            after,
            (40, 20),
        )
        .await
        .unwrap();
        chunks += 1;
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("first_name"),
            "every chunk starts with the header"
        );
        rows.extend(lines.map(str::to_owned));
        match next {
            Some(id) => {
                let scope = cursor::scope(&c.id, "/patients/export");
                after = Some(cursor::decode(&scope, &cursor::encode(&scope, &id)).unwrap());
            }
            None => break,
        }
    }
    assert!(
        chunks >= 3,
        "the export was split into chunks, not {chunks}"
    );
    let expected: Vec<String> = (0..30).map(|i| format!("N{i:02}")).collect();
    assert_eq!(rows, expected);
    assert_eq!(parse_columns(None).unwrap().len(), 15);
}

#[tokio::test]
async fn a_sparse_filter_answers_within_its_read_budget_with_a_cursor_and_misses_no_one() {
    // A clinic of 1,201 patients, one of whom matches; each answer may make one read (up to
    // ten DynamoDB pages, 1,000 patients): the first answer has no row yet and a cursor.
    let mut app = app().await;
    app.config.export_reads = 1;
    let c = new_clinic(&app).await;
    let mobiles: Vec<String> = (0..1_200).map(|_| tidings_tests::unique_mobile()).collect();
    tidings_tests::campaigns::seed_patients(&app, &c.id, &mobiles).await;
    let body = json!({"first_name": "Zara", "last_name": "Quill"});
    assert_eq!(
        call(&app, &c.staff_key, "POST", "/patients", Some(body))
            .await
            .status,
        201
    );

    let mut path = "/patients/export?columns=first_name&q=quill".to_owned();
    let mut answers = Vec::new();
    loop {
        let r = call(&app, &c.staff_key, "GET", &path, None).await;
        assert_eq!(r.status, 200);
        let rows: Vec<String> = String::from_utf8(r.body)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
        answers.push(rows);
        match r.headers.get("x-next-cursor") {
            Some(c) => {
                path = format!(
                    "/patients/export?columns=first_name&q=quill&cursor={}",
                    c.to_str().unwrap()
                )
            }
            None => break,
        }
        assert!(answers.len() < 10, "the export ends");
    }
    assert!(
        answers.len() >= 2,
        "the first answer stopped at its budget: {answers:?}"
    );
    assert!(answers[0].is_empty());
    assert_eq!(answers.concat(), ["Zara"]);
}
