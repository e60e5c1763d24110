//! End to end over HTTP through `cargo lambda watch` (the router in Cargo.toml), with a real
//! API key: the path a clinic's software takes, Lambda runtime and all.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings_tests::{
    app, assign_number, grant, moto_sent, new_clinic, unique_email, unique_mobile,
};

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

#[tokio::test]
async fn preview_send_by_both_channels_and_read_history_over_http() {
    let app = app().await;
    let clinic = new_clinic(&app).await;
    grant(&app, &clinic.id, 5).await;
    let base = api_url();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&clinic.staff_key)
            .json(&body)
    };
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .bearer_auth(&clinic.staff_key)
    };

    let (mobile, email) = (unique_mobile(), unique_email("e2e"));
    let mut patients = Vec::new();
    for name in ["Ann", "Bo"] {
        let res = post(
            "/patients",
            json!({"first_name": name, "last_name": "Lee", "mobile": mobile, "email": email}),
        )
        .send()
        .await
        .unwrap();
        let p: Value = res.json().await.unwrap();
        patients.push(p["id"].as_str().unwrap().to_owned());
    }
    let res = post(
        "/templates",
        json!({"name": "Hello", "channel": "sms", "category": "general", "body": "Hi {{ first_name }} from {{ clinic_name }}"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let template: Value = res.json().await.unwrap();
    let tid = template["id"].as_str().unwrap();

    let res = post(
        "/templates/preview",
        json!({"template_id": tid, "patient_id": patients[0]}),
    )
    .send()
    .await
    .unwrap();
    let preview: Value = res.json().await.unwrap();
    assert_eq!(preview["text"], "Hi Ann from Harbour Dental");
    assert_eq!(
        (preview["segments"].as_u64(), preview["credits"].as_u64()),
        (Some(1), Some(1))
    );

    let body = json!({"patient_ids": patients, "channel": "both", "template_id": tid, "subject": "Hello {{ first_name }}"});
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let res = post("/messages", body.clone())
            .header("idempotency-key", format!("e2e-{}", clinic.id))
            .send()
            .await
            .unwrap();
        outcomes.push((res.status(), res.json::<Value>().await.unwrap()));
    }
    assert_eq!(outcomes[0].0, StatusCode::CREATED, "{}", outcomes[0].1);
    assert_eq!(outcomes[1].0, StatusCode::OK);
    assert_eq!(outcomes[0].1["summary"]["sent"], 4);
    assert_eq!(outcomes[0].1["messages"], outcomes[1].1["messages"]);

    // A family sharing one number and one address: each gets their own message.
    let sent = moto_sent().await;
    let mut sms: Vec<String> = sent
        .sms_to(&mobile)
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    sms.sort();
    assert_eq!(
        sms,
        ["Hi Ann from Harbour Dental", "Hi Bo from Harbour Dental"]
    );
    assert_eq!(sent.email_to(&email).len(), 2);

    let credits: Value = get("/credits".into())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(credits["accounts"][0]["balance"], 3);
    let history: Value = get(format!("/patients/{}/messages", patients[1]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|m| m["status"] == "sent" && m["template_id"] == tid)
    );
}

#[tokio::test]
async fn a_signed_stop_over_http_opts_out_and_shows_in_history_and_notifications() {
    let app = app().await;
    let clinic = new_clinic(&app).await;
    grant(&app, &clinic.id, 10).await;
    let base = api_url();
    let http = reqwest::Client::new();
    // Ops give the clinic its reply number; a clinic cannot claim one over HTTP.
    let number = assign_number(&app, &clinic.id).await;
    let mobile = unique_mobile();
    let res = http
        .patch(format!("{base}/clinic"))
        .header("authorization", format!("Bearer {}", clinic.admin_key))
        .json(&json!({"sms_reply_number": unique_mobile()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let staff = format!("Bearer {}", clinic.staff_key);
    let patient: Value = http
        .post(format!("{base}/patients"))
        .header("authorization", &staff)
        .json(&json!({"first_name": "Ann", "last_name": "Lee", "mobile": mobile}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = patient["id"].as_str().unwrap();

    let body = json!({"type": "message", "id": uuid::Uuid::new_v4().to_string(), "from": mobile, "to": number, "body": "STOP"}).to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let secret = tidings_tests::secret("WEBHOOK_SECRET").await;
    let sig = tidings_domain::webhook::generic::sign(secret.as_bytes(), &ts, body.as_bytes());
    let post = |sig: String| {
        http.post(format!("{base}/webhooks/sms/generic"))
            .header("x-tidings-timestamp", &ts)
            .header("x-tidings-signature", sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(
        post("00".into()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(sig).await.unwrap().status(), StatusCode::OK);

    let history: Value = http
        .get(format!("{base}/patients/{id}/messages"))
        .header("authorization", &staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["status"], "received", "{history}");
    let notes: Value = http
        .get(format!("{base}/notifications"))
        .header("authorization", &staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notes["items"][0]["kind"], "opted_out", "{notes}");
    let sent: Value = http
        .post(format!("{base}/messages"))
        .header("authorization", &staff)
        .json(&json!({"patient_ids": [id], "channel": "sms", "body": "Hello"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["messages"][0]["status"], "skipped", "{sent}");
    assert_eq!(
        moto_sent().await.sms_to(&mobile).len(),
        1,
        "only the opt-out confirmation"
    );
}
