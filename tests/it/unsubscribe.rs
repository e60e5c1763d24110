//! Email unsubscribe: the RFC 8058 headers on campaign email, the one-click POST, the page
//! that changes nothing, and forged links.

use serde_json::{Value, json};
use tidings_app::App;
use tidings_domain::message_template::Channel;
use tidings_domain::unsubscribe::Token;
use tidings_tests::provider_proxy::{Fault, ProviderProxy};
use tidings_tests::{
    TestClinic, app_via, call, call_public_with, grant, moto_url, new_clinic, snapshot,
    unique_email,
};

async fn send(app: &App, c: &TestClinic, patient: &str, category: &str) -> Value {
    let r = call(app, &c.staff_key, "POST", "/messages", Some(json!({"patient_ids": [patient],
        "channel": "email", "subject": "News", "body": "Hi {{ first_name }}", "category": category}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["messages"][0].clone()
}

async fn secret() -> Vec<u8> {
    tidings_tests::secret("UNSUBSCRIBE_SECRET")
        .await
        .into_bytes()
}

#[tokio::test]
async fn campaign_email_carries_one_click_unsubscribe_and_the_link_works_only_by_post() {
    let proxy = ProviderProxy::start(moto_url(), |_, _| Fault::Pass).await;
    let app = app_via(&proxy.url).await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let email = unique_email("unsub");
    let r = call(
        &app,
        &c.staff_key,
        "POST",
        "/patients",
        Some(json!({"first_name": "Ann", "last_name": "Lee", "email": email})),
    )
    .await;
    let p = r.id();

    assert_eq!(send(&app, &c, &p, "marketing").await["status"], "sent");
    assert_eq!(send(&app, &c, &p, "appointment").await["status"], "sent");
    let calls = proxy.calls();
    let header = |i: usize, name: &str| {
        let params = &calls[i].params;
        (0..4).find_map(|n| {
            (params
                .get(&format!("Content.Simple.Headers.{n}.Name"))
                .map(String::as_str)
                == Some(name))
            .then(|| params[&format!("Content.Simple.Headers.{n}.Value")].clone())
        })
    };
    let link = header(0, "List-Unsubscribe").expect("a marketing email has List-Unsubscribe");
    assert_eq!(
        header(0, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        header(1, "List-Unsubscribe"),
        None,
        "reminders have no unsubscribe link"
    );
    let url = link.trim_start_matches('<').trim_end_matches('>');
    let base = std::env::var("PUBLIC_API_URL").unwrap();
    let path = url.strip_prefix(&base).unwrap().to_owned();
    assert!(path.starts_with("/unsubscribe/"));

    // The page asks, and changes nothing.
    let before = snapshot(&app, &c.id).await;
    let page = call_public_with(&app, "GET", &path, &[], vec![], "text/plain").await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        html.contains("<form method=\"post\"") && html.contains("Harbour Dental"),
        "{html}"
    );
    assert_eq!(snapshot(&app, &c.id).await, before);

    // Forged links: another key, or another patient under this signature.
    let forged = Token {
        clinic_id: c.id.clone(),
        patient_id: p.clone(),
        contact_id: None,
        channel: Channel::Email,
    }
    .sign(b"not-the-key");
    let sig = path.rsplit('.').next().unwrap();
    let other = Token {
        clinic_id: c.id.clone(),
        patient_id: "someone-else".into(),
        contact_id: None,
        channel: Channel::Email,
    }
    .sign(&secret().await);
    let swapped = format!("{}.{sig}", other.split('.').next().unwrap());
    for token in [forged, swapped, "nonsense".to_owned()] {
        for method in ["POST", "GET"] {
            let r = call_public_with(
                &app,
                method,
                &format!("/unsubscribe/{token}"),
                &[],
                b"List-Unsubscribe=One-Click".to_vec(),
                "application/x-www-form-urlencoded",
            )
            .await;
            assert_eq!(
                (r.status.as_u16(), r.field()),
                (400, "token"),
                "{method} {token}"
            );
        }
    }
    assert_eq!(snapshot(&app, &c.id).await, before);

    // One click: campaign email stops at once, reminders continue.
    let r = call_public_with(
        &app,
        "POST",
        &path,
        &[],
        b"List-Unsubscribe=One-Click".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(r.status, 200);
    let skipped = send(&app, &c, &p, "marketing").await;
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["reason"], "category_excluded");
    assert_eq!(send(&app, &c, &p, "appointment").await["status"], "sent");
    let again = call_public_with(&app, "POST", &path, &[], vec![], "text/plain").await;
    assert_eq!(again.status, 200, "unsubscribing twice is fine");
}
