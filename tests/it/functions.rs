//! The binary as deployed: `sam build` gives every function the same `tidings` binary, and
//! Lambda tells it which function it is through `_HANDLER` (the function's Handler).

use serde_json::{Value, json};
use std::time::Duration;
use tidings_tests::lambda_process::{Answer, LambdaProcess, http_event};
use tidings_tests::{app, new_clinic};

async fn get(handler: &str, path: &str, key: &str) -> (u64, Value) {
    let mut event = http_event("GET", path, key, "", &Value::Null);
    event["body"] = Value::Null;
    event["headers"] = json!({"authorization": format!("Bearer {key}")});
    let mut p = LambdaProcess::start(handler, &event, &[]).await;
    match p.answer(Duration::from_secs(60)).await {
        Some(Answer::Response(r)) => (
            r["statusCode"].as_u64().unwrap(),
            serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap(),
        ),
        other => panic!("{handler} answered {other:?}: {}", p.stdout()),
    }
}

#[tokio::test]
async fn one_binary_serves_the_function_its_handler_names() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let (status, clinic) = get("get-clinic", "/clinic", &c.staff_key).await;
    assert_eq!(status, 200, "{clinic}");
    assert_eq!(clinic["id"], c.id.as_str());
    let (status, patients) = get("list-patients", "/patients", &c.staff_key).await;
    assert_eq!(status, 200, "{patients}");
    assert!(patients["items"].is_array(), "{patients}");
}

#[tokio::test]
async fn a_handler_that_names_no_function_stops_the_cold_start() {
    for env in [
        vec![("_HANDLER", "get-clinics".to_owned())],
        vec![("_HANDLER", String::new())],
    ] {
        let mut p = LambdaProcess::start("get-clinic", &json!({}), &env).await;
        let status = p.exit(Duration::from_secs(20)).await;
        assert!(status.is_some_and(|s| !s.success()), "{env:?}: {status:?}");
    }
}
