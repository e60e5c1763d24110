//! Test support: a clinic of one's own per test (tenant isolation keeps parallel tests apart),
//! in-process calls through the same dispatcher the Lambda functions use, and snapshots of a
//! clinic's stored items to prove a failed request wrote nothing.
//!
//! Every test talks to the local stack that `make test` starts; run outside it, they fail
//! with a message saying so rather than touching any real AWS account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use lambda_http::Body;
use serde_json::Value;
use std::collections::HashMap;
use tidings_app::api::ALL;
use tidings_app::http::{dispatch, request::match_path};
use tidings_app::services::{api_keys, clinics};
use tidings_app::{App, store::keys};
use tidings_domain::api_key::Role;
use tidings_domain::clinic::ClinicInput;

pub mod campaigns;
pub mod contract;
pub mod hostile;
pub mod lambda_process;
pub mod meter;
pub mod payments;
pub mod provider_proxy;
pub mod receiver;
pub mod stats;
pub mod wire;

/// The app, built from the local stack's environment.
pub async fn app() -> App {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "these tests need the local stack: run `make test` (AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local, got {endpoint:?})"
    );
    App::cold_start()
        .await
        .expect("`make test` sets TABLE_NAME and stores the secrets in the local Parameter Store")
}

/// A secret of the local stack, read from its Parameter Store as the functions read it (tests
/// sign webhooks and links with it, as providers sign with theirs).
pub async fn secret(name: &str) -> String {
    let aws = aws_config::load_from_env().await;
    tidings_app::secrets::Secrets::load(&aws)
        .await
        .unwrap()
        .get(name)
        .unwrap_or_else(|| panic!("the local stack names {name}_PARAMETER"))
}

/// A fresh clinic with an admin key and a staff key.
pub struct TestClinic {
    pub id: String,
    pub admin_key: String,
    pub staff_key: String,
}

pub async fn new_clinic(app: &App) -> TestClinic {
    let input = ClinicInput {
        name: Some("Harbour Dental".into()),
        time_zone: Some("Australia/Sydney".into()),
        country: Some("AU".into()),
        sms_sender_id: Some("HarbourDent".into()),
        email_sender: Some("hello@harbour.example".into()),
        ..Default::default()
    };
    verify_sender_domain("harbour.example").await;
    let clinic = clinics::create(&app.store, input, &["harbour.example".to_owned()])
        .await
        .unwrap();
    let admin = api_keys::issue(&app.store, &clinic.id, Role::Admin, "tests admin")
        .await
        .unwrap();
    let staff = api_keys::issue(&app.store, &clinic.id, Role::Staff, "tests staff")
        .await
        .unwrap();
    TestClinic {
        id: clinic.id,
        admin_key: admin.key,
        staff_key: staff.key,
    }
}

/// A clinic whose stored settings no longer parse (a time zone that does not exist): every
/// read of it fails, so whatever reads it fails (its sweep, its own requests).
pub async fn broken_clinic(app: &App) -> TestClinic {
    let c = new_clinic(app).await;
    app.store
        .client()
        .update_item()
        .table_name(app.store.table())
        .key("pk", AttributeValue::S(keys::clinic_pk(&c.id)))
        .key("sk", AttributeValue::S(keys::CLINIC_SK.into()))
        .update_expression("SET time_zone = :tz")
        .expression_attribute_values(":tz", AttributeValue::S("Mars/Olympus_Mons".into()))
        .send()
        .await
        .unwrap();
    c
}

/// Gives the clinic a fresh reply number as ops do (`tidings-admin clinic assign-number`).
pub async fn assign_number(app: &App, clinic_id: &str) -> String {
    let number = unique_mobile();
    clinics::assign(
        &app.store,
        clinic_id,
        clinics::Assignment::AssignNumber(number.clone()),
    )
    .await
    .unwrap();
    number
}

/// A response: status, JSON body (or `Value::Null`), headers, raw body.
pub struct Reply {
    pub status: StatusCode,
    pub json: Value,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The `error.field` of an error response.
    pub fn field(&self) -> &str {
        self.json["error"]["field"].as_str().unwrap_or_default()
    }
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn id(&self) -> String {
        self.json["id"]
            .as_str()
            .expect("response has an id")
            .to_owned()
    }
}

/// Calls the endpoint that serves `method path` (as API Gateway would route it) in-process.
pub async fn call(app: &App, key: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| (b.to_string().into_bytes(), "application/json"));
    call_raw(app, Some(key), method, path, body).await
}

/// Erases patient `id` through `DELETE /patients/{id}`, which must answer 204.
pub async fn erase_patient(app: &App, key: &str, id: &str) {
    let r = call(app, key, "DELETE", &format!("/patients/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.json);
}

/// Like [`call`], with any body, content type and authorization.
pub async fn call_raw(
    app: &App,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(Vec<u8>, &str)>,
) -> Reply {
    call_raw_with(app, key, method, path, body, &[]).await
}

/// Like [`call_raw`], with extra request headers (e.g. `Idempotency-Key`).
pub async fn call_raw_with(
    app: &App,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(Vec<u8>, &str)>,
    headers: &[(&str, &str)],
) -> Reply {
    let route_path = path.split('?').next().unwrap_or(path);
    let endpoint = ALL
        .iter()
        .filter(|e| e.method.as_str() == method)
        .filter_map(|e| match_path(e.path, route_path).map(|params| (e, params.len())))
        .filter(|(e, _)| e.path.split('/').count() == route_path.split('/').count())
        .min_by_key(|(_, params)| *params)
        .map(|(e, _)| *e)
        .unwrap_or_else(|| panic!("no endpoint serves {method} {path}"));
    let mut req = http::Request::builder().method(method).uri(path);
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match &body {
        Some((bytes, ct)) => req
            .header("content-type", *ct)
            .body(Body::Binary(bytes.clone())),
        None => req.body(Body::Empty),
    }
    .unwrap();
    let res = reply(dispatch(app, endpoint, req).await);
    let content_type = res
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    contract::check(&contract::Exchange {
        endpoint,
        path,
        request_body: body.as_ref().map(|(b, ct)| (b.as_slice(), *ct)),
        status: res.status.as_u16(),
        content_type,
        response_body: &res.body,
    });
    res
}

/// A response as tests read it.
fn reply(res: http::Response<Body>) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.body().as_ref().to_vec();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Reply {
        status,
        json,
        headers,
        body,
    }
}

/// Follows `next_cursor` from `path` (which already has a query string) to the last page;
/// returns every item and the number of pages.
pub async fn list_all(app: &App, key: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page_path = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let r = call(app, key, "GET", &page_path, None).await;
        assert_eq!(r.status, 200, "{page_path}: {}", r.json);
        pages += 1;
        items.extend(r.json["items"].as_array().expect("a list").iter().cloned());
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, pages),
        }
    }
}

/// Every item stored for a clinic (its partition, and its API keys), in key order. The day
/// counters are left out: `count-stats` updates them from the stream a moment after earlier
/// writes, whatever the request under test does (what they count is in the snapshot).
pub async fn snapshot(app: &App, clinic_id: &str) -> Vec<HashMap<String, AttributeValue>> {
    let client = app.store.client();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(app.store.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::clinic_pk(clinic_id)))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default().into_iter().filter(|i| {
            !i.get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with(keys::DAY_COUNTS_PREFIX))
        }));
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    items
}

/// Asserts that `reply` is a 4xx naming `field`, and that the clinic's data is as `before`.
pub async fn assert_rejected(
    app: &App,
    clinic_id: &str,
    before: &[HashMap<String, AttributeValue>],
    reply: &Reply,
    status: u16,
    field: &str,
) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {status} for field {field}, got {}: {}",
        reply.status,
        reply.json
    );
    assert_eq!(
        reply.field(),
        field,
        "error names the wrong field: {}",
        reply.json
    );
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(
        snapshot(app, clinic_id).await,
        before,
        "a rejected request must write nothing"
    );
}

/// moto's base URL.
pub fn moto_url() -> String {
    std::env::var("MOTO_URL").expect("MOTO_URL is set by `make test`")
}

/// Verifies a sender domain in moto's SES (moto refuses mail from unverified senders, as SES
/// does).
pub async fn verify_sender_domain(domain: &str) {
    let aws = aws_config::load_from_env().await;
    let ses = aws_sdk_sesv2::Client::new(&aws);
    let _ = ses
        .create_email_identity()
        .email_identity(domain)
        .send()
        .await;
}

/// What moto accepted: its SMS and its emails.
pub struct Sent {
    pub sms: Vec<Value>,
    pub email: Vec<Value>,
}

impl Sent {
    /// SMS whose moto message id is one of `ids`.
    pub fn sms_with_ids(&self, ids: &[String]) -> Vec<&Value> {
        self.sms
            .iter()
            .filter(|m| ids.iter().any(|i| m["message_id"] == *i))
            .collect()
    }
    pub fn sms_to(&self, number: &str) -> Vec<&Value> {
        self.sms
            .iter()
            .filter(|m| m["phone_number"] == number)
            .collect()
    }
    pub fn email_to(&self, address: &str) -> Vec<&Value> {
        self.email
            .iter()
            .filter(|m| {
                m["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == address))
            })
            .collect()
    }
}

/// Reads `/moto-api/data.json`.
pub async fn moto_sent() -> Sent {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Sent {
        sms: data["sns"]["SMS"].as_array().cloned().unwrap_or_default(),
        email: data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    }
}

/// The app with SNS and SES calls going through `proxy_url` (a [`provider_proxy`]).
pub async fn app_via(proxy_url: &str) -> App {
    let base = app().await;
    let aws = aws_config::from_env().endpoint_url(proxy_url).load().await;
    App {
        delivery: tidings_app::delivery::Delivery::for_stage(&aws, None, &base.config),
        ..base
    }
}

/// The app with a provider that refuses `number` outright (a permanent error) and takes every
/// other message; the proxy records the calls.
pub async fn app_refusing(number: &str) -> (App, provider_proxy::ProviderProxy) {
    use provider_proxy::{Fault, ProviderProxy};
    let refused = number.to_owned();
    let proxy = ProviderProxy::start(moto_url(), move |to, _| {
        if to == refused {
            Fault::Reject
        } else {
            Fault::Pass
        }
    })
    .await;
    (app_via(&proxy.url).await, proxy)
}

/// A benchmark's setting from the environment variable `name`, `default` when it is unset or
/// not a whole number.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A mobile number no other test uses. moto keeps every SMS of the whole run, and tests count
/// the SMS each number received, so two tests sharing a number would see each other's. Within
/// a test binary the numbers run on from a random start, so they never repeat; across binaries
/// (one after another) a repeat needs two random starts within a few hundred of each other in
/// 40 million (Australian mobiles 040 to 043, all valid).
pub fn unique_mobile() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    const SPACE: u64 = 40_000_000;
    static START: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| (uuid::Uuid::new_v4().as_u128() % u128::from(SPACE)) as u64);
    let n = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPACE;
    format!("+614{}{:07}", n / 10_000_000, n % 10_000_000)
}

/// An email address no other test uses.
pub fn unique_email(name: &str) -> String {
    format!("{name}.{}@patients.example", uuid::Uuid::new_v4().simple())
}

/// Adds credits to a test clinic.
pub async fn grant(app: &App, clinic_id: &str, credits: i64) {
    tidings_app::services::credits::grant(&app.store, clinic_id, credits, Some("tests".into()))
        .await
        .unwrap();
}

/// POSTs to a public endpoint (no API key) in-process, with the given headers.
pub async fn call_public(
    app: &App,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    content_type: &str,
) -> Reply {
    call_public_with(app, "POST", path, headers, body, content_type).await
}

/// Calls a public endpoint (no API key) in-process.
pub async fn call_public_with(
    app: &App,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    content_type: &str,
) -> Reply {
    let route_path = path.split('?').next().unwrap_or(path);
    let endpoint = tidings_app::api::PUBLIC
        .iter()
        .find(|e| e.method.as_str() == method && match_path(e.path, route_path).is_some())
        .unwrap_or_else(|| panic!("no public endpoint serves {method} {path}"));
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = tidings_app::http::public::dispatch_public(
        app,
        endpoint,
        req.body(Body::Binary(body)).unwrap(),
    )
    .await;
    reply(res)
}

/// A signed generic-provider post of an SMS from `from` to the clinic's reply `number`, stored.
pub async fn inbound_sms(app: &App, number: &str, from: &str, body: &str) {
    use tidings_domain::webhook::generic;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let post =
        serde_json::json!({"type": "message", "id": id, "from": from, "to": number, "body": body})
            .to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let secret = secret("WEBHOOK_SECRET").await;
    let h = vec![
        (generic::TIMESTAMP_HEADER, ts.clone()),
        (
            generic::SIGNATURE_HEADER,
            generic::sign(secret.as_bytes(), &ts, post.as_bytes()),
        ),
    ];
    let r = call_public(
        app,
        "/webhooks/sms/generic",
        &h,
        post.into_bytes(),
        "application/json",
    )
    .await;
    assert_eq!(r.json["outcome"], "stored", "{}", r.json);
}
