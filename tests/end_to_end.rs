//! End to end over HTTP through `cargo lambda watch` (the router in Cargo.toml), with a real
//! API key: the path a clinic's software takes, Lambda runtime and all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings_tests::{app, new_clinic};

fn api_url() -> String {
    std::env::var("TIDINGS_API_URL")
        .expect("TIDINGS_API_URL is set by `make test` to the cargo lambda watch address")
}

#[tokio::test]
async fn practitioner_patient_contact_read_back_and_export_over_http() {
    let app = app().await;
    let clinic = new_clinic(&app).await;
    let base = api_url();
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", clinic.staff_key);

    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .header("authorization", &auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };

    let res = send(
        reqwest::Method::POST,
        "/practitioners".into(),
        Some(json!({"name": "Dr Maya Ng", "reply_to": "maya@harbour.example"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let practitioner: Value = res.json().await.unwrap();
    let pr = practitioner["id"].as_str().unwrap();

    let patient = json!({"first_name": "Ann", "last_name": "Lee", "mobile": "0412 345 678", "practitioner_id": pr, "external_id": "E2E-1"});
    let res = send(reqwest::Method::POST, "/patients".into(), Some(patient))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let contact = json!({"name": "Jo Lee", "relationship": "partner", "email": "jo@example.com"});
    let res = send(
        reqwest::Method::POST,
        format!("/patients/{id}/contacts"),
        Some(contact),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let got: Value = send(reqwest::Method::GET, format!("/patients/{id}"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["mobile"], "+61412345678");
    assert_eq!(got["practitioner_id"], pr);
    let got_pr: Value = send(reqwest::Method::GET, format!("/practitioners/{pr}"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got_pr, practitioner);
    let contacts: Value = send(
        reqwest::Method::GET,
        format!("/patients/{id}/contacts"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(contacts["items"][0]["email"], "jo@example.com");

    let res = send(
        reqwest::Method::GET,
        "/patients/export?columns=external_id,first_name,mobile".into(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        res.text().await.unwrap(),
        "external_id,first_name,mobile\nE2E-1,Ann,+61412345678\n"
    );

    // Errors over HTTP are the JSON shape, and another clinic's id is a 404.
    let res = send(
        reqwest::Method::POST,
        "/patients".into(),
        Some(json!({"first_name": "Bo"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["field"], "last_name");
    let other = new_clinic(&app).await;
    let res = http
        .get(format!("{base}/patients/{id}"))
        .bearer_auth(&other.staff_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http.get(format!("{base}/patients")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
