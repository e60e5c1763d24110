//! `POST|GET /keys`, `DELETE /keys/{id}`: a clinic's admins manage its keys; a key is shown
//! once; a clinic keeps at least one admin key; no clinic sees or revokes another's.

use serde_json::json;
use tidings_tests::{Reply, app, assert_rejected, call, new_clinic, snapshot};

/// `POST /keys` with `admin_key`.
async fn issue(app: &tidings_app::App, admin_key: &str, role: &str, label: &str) -> Reply {
    let body = json!({"role": role, "label": label});
    call(app, admin_key, "POST", "/keys", Some(body)).await
}

/// The id of a key string `tk_<id>.<secret>`.
fn id_of(key: &str) -> &str {
    let id = key.split('.').next().unwrap_or_default();
    id.strip_prefix("tk_").unwrap_or(id)
}

/// A clinic has at most `MAX_LIVE_KEYS` live keys; a revoked one frees its place.
#[tokio::test]
async fn a_clinic_has_at_most_a_hundred_live_keys() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let live = tidings_app::services::api_keys::MAX_LIVE_KEYS;
    let mut last = String::new();
    for n in 2..live {
        let r = issue(&app, &c.admin_key, "staff", &format!("desk {n}")).await;
        assert_eq!(r.status, 201, "{}", r.json);
        last = r.json["id"].as_str().unwrap().to_owned();
    }
    let before = snapshot(&app, &c.id).await;
    let r = issue(&app, &c.admin_key, "staff", "one too many").await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "too_many_keys"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&app, &c.id).await, before);
    let r = call(&app, &c.admin_key, "DELETE", &format!("/keys/{last}"), None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    let r = issue(&app, &c.admin_key, "staff", "in its place").await;
    assert_eq!(r.status, 201, "{}", r.json);
}

#[tokio::test]
async fn an_admin_issues_a_key_shown_once_that_works_until_revoked() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let r = issue(&app, &c.admin_key, "staff", "Front desk").await;
    assert_eq!(r.status, 201, "{}", r.json);
    let key = r.json["key"].as_str().unwrap().to_owned();
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(id_of(&key), id);
    assert_eq!(
        (r.json["role"].as_str(), r.json["label"].as_str()),
        (Some("staff"), Some("Front desk"))
    );
    assert_eq!(call(&app, &key, "GET", "/patients", None).await.status, 200);
    // A staff key cannot manage keys.
    assert_eq!(call(&app, &key, "GET", "/keys", None).await.status, 403);

    // Listed without the key or its hash.
    let list = call(&app, &c.admin_key, "GET", "/keys", None).await;
    assert_eq!(list.status, 200, "{}", list.json);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{}", list.json);
    let shown = items.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert!(
        shown.get("key").is_none() && shown.get("secret_hash").is_none(),
        "{shown}"
    );
    assert!(!list.json.to_string().contains(&key[id.len()..]));

    let r = call(&app, &c.admin_key, "DELETE", &format!("/keys/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(call(&app, &key, "GET", "/patients", None).await.status, 401);
    let list = call(&app, &c.admin_key, "GET", "/keys", None).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);
    // Revoking again: there is no such live key.
    let again = call(&app, &c.admin_key, "DELETE", &format!("/keys/{id}"), None).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (404, "not_found"),
        "{}",
        again.json
    );
}

#[tokio::test]
async fn staff_keys_cannot_issue_list_or_revoke_keys() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let before = snapshot(&app, &c.id).await;
    let admin_id = id_of(&c.admin_key).to_owned();
    for (method, path, body) in [
        (
            "POST",
            "/keys".to_owned(),
            Some(json!({"role": "admin", "label": "Mine now"})),
        ),
        ("GET", "/keys".to_owned(), None),
        ("DELETE", format!("/keys/{admin_id}"), None),
    ] {
        let r = call(&app, &c.staff_key, method, &path, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "forbidden"),
            "{method} {path}: {}",
            r.json
        );
    }
    assert_eq!(snapshot(&app, &c.id).await, before);
    assert_eq!(
        call(&app, &c.admin_key, "GET", "/keys", None).await.status,
        200
    );
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    for (body, field) in [
        (json!({"role": "owner", "label": "Front desk"}), "role"),
        (json!({"label": "Front desk"}), "role"),
        (json!({"role": "staff"}), "label"),
        (json!({"role": "staff", "label": "   "}), "label"),
        (json!({"role": "staff", "label": "x".repeat(81)}), "label"),
        (
            json!({"role": "staff", "label": "Desk", "secret": "mine"}),
            "secret",
        ),
    ] {
        let before = snapshot(&app, &c.id).await;
        let r = call(&app, &c.admin_key, "POST", "/keys", Some(body.clone())).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
}

#[tokio::test]
async fn a_clinic_keeps_its_last_admin_key() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let own = id_of(&c.admin_key).to_owned();
    let r = call(&app, &c.admin_key, "DELETE", &format!("/keys/{own}"), None).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "last_admin_key"),
        "{}",
        r.json
    );
    assert_eq!(
        call(&app, &c.admin_key, "GET", "/keys", None).await.status,
        200
    );

    // With a second admin key, either may go; the last one left stays.
    let second = issue(&app, &c.admin_key, "admin", "Practice manager").await;
    assert_eq!(second.status, 201, "{}", second.json);
    let second_key = second.json["key"].as_str().unwrap().to_owned();
    let r = call(&app, &second_key, "DELETE", &format!("/keys/{own}"), None).await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(
        call(&app, &c.admin_key, "GET", "/keys", None).await.status,
        401
    );
    let second_id = id_of(&second_key).to_owned();
    let r = call(
        &app,
        &second_key,
        "DELETE",
        &format!("/keys/{second_id}"),
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "last_admin_key"),
        "{}",
        r.json
    );
}

#[tokio::test]
async fn a_clinic_neither_sees_nor_revokes_another_clinics_keys() {
    let app = app().await;
    let ours = new_clinic(&app).await;
    let theirs = new_clinic(&app).await;
    let their_staff = id_of(&theirs.staff_key).to_owned();
    let before = snapshot(&app, &theirs.id).await;
    let r = call(
        &app,
        &ours.admin_key,
        "DELETE",
        &format!("/keys/{their_staff}"),
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (404, "not_found"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&app, &theirs.id).await, before);
    assert_eq!(
        call(&app, &theirs.staff_key, "GET", "/patients", None)
            .await
            .status,
        200
    );
    let list = call(&app, &ours.admin_key, "GET", "/keys", None).await;
    assert!(
        !list.json.to_string().contains(&their_staff),
        "{}",
        list.json
    );
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn keys_are_managed_over_http_through_their_functions() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let base = std::env::var("TIDINGS_API_URL").unwrap();
    let http = reqwest::Client::new();
    let admin = format!("Bearer {}", c.admin_key);
    let res = http
        .post(format!("{base}/keys"))
        .header("authorization", &admin)
        .json(&json!({"role": "staff", "label": "Reception PC"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let made: serde_json::Value = res.json().await.unwrap();
    let id = made["id"].as_str().unwrap();
    let res = http
        .get(format!("{base}/keys"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .delete(format!("{base}/keys/{id}"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = http
        .get(format!("{base}/patients"))
        .header(
            "authorization",
            format!("Bearer {}", made["key"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn two_admins_revoking_each_others_keys_at_once_leave_the_clinic_one() {
    let app = app().await;
    for _ in 0..5 {
        let c = new_clinic(&app).await;
        let second = issue(&app, &c.admin_key, "admin", "Practice manager").await;
        assert_eq!(second.status, 201, "{}", second.json);
        let (a, b) = (
            c.admin_key.clone(),
            second.json["key"].as_str().unwrap().to_owned(),
        );
        let (path_a, path_b) = (
            format!("/keys/{}", id_of(&a)),
            format!("/keys/{}", id_of(&b)),
        );
        let (by_a, by_b) = tokio::join!(
            call(&app, &a, "DELETE", &path_b, None),
            call(&app, &b, "DELETE", &path_a, None)
        );
        // One goes; the other is refused (409), or finds its own key gone (401).
        let mut statuses = [by_a.status.as_u16(), by_b.status.as_u16()];
        statuses.sort_unstable();
        assert!(matches!(statuses, [204, 401] | [204, 409]), "{statuses:?}");
        let mut alive = 0;
        for key in [&a, &b] {
            alive += usize::from(call(&app, key, "GET", "/keys", None).await.status == 200);
        }
        assert_eq!(alive, 1, "admin keys left");
    }
}
