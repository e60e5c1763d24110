//! The ops command against DynamoDB Local: clinics and keys as ops create them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;
use tidings_tests::{app, call};

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
