//! Authentication and roles, in the shared HTTP layer, against DynamoDB Local.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tidings_app::services::api_keys;
use tidings_domain::api_key::Role;
use tidings_tests::{app, call, call_raw, new_clinic};

#[tokio::test]
async fn missing_malformed_unknown_and_revoked_keys_get_401() {
    let app = app().await;
    let c = new_clinic(&app).await;
    assert_eq!(
        call(&app, &c.staff_key, "GET", "/patients", None)
            .await
            .status,
        200
    );

    let none = call_raw(&app, None, "GET", "/patients", None).await;
    assert_eq!(
        (none.status.as_u16(), none.code()),
        (401, "unauthenticated")
    );
    assert_eq!(
        call(&app, "not-a-key", "GET", "/patients", None)
            .await
            .status,
        401
    );

    // Right key id, wrong secret.
    let (id, _) = c.staff_key.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    assert_eq!(
        call(&app, &forged, "GET", "/patients", None).await.status,
        401
    );

    // Unknown key id with a well-formed shape.
    let unknown = format!("tk_{}.{}", "0".repeat(16), "B".repeat(43));
    assert_eq!(
        call(&app, &unknown, "GET", "/patients", None).await.status,
        401
    );

    // Revoked.
    let issued = api_keys::issue(&app.store, &c.id, Role::Staff, "temp")
        .await
        .unwrap();
    assert_eq!(
        call(&app, &issued.key, "GET", "/patients", None)
            .await
            .status,
        200
    );
    api_keys::revoke(&app.store, &c.id, &issued.record.key_id)
        .await
        .unwrap();
    assert_eq!(
        call(&app, &issued.key, "GET", "/patients", None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn keys_are_stored_only_as_hashes_and_revoked_only_by_their_clinic() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    let issued = api_keys::issue(&app.store, &a.id, Role::Staff, "desk")
        .await
        .unwrap();
    let stored = app
        .store
        .get_api_key(&issued.record.key_id)
        .await
        .unwrap()
        .unwrap();
    let secret = issued.key.split_once('.').unwrap().1;
    assert_ne!(stored.secret_hash, secret);
    assert!(!stored.secret_hash.contains(secret));
    // Clinic B cannot revoke clinic A's key.
    assert!(
        api_keys::revoke(&app.store, &b.id, &issued.record.key_id)
            .await
            .is_err()
    );
    assert_eq!(
        call(&app, &issued.key, "GET", "/patients", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn staff_keys_cannot_change_clinic_settings() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let body = json!({"name": "Renamed"});
    let r = call(&app, &c.staff_key, "PATCH", "/clinic", Some(body.clone())).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    assert_eq!(
        call(&app, &c.staff_key, "GET", "/clinic", None).await.json["name"],
        "Harbour Dental"
    );
    assert_eq!(
        call(&app, &c.admin_key, "PATCH", "/clinic", Some(body))
            .await
            .json["name"],
        "Renamed"
    );
}

#[tokio::test]
async fn errors_never_leak_internal_detail_and_bodies_are_bounded() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let big = vec![b' '; 70 * 1024];
    let r = call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/patients",
        Some((big, "application/json")),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (413, "body_too_large"));
    let r = call_raw(
        &app,
        Some(&c.staff_key),
        "POST",
        "/patients",
        Some((b"a=b".to_vec(), "application/x-www-form-urlencoded")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 415);
    let r = call(&app, &c.staff_key, "GET", "/patients?colour=red", None).await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "colour"));
}
