//! `/reports` and `/reports/{id}/results` against DynamoDB Local: each report type returns the
//! people it should, now.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_tests::{assert_rejected, call, list_all, new_clinic, snapshot};

async fn post(app: &App, key: &str, path: &str, body: Value) -> String {
    let r = call(app, key, "POST", path, Some(body)).await;
    assert_eq!(r.status, 201, "{path}: {}", r.json);
    r.id()
}

async fn results(app: &App, key: &str, report: &str) -> (u64, Vec<String>) {
    let r = call(
        app,
        key,
        "GET",
        &format!("/reports/{report}/results?limit=2"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let count = r.json["count"].as_u64().unwrap();
    let mut ids: Vec<String> = Vec::new();
    let mut page = r.json;
    loop {
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        let Some(c) = page["next_cursor"].as_str() else {
            break;
        };
        page = call(
            app,
            key,
            "GET",
            &format!("/reports/{report}/results?limit=2&cursor={c}"),
            None,
        )
        .await
        .json;
    }
    (count, ids)
}

fn appt(patient: &str, days: i64, status: &str) -> Value {
    let start = Utc::now() + Duration::days(days);
    json!({"patient_id": patient, "start": start.to_rfc3339(),
           "end": (start + Duration::minutes(30)).to_rfc3339(), "status": status})
}

#[tokio::test]
async fn each_report_type_lists_who_it_should_now() {
    let app = tidings_tests::app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    let pt = |first: &str, dob: &str, gender: &str, email: Option<&str>| {
        json!({"first_name": first, "last_name": "X", "date_of_birth": dob, "gender": gender,
               "mobile": "0412 345 678", "email": email})
    };
    let ann = post(
        &app,
        key,
        "/patients",
        pt("Ann", "1990-12-25", "female", Some("ann@x.example")),
    )
    .await;
    let bob = post(
        &app,
        key,
        "/patients",
        pt("Bob", "1950-01-05", "male", None),
    )
    .await;
    let cat = post(
        &app,
        key,
        "/patients",
        pt("Cat", "2015-06-01", "female", None),
    )
    .await;
    let dan = post(
        &app,
        key,
        "/patients",
        pt("Dan", "1980-03-03", "male", None),
    )
    .await;

    // Patient reports.
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "Xmas birthdays", "type": "patient",
        "filters": {"birthday_from": "12-20", "birthday_to": "01-10"}}),
    )
    .await;
    let (n, ids) = results(&app, key, &r).await;
    assert_eq!((n, ids.len()), (2, 2));
    assert!(ids.contains(&ann) && ids.contains(&bob));
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "Adult women with email", "type": "patient",
        "filters": {"gender": "female", "age_min": 18, "has_email": true}}),
    )
    .await;
    assert_eq!(results(&app, key, &r).await.1, vec![ann.clone()]);
    let everyone = post(
        &app,
        key,
        "/reports",
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let (n, ids) = results(&app, key, &everyone).await;
    assert_eq!((n, ids.len()), (4, 4), "paged two at a time");

    // Appointments: Ann comes in 3 days (and twice), Bob in 10, Cat had one cancelled.
    post(&app, key, "/appointments", appt(&ann, 3, "scheduled")).await;
    post(&app, key, "/appointments", appt(&ann, 3, "confirmed")).await;
    post(&app, key, "/appointments", appt(&bob, 10, "scheduled")).await;
    post(&app, key, "/appointments", appt(&cat, 3, "cancelled")).await;
    // Dan was seen 2 months ago; Cat 2 years ago.
    post(&app, key, "/appointments", appt(&dan, -60, "completed")).await;
    post(&app, key, "/appointments", appt(&cat, -730, "completed")).await;
    let today = Utc::now().date_naive();
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "This week", "type": "appointment",
        "filters": {"from": today.to_string(), "to": (today + Duration::days(7)).to_string()}}),
    )
    .await;
    let (n, ids) = results(&app, key, &r).await;
    assert_eq!(n, 2, "Ann's two appointments; Cat's is cancelled");
    assert!(ids.iter().all(|i| *i == ann));
    let r = post(&app, key, "/reports", json!({"name": "Cancelled", "type": "appointment",
        "filters": {"from": today.to_string(), "to": (today + Duration::days(7)).to_string(), "statuses": ["cancelled"]}})).await;
    assert_eq!(results(&app, key, &r).await.1, vec![cat.clone()]);

    // Recall: not seen in 6 months and nothing booked: Cat only (Ann and Bob are booked,
    // Dan was seen recently; Cat's future appointment is cancelled).
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "Recall", "type": "recall", "filters": {"months": 6}}),
    )
    .await;
    assert_eq!(results(&app, key, &r).await.1, vec![cat.clone()]);

    // Referral: referrers with referrals in the range, not outside it.
    let jo = post(
        &app,
        key,
        "/referrers",
        json!({"name": "Dr Jo Park", "email": "jo@park.example"}),
    )
    .await;
    let lee = post(&app, key, "/referrers", json!({"name": "Dr Lee"})).await;
    post(
        &app,
        key,
        &format!("/patients/{ann}/referrals"),
        json!({"referrer_id": jo, "date": "2026-03-01"}),
    )
    .await;
    post(
        &app,
        key,
        &format!("/patients/{bob}/referrals"),
        json!({"referrer_id": lee, "date": "2025-03-01"}),
    )
    .await;
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "2026 referrers", "type": "referral",
        "filters": {"from": "2026-01-01", "to": "2026-11-24"}}),
    )
    .await;
    let got = call(&app, key, "GET", &format!("/reports/{r}/results"), None)
        .await
        .json;
    assert_eq!(got["count"], 1);
    assert_eq!(got["items"][0]["id"], jo.as_str());
    assert_eq!(got["items"][0]["kind"], "referrer");

    // Deleted patients leave every report.
    assert_eq!(
        call(&app, key, "DELETE", &format!("/patients/{ann}"), None)
            .await
            .status,
        204
    );
    assert_eq!(results(&app, key, &everyone).await.0, 3);
}

#[tokio::test]
async fn invalid_filters_name_the_filter_and_clinics_are_kept_apart() {
    let app = tidings_tests::app().await;
    let c = new_clinic(&app).await;
    let other = new_clinic(&app).await;
    let key = &c.staff_key;
    let before = snapshot(&app, &c.id).await;
    for (body, field) in [
        (
            json!({"name": "R", "type": "patient", "filters": {"birthday_from": "13-01", "birthday_to": "01-01"}}),
            "filters.birthday_from",
        ),
        (
            json!({"name": "R", "type": "patient", "filters": {"age_min": 50, "age_max": 10}}),
            "filters.age_max",
        ),
        (
            json!({"name": "R", "type": "patient", "filters": {"gender": "robot"}}),
            "filters.gender",
        ),
        (
            json!({"name": "R", "type": "patient", "filters": {"shoe_size": 9}}),
            "filters.shoe_size",
        ),
        (
            json!({"name": "R", "type": "appointment", "filters": {"in_days": 2, "from": "2026-12-01"}}),
            "filters.in_days",
        ),
        (
            json!({"name": "R", "type": "appointment", "filters": {"from": "2026-12-02", "to": "2026-12-01"}}),
            "filters.to",
        ),
        (
            json!({"name": "R", "type": "appointment", "filters": {"in_days": 1, "statuses": ["booked"]}}),
            "filters.statuses[0]",
        ),
        (
            json!({"name": "R", "type": "recall", "filters": {}}),
            "filters.months",
        ),
        (
            json!({"name": "R", "type": "referral", "filters": {"from": "2026-01-01"}}),
            "filters.to",
        ),
        (json!({"name": "R", "type": "everyone"}), "type"),
        (json!({"name": "", "type": "patient"}), "name"),
    ] {
        let r = call(&app, key, "POST", "/reports", Some(body.clone())).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let id = call(
        &app,
        key,
        "POST",
        "/reports",
        Some(json!({"name": "All", "type": "patient"})),
    )
    .await
    .id();
    let r = call(&app, key, "GET", &format!("/reports/{id}"), None).await;
    assert_eq!(r.json["spec"]["type"], "patient");
    for (method, path) in [
        ("GET", format!("/reports/{id}")),
        ("GET", format!("/reports/{id}/results")),
        ("DELETE", format!("/reports/{id}")),
    ] {
        let r = call(&app, &other.staff_key, method, &path, None).await;
        assert_eq!(r.status, 404, "{method} {path}");
    }
    let (listed, _) = list_all(&app, &other.staff_key, "/reports?limit=5").await;
    assert!(listed.is_empty());
    let r = call(
        &app,
        key,
        "GET",
        &format!("/reports/{id}/results?cursor=%21%21"),
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "cursor"));
    assert_eq!(
        call(&app, key, "DELETE", &format!("/reports/{id}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn a_cursor_whose_member_left_the_report_goes_on_with_the_next_one() {
    let app = tidings_tests::app().await;
    let c = new_clinic(&app).await;
    let key = &c.staff_key;
    let mut ids = Vec::new();
    for name in ["Ann", "Bea", "Cy", "Di"] {
        let body = json!({"first_name": name, "last_name": "Lee"});
        ids.push(post(&app, key, "/patients", body).await);
    }
    ids.sort();
    let r = post(
        &app,
        key,
        "/reports",
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let page = call(
        &app,
        key,
        "GET",
        &format!("/reports/{r}/results?limit=2"),
        None,
    )
    .await;
    let first: Vec<&str> = page.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[0].as_str(), ids[1].as_str()]);
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();
    // The member under the cursor is erased before the next page is read.
    let gone = call(&app, key, "DELETE", &format!("/patients/{}", ids[1]), None).await;
    assert_eq!(gone.status, 204);
    let next = call(
        &app,
        key,
        "GET",
        &format!("/reports/{r}/results?limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(next.status, 200, "{}", next.json);
    let rest: Vec<&str> = next.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        [ids[2].as_str(), ids[3].as_str()],
        "the list goes on, not ends: {}",
        next.json
    );
}

/// A page asked for by cursor reads from the cursor on, not the whole audience again: on a
/// report of 1,201 patients, the second page of ten reads a small part of what the first
/// (which counts everyone) reads, and has no count.
#[tokio::test]
async fn a_page_after_the_first_reads_from_its_cursor_not_the_whole_audience() {
    use tidings_tests::meter::metered_app;
    let base = tidings_tests::app().await;
    let c = new_clinic(&base).await;
    let mobiles: Vec<String> = (0..1_201).map(|_| tidings_tests::unique_mobile()).collect();
    tidings_tests::campaigns::seed_patients(&base, &c.id, &mobiles).await;
    let r = post(
        &base,
        &c.staff_key,
        "/reports",
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let (app, meter) = metered_app(&base).await;
    meter.take();
    let first = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/reports/{r}/results?limit=10"),
        None,
    )
    .await;
    let (first_reads, _) = meter.take();
    assert_eq!(first.json["count"], 1_201, "{}", first.json);
    let cursor = first.json["next_cursor"].as_str().unwrap();
    let second = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/reports/{r}/results?limit=10&cursor={cursor}"),
        None,
    )
    .await;
    let (second_reads, _) = meter.take();
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(second.json["items"].as_array().unwrap().len(), 10);
    assert!(second.json["count"].is_null(), "{}", second.json);
    assert!(
        second_reads * 3.0 < first_reads,
        "the second page read {second_reads} units, the first {first_reads}"
    );
}

/// A report page reads the audience at most `AUDIENCE_MAX_READS` times (here once: up to 500
/// people): over a larger audience the first page has no count, and a report few people match
/// answers what it found so far with a cursor at the position it reached, so no page walks
/// the whole clinic, however large, within one request.
#[tokio::test]
async fn a_report_page_reads_the_audience_within_its_budget() {
    let base = tidings_tests::app().await;
    let c = new_clinic(&base).await;
    let mobiles: Vec<String> = (0..1_201).map(|_| tidings_tests::unique_mobile()).collect();
    tidings_tests::campaigns::seed_patients(&base, &c.id, &mobiles).await;
    // The one patient with an email, made last: at the end of the walk.
    let r = call(
        &base,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Eve", "last_name": "Ng",
                    "email": tidings_tests::unique_email("eve")})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let eve = r.id();
    let all = post(
        &base,
        &c.staff_key,
        "/reports",
        json!({"name": "All", "type": "patient"}),
    )
    .await;
    let sparse = post(
        &base,
        &c.staff_key,
        "/reports",
        json!({"name": "Email", "type": "patient", "filters": {"has_email": true}}),
    )
    .await;
    let mut app = base.clone();
    app.config.audience_reads = 1;

    let first = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("/reports/{all}/results?limit=10"),
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.json);
    assert!(first.json["count"].is_null(), "{}", first.json);
    assert_eq!(first.json["items"].as_array().unwrap().len(), 10);
    assert!(first.json["next_cursor"].is_string());
    // With the default budget the same page counts everyone.
    let counted = call(
        &base,
        &c.staff_key,
        "GET",
        &format!("/reports/{all}/results?limit=10"),
        None,
    )
    .await;
    assert_eq!(counted.json["count"], 1_202, "{}", counted.json);

    // The sparse report: pages with no one yet, each with a cursor, until Eve.
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/reports/{sparse}/results?limit=10&cursor={c}"),
            None => format!("/reports/{sparse}/results?limit=10"),
        };
        let r = call(&app, &c.staff_key, "GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        pages += 1;
        assert!(pages < 20, "the walk never ended: {}", r.json);
        found.extend(
            r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(found, vec![eve]);
    assert!(
        pages >= 3,
        "1,202 patients at 500 a page take three pages, took {pages}"
    );
}

/// A recall report's page looks up its own patients on the index of their appointments; it
/// does not read the clinic's book since the cutoff again for every page. Here one patient has
/// 200 appointments ahead: a page by cursor reads a few dozen items, not the 200. (Before,
/// every page read all of them.)
#[tokio::test]
async fn a_recall_page_reads_its_patients_appointments_not_the_whole_book() {
    use tidings_domain::appointment::{Appointment, AppointmentFields, AppointmentStatus};
    use tidings_tests::meter::metered_app;
    const BOOKED: usize = 200;
    let base = tidings_tests::app().await;
    let c = new_clinic(&base).await;
    let mobiles: Vec<String> = (0..30).map(|_| tidings_tests::unique_mobile()).collect();
    let ids = tidings_tests::campaigns::seed_patients(&base, &c.id, &mobiles).await;
    let busy = ids[0].clone();
    let now = chrono::Utc::now();
    for i in 0..BOOKED {
        let start = now + Duration::days(1) + Duration::hours(i as i64);
        let a = Appointment {
            id: uuid::Uuid::now_v7().to_string(),
            fields: AppointmentFields {
                patient_id: busy.clone(),
                practitioner_id: None,
                start,
                end: start + Duration::minutes(30),
                location: None,
                appointment_type: None,
                status: AppointmentStatus::Scheduled,
            },
            created_at: now,
            updated_at: now,
            completed_at: None,
        };
        base.store.write_appointment(&c.id, &a, None).await.unwrap();
    }
    let r = post(
        &base,
        &c.staff_key,
        "/reports",
        json!({"name": "Recall", "type": "recall", "filters": {"months": 6}}),
    )
    .await;
    let (app, meter) = metered_app(&base).await;
    let path = format!("/reports/{r}/results?limit=10");
    let first = call(&app, &c.staff_key, "GET", &path, None).await;
    assert_eq!(first.json["count"], 29, "{}", first.json);
    let cursor = first.json["next_cursor"].as_str().unwrap();
    meter.items_read();
    let second = call(
        &app,
        &c.staff_key,
        "GET",
        &format!("{path}&cursor={cursor}"),
        None,
    )
    .await;
    let (all, by_queries) = meter.items_read();
    assert_eq!(second.status, 200, "{}", second.json);
    let items = second.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{}", second.json);
    assert!(items.iter().all(|i| i["id"] != busy.as_str()));
    assert!(
        by_queries < BOOKED as u64 / 2,
        "the second page read {by_queries} items by queries ({all} in all)"
    );
}

/// A campaign to a recall report and one to an appointment report are estimated and sent:
/// the estimate and the run read the patients' index of visits (recall) and the appointment
/// book (appointments), as IAM must allow (`infra/local/iam_check.py` reads these calls).
#[tokio::test]
async fn campaigns_to_recall_and_appointment_reports_are_estimated_and_sent() {
    use tidings_tests::campaigns::{day_ahead_campaign, event, limits, report};
    let app = tidings_tests::app().await;
    let c = new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 10).await;
    let mobiles: Vec<String> = (0..3).map(|_| tidings_tests::unique_mobile()).collect();
    let ids = tidings_tests::campaigns::seed_patients(&app, &c.id, &mobiles).await;
    // The first is booked tomorrow: not recalled, but in the appointment report.
    let start = Utc::now() + Duration::days(1);
    let body = json!({"patient_id": ids[0], "start": start, "end": start + Duration::minutes(30)});
    let r = call(&app, &c.staff_key, "POST", "/appointments", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let today = Utc::now().date_naive();
    for (spec, recipients) in [
        (
            json!({"name": "Recall", "type": "recall", "filters": {"months": 6}}),
            2,
        ),
        (
            json!({"name": "Booked", "type": "appointment", "filters": {"from": today.to_string(),
            "to": (today + Duration::days(7)).to_string()}}),
            1,
        ),
    ] {
        let report_id = report(&app, &c.staff_key, spec).await;
        let id = day_ahead_campaign(&app, &c, &report_id, None).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/campaigns/{id}/estimate");
        let estimate = call(&app, &c.staff_key, "GET", &path, None).await;
        assert_eq!(estimate.status, 200, "{}", estimate.json);
        assert_eq!(estimate.json["people"], recipients, "{}", estimate.json);
        let at = Utc::now().to_rfc3339();
        tidings_app::services::campaign_run::fire(&app, &event(&c, &id, &at), &limits(60))
            .await
            .unwrap();
        let done = call(&app, &c.staff_key, "GET", &format!("/campaigns/{id}"), None).await;
        assert_eq!(done.json["counts"]["sent"], recipients, "{}", done.json);
    }
}
