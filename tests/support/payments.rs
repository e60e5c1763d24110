//! Paying by card against localstripe: a saved card, as a client's browser would make it, and
//! purchases with an `Idempotency-Key`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{Reply, TestClinic, call, call_raw_with};
use serde_json::{Value, json};
use tidings_app::App;

/// A card saved with (local) Stripe, as a client's browser would: Tidings never sees it.
pub async fn card(number: &str) -> String {
    let base = std::env::var("STRIPE_API_URL").expect("STRIPE_API_URL is set by `make test`");
    let res: Value = reqwest::Client::new()
        .post(format!("{base}/v1/payment_methods"))
        .basic_auth("sk_test_local", Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2031"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["id"].as_str().expect("a payment method").to_owned()
}

pub async fn save_card(app: &App, c: &TestClinic, pm: &str) {
    let r = call(
        app,
        &c.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": pm})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["last4"].as_str().map(str::len), Some(4));
}

pub async fn buy(app: &App, c: &TestClinic, key: &str, body: Value) -> Reply {
    let body = Some((body.to_string().into_bytes(), "application/json"));
    call_raw_with(
        app,
        Some(&c.admin_key),
        "POST",
        "/credits/purchases",
        body,
        &[("Idempotency-Key", key)],
    )
    .await
}

/// The group balance, through `GET /credits`.
pub async fn balance(app: &App, c: &TestClinic) -> i64 {
    call(app, &c.staff_key, "GET", "/credits", None).await.json["accounts"][0]["balance"]
        .as_i64()
        .unwrap()
}
