//! Secrets as a deployment gives them: a function binary, run as Lambda runs it, is given only
//! the name of an SSM SecureString (`<SECRET>_PARAMETER`) and reads the value from the local
//! Parameter Store (moto) at cold start; a parameter it cannot read stops it before it serves
//! anything, naming the parameter and never a value.

use serde_json::{Value, json};
use std::time::Duration;
use tidings_tests::lambda_process::{Answer, LambdaProcess, signed_generic_post as signed_post};

async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&aws_config::load_from_env().await)
}

async fn status_of(event: &Value, parameter: &str) -> u64 {
    let env = [("WEBHOOK_SECRET_PARAMETER", parameter.to_owned())];
    let mut p = LambdaProcess::start("sms-webhook", event, &env).await;
    match p.answer(Duration::from_secs(20)).await {
        Some(Answer::Response(r)) => r["statusCode"].as_u64().unwrap(),
        other => panic!("sms-webhook answered {other:?}: {}", p.stdout()),
    }
}

#[tokio::test]
async fn a_function_reads_its_secret_from_parameter_store_at_cold_start() {
    // A fresh secret, in the Parameter Store only.
    let parameter = format!("/tidings/test/webhook-{}", uuid::Uuid::new_v4());
    let value = format!("fresh-{}", uuid::Uuid::new_v4().simple());
    ssm()
        .await
        .put_parameter()
        .name(&parameter)
        .value(&value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let body = json!({"type": "message", "id": uuid::Uuid::new_v4().to_string(),
        "from": "+61400000000", "to": "+61255550000", "body": "hello"});

    // Signed with the parameter's value: past the signature check.
    assert_ne!(
        status_of(&signed_post(&body, &value), &parameter).await,
        401
    );
    // Signed with the stack's usual secret: refused, so the function used the parameter's.
    let usual = tidings_tests::secret("WEBHOOK_SECRET").await;
    assert_eq!(
        status_of(&signed_post(&body, &usual), &parameter).await,
        401
    );
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_the_cold_start_naming_the_parameter() {
    let parameter = format!("/tidings/test/missing-{}", uuid::Uuid::new_v4());
    let body = json!({"type": "message", "id": "x", "from": "+61400000000",
        "to": "+61255550000", "body": "hello"});
    let env = [("WEBHOOK_SECRET_PARAMETER", parameter.clone())];
    let mut p = LambdaProcess::start("sms-webhook", &signed_post(&body, "x"), &env).await;
    let status = p
        .exit(Duration::from_secs(20))
        .await
        .expect("the function stops at cold start");
    assert!(!status.success());
    let out = p.stdout();
    assert!(out.contains(&parameter), "{out}");
    assert!(out.contains("WEBHOOK_SECRET"), "{out}");
}
