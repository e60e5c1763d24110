//! Authentication and roles, in the shared HTTP layer, against DynamoDB Local.

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

/// Every list route (every endpoint that takes `cursor`) answers a cursor it did not give
/// this clinic, tampered, arbitrary, or another clinic's or another list's, with a 400
/// `invalid_cursor` naming `cursor`: never a 500, never a read.
#[test]
fn every_list_refuses_bad_and_foreign_cursors() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(app());
    let (a, b) = rt.block_on(async { (new_clinic(&app).await, new_clinic(&app).await) });
    let lists: Vec<String> = tidings_app::api::ALL
        .iter()
        .filter(|e| e.method == http::Method::GET && e.query.contains(&"cursor"))
        .map(|e| {
            e.path
                .replace("{id}", "01a2498f-cecc-70dc-8be3-feda7c0bc4d4")
        })
        .collect();
    assert!(lists.len() >= 14, "{lists:?}");
    let is_invalid_cursor = |r: &tidings_tests::Reply| {
        r.status == 400 && r.field() == "cursor" && r.code() == "invalid_cursor"
    };
    // Clinic A's real cursor, from a list with a next page.
    let real = rt.block_on(async {
        for name in ["One", "Two"] {
            let r = call(
                &app,
                &a.staff_key,
                "POST",
                "/templates",
                Some(json!({"name": name, "channel": "sms", "category": "general", "body": "Hi"})),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.json);
        }
        let r = call(&app, &a.staff_key, "GET", "/templates?limit=1", None).await;
        r.json["next_cursor"].as_str().unwrap().to_owned()
    });
    rt.block_on(async {
        let r = call(
            &app,
            &a.staff_key,
            "GET",
            &format!("/templates?cursor={real}"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "its own cursor works: {}", r.json);
        let r = call(
            &app,
            &b.staff_key,
            "GET",
            &format!("/templates?cursor={real}"),
            None,
        )
        .await;
        assert!(
            is_invalid_cursor(&r),
            "another clinic's: {} {}",
            r.status,
            r.json
        );
        for path in &lists {
            if path == "/templates" {
                continue;
            }
            // The admin key: some lists (an endpoint's deliveries) are for admins.
            let r = call(
                &app,
                &a.admin_key,
                "GET",
                &format!("{path}?cursor={real}"),
                None,
            )
            .await;
            assert!(
                is_invalid_cursor(&r),
                "another list's, on {path}: {} {}",
                r.status,
                r.json
            );
        }
    });
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 24,
        ..Default::default()
    });
    runner
        .run(&"[ -~]{1,300}", |raw| {
            let cursor: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            for path in &lists {
                let r = rt.block_on(call(
                    &app,
                    &a.admin_key,
                    "GET",
                    &format!("{path}?cursor={cursor}"),
                    None,
                ));
                prop_assert!(
                    is_invalid_cursor(&r),
                    "{path} {raw:?}: {} {}",
                    r.status,
                    r.json
                );
            }
            Ok(())
        })
        .unwrap();
}
