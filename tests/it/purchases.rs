//! Buying credits against localstripe (started by the test set-up like the other emulators):
//! a good card adds the credits once even when the purchase is retried, a declined card is a
//! 402 with Stripe's reason and adds nothing, and price tiers decide what is charged.

use serde_json::{Value, json};
use tidings_app::App;
use tidings_tests::payments::{balance, buy, card, save_card};
use tidings_tests::{TestClinic, app, assert_rejected, call, new_clinic, snapshot};

#[tokio::test]
async fn a_good_card_adds_credits_once_even_when_retried() {
    let app = app().await;
    let c = new_clinic(&app).await;
    save_card(&app, &c, &card("4242424242424242").await).await;
    let key = uuid::Uuid::new_v4().to_string();
    let r = buy(&app, &c, &key, json!({"credits": 500})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["amount"].as_u64(),
            r.json["currency"].as_str()
        ),
        (Some("succeeded"), Some(4000), Some("AUD")),
        "500 credits at the 0.08 tier"
    );
    assert!(
        r.json["payment_intent"]
            .as_str()
            .unwrap()
            .starts_with("pi_")
    );
    // The same purchase again (a client retry): the same answer, nothing charged or added.
    let again = buy(&app, &c, &key, json!({"credits": 500})).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["payment_intent"], r.json["payment_intent"]);
    assert_eq!(balance(&app, &c).await, 500);
    let ledger = call(&app, &c.staff_key, "GET", "/credits/ledger", None).await;
    let entries = ledger.json["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0]["kind"].as_str(), entries[0]["credits"].as_i64()),
        (Some("purchase"), Some(500))
    );
    // An amount of money buys as many credits as it reaches, at that tier.
    let r = buy(
        &app,
        &c,
        &uuid::Uuid::new_v4().to_string(),
        json!({"amount": 4500}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (r.json["credits"].as_u64(), r.json["amount"].as_u64()),
        (Some(562), Some(4496))
    );
    assert_eq!(balance(&app, &c).await, 1062);
    // The same key with another body is refused.
    let r = buy(&app, &c, &key, json!({"credits": 501})).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "idempotency_key_reused")
    );
}

#[tokio::test]
async fn a_declined_card_is_402_and_adds_nothing() {
    let app = app().await;
    let c = new_clinic(&app).await;
    save_card(&app, &c, &card("4000000000000341").await).await;
    let key = uuid::Uuid::new_v4().to_string();
    let r = buy(&app, &c, &key, json!({"credits": 100})).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (402, "payment_declined"),
        "{}",
        r.json
    );
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
    let again = buy(&app, &c, &key, json!({"credits": 100})).await;
    assert_eq!(
        again.status, 402,
        "a retry is declined too, without charging again"
    );
    assert_eq!(balance(&app, &c).await, 0);
    let ledger = call(&app, &c.staff_key, "GET", "/credits/ledger", None).await;
    assert!(ledger.json["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_purchases_write_nothing_and_clinics_are_apart() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let before = snapshot(&app, &c.id).await;
    let r = buy(&app, &c, "k-1", json!({"credits": 10})).await;
    assert_rejected(&app, &c.id, &before, &r, 400, "account").await;
    let r = call(
        &app,
        &c.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": "pm_doesnotexist"})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "payment_method_id").await;
    let r = call(
        &app,
        &c.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": "4242424242424242"})),
    )
    .await;
    assert_rejected(&app, &c.id, &before, &r, 400, "payment_method_id").await;
    save_card(&app, &c, &card("4242424242424242").await).await;
    let before = snapshot(&app, &c.id).await;
    for (body, field) in [
        (json!({}), "credits"),
        (json!({"credits": 0}), "credits"),
        (json!({"credits": 5, "amount": 50}), "amount"),
        (json!({"amount": 5}), "amount"),
        (json!({"credits": 5, "currency": "EUR"}), "currency"),
        (
            json!({"credits": 5, "account": "practitioner:nobody"}),
            "account",
        ),
        (json!({"credits": 5, "card": "4242"}), "card"),
    ] {
        let r = buy(&app, &c, &uuid::Uuid::new_v4().to_string(), body).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let staff = call(
        &app,
        &c.staff_key,
        "POST",
        "/credits/purchases",
        Some(json!({"credits": 5})),
    )
    .await;
    assert_eq!(staff.status, 403);
    // Another clinic has no payment method of this one, and its keys are its own.
    let other = new_clinic(&app).await;
    let r = buy(&app, &other, "shared-key", json!({"credits": 5})).await;
    assert_eq!(r.field(), "account", "{}", r.json);
    let r = buy(&app, &c, "shared-key", json!({"credits": 5})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(balance(&app, &other).await, 0);
}

async fn patients(app: &App, c: &TestClinic, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = call(app, &c.admin_key, "POST", "/patients",
            Some(json!({"first_name": "Ann", "last_name": "Lee", "mobile": tidings_tests::unique_mobile()}))).await;
        assert_eq!(r.status, 201);
        ids.push(r.id());
    }
    ids
}

async fn send(app: &App, c: &TestClinic, patient: &str) -> u16 {
    call(
        app,
        &c.staff_key,
        "POST",
        "/messages",
        Some(json!({"patient_ids": [patient], "channel": "sms", "body": "Hi {{ first_name }}"})),
    )
    .await
    .status
    .as_u16()
}

async fn purchases_in_ledger(app: &App, c: &TestClinic) -> usize {
    let ledger = call(app, &c.staff_key, "GET", "/credits/ledger?limit=100", None).await;
    ledger.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "purchase")
        .count()
}

/// Ten sends at once take the balance from 15 to 5, below the threshold of 10: one top-up of
/// 100 credits is bought, not one per send.
#[tokio::test]
async fn auto_top_up_buys_once_under_concurrent_debits() {
    let app = app().await;
    let c = new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 15).await;
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/credits/auto-top-up",
        Some(json!({"credits": 100})),
    )
    .await;
    assert_eq!(
        r.field(),
        "account",
        "a payment method comes first: {}",
        r.json
    );
    save_card(&app, &c, &card("4242424242424242").await).await;
    let before = snapshot(&app, &c.id).await;
    for (body, field) in [
        (json!({}), "credits"),
        (json!({"credits": 5, "threshold": -1}), "threshold"),
    ] {
        let r = call(
            &app,
            &c.admin_key,
            "PUT",
            "/credits/auto-top-up",
            Some(body),
        )
        .await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let r = call(
        &app,
        &c.staff_key,
        "PUT",
        "/credits/auto-top-up",
        Some(json!({"credits": 100})),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/credits/auto-top-up",
        Some(json!({"credits": 100})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["threshold"], 10);
    let ids = patients(&app, &c, 10).await;
    let sends = ids.iter().map(|p| send(&app, &c, p));
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(purchases_in_ledger(&app, &c).await, 1);
    assert_eq!(balance(&app, &c).await, 105);
    let ledger = call(&app, &c.staff_key, "GET", "/credits/ledger?limit=100", None).await;
    let sum: i64 = ledger.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["credits"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 105, "the balance equals its ledger");
}

/// A clinic with `credits`, the card `number` saved, and automatic top-up set to `settings`;
/// the settings as saved.
async fn topping_up(app: &App, credits: i64, number: &str, settings: Value) -> (TestClinic, Value) {
    let c = new_clinic(app).await;
    tidings_tests::grant(app, &c.id, credits).await;
    save_card(app, &c, &card(number).await).await;
    let r = call(
        app,
        &c.admin_key,
        "PUT",
        "/credits/auto-top-up",
        Some(settings),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    (c, r.json)
}

/// A declined top-up is recorded and notified once; later debits do not try again until the
/// settings are saved again.
#[tokio::test]
async fn a_failing_top_up_is_recorded_notified_and_not_retried() {
    let app = app().await;
    let (c, _) = topping_up(
        &app,
        12,
        "4000000000000341",
        json!({"credits": 50, "threshold": 10}),
    )
    .await;
    let ids = patients(&app, &c, 4).await;
    for p in &ids {
        assert_eq!(send(&app, &c, p).await, 201);
    }
    assert_eq!(balance(&app, &c).await, 8);
    let t = call(&app, &c.staff_key, "GET", "/credits/auto-top-up", None).await;
    assert!(t.json["failed_at"].is_string(), "{}", t.json);
    assert!(t.json["failure"].as_str().unwrap().contains("declined"));
    let n = call(&app, &c.staff_key, "GET", "/notifications", None).await;
    let failed: Vec<&Value> = n.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "top_up_failed")
        .collect();
    assert_eq!(failed.len(), 1, "one failure, one notification: {}", n.json);
    let purchases = app.store.all_ledger(&c.id, "group").await.unwrap();
    assert!(
        purchases
            .iter()
            .all(|e| e.kind != tidings_domain::credits::EntryKind::Purchase)
    );
    // Another clinic sees none of it.
    let other = new_clinic(&app).await;
    let r = call(&app, &other.staff_key, "GET", "/credits/auto-top-up", None).await;
    assert_eq!(r.status, 404);
}

/// What localstripe holds of `path` (`/v1/payment_intents/pi_…`).
async fn stripe_object(path: &str) -> Value {
    let base = std::env::var("STRIPE_API_URL").unwrap();
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .basic_auth("sk_test_local", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A card belongs to the account it was saved for: it is attached to that account's own Stripe
/// Customer, every charge names that Customer, and another clinic naming the card is a 400
/// naming `payment_method_id` that writes nothing (before, any `pm_…` of the platform's Stripe
/// account could be saved and charged by any clinic).
#[tokio::test]
async fn a_card_stays_with_the_clinic_that_saved_it() {
    let app = app().await;
    let a = new_clinic(&app).await;
    let b = new_clinic(&app).await;
    let pm = card("4242424242424242").await;
    save_card(&app, &a, &pm).await;
    let attached = stripe_object(&format!("/v1/payment_methods/{pm}")).await;
    let customer = attached["customer"]
        .as_str()
        .expect("attached to a Customer")
        .to_owned();
    assert!(customer.starts_with("cus_"), "{attached}");

    let before = snapshot(&app, &b.id).await;
    let r = call(
        &app,
        &b.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": pm})),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field(), r.code()),
        (400, "payment_method_id", "attached_elsewhere"),
        "{}",
        r.json
    );
    assert_eq!(snapshot(&app, &b.id).await, before);
    let r = buy(&app, &b, "buy-1", json!({"credits": 100})).await;
    assert_eq!(
        (r.status.as_u16(), r.field()),
        (400, "account"),
        "{}",
        r.json
    );

    // A's charge names A's Customer; B's own card gets B's own Customer.
    let r = buy(&app, &a, "buy-1", json!({"credits": 100})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let pi = stripe_object(&format!(
        "/v1/payment_intents/{}",
        r.json["payment_intent"].as_str().unwrap()
    ))
    .await;
    assert_eq!(pi["customer"], customer.as_str(), "{pi}");
    let pm_b = card("4242424242424242").await;
    save_card(&app, &b, &pm_b).await;
    let other = stripe_object(&format!("/v1/payment_methods/{pm_b}")).await;
    assert_ne!(other["customer"], customer.as_str());
    // The docs' own key, used by both clinics: two purchases.
    let r = buy(&app, &b, "buy-1", json!({"credits": 100})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        (balance(&app, &a).await, balance(&app, &b).await),
        (100, 100)
    );
    // Saving a card again for the same account keeps its Customer.
    save_card(&app, &a, &pm).await;
}

/// A top-up whose function died after Stripe charged and before the credits were recorded
/// leaves its purchase `pending`. The next debit finishes that purchase (asking Stripe again
/// under the same key) instead of claiming and charging a new one: the top-up's key names the
/// top-up, not the try (before, each try drew a random key, and the dead one stayed pending).
#[tokio::test]
async fn a_top_up_left_pending_by_a_dead_function_is_finished_not_bought_again() {
    use tidings_domain::digest::sha256_hex;
    use tidings_domain::purchase::{Purchase, PurchaseStatus};
    let app = app().await;
    let (c, settings) = topping_up(&app, 10, "4242424242424242", json!({"credits": 100})).await;
    // What the dead function left: the first top-up of these settings, claimed and pending.
    let saved: chrono::DateTime<chrono::Utc> =
        settings["updated_at"].as_str().unwrap().parse().unwrap();
    let key = format!("auto-top-up-group-{}-0", saved.timestamp_micros());
    let claim = sha256_hex(key.as_bytes());
    let now = chrono::Utc::now();
    let left = Purchase {
        id: uuid::Uuid::new_v4().to_string(),
        account: "group".into(),
        credits: 100,
        amount: 1000,
        currency: "AUD".into(),
        status: PurchaseStatus::Pending,
        reason: None,
        payment_intent: None,
        reversed_credits: 0,
        body_hash: sha256_hex(key.as_bytes()),
        created_at: now,
        updated_at: now,
    };
    assert!(
        app.store
            .claim_purchase(&c.id, &claim, &left)
            .await
            .unwrap()
    );
    let ids = patients(&app, &c, 1).await;
    assert_eq!(send(&app, &c, &ids[0]).await, 201);
    let finished = app
        .store
        .get_purchase(&c.id, &claim)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.status, PurchaseStatus::Succeeded, "{finished:?}");
    assert_eq!(
        purchases_in_ledger(&app, &c).await,
        1,
        "one top-up, not two"
    );
    assert_eq!(balance(&app, &c).await, 109);
}

const WEBHOOK_SECRET: &str = "whsec_local_test_secret";

/// Posts a Stripe event signed as Stripe signs it (`t` seconds ago).
async fn stripe_event(
    app: &App,
    event: &Value,
    age_secs: i64,
    secret: &str,
) -> tidings_tests::Reply {
    let body = event.to_string().into_bytes();
    let t = chrono::Utc::now().timestamp() - age_secs;
    let h = vec![(
        tidings_domain::stripe_event::SIGNATURE_HEADER,
        tidings_domain::stripe_event::sign(secret, t, &body),
    )];
    tidings_tests::call_public(app, "/webhooks/stripe", &h, body, "application/json").await
}

fn event(kind: &str, object: Value) -> Value {
    json!({"id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "type": kind, "object": "event",
        "data": {"object": object}})
}

/// A SEPA debit saved with (local) Stripe; this IBAN's charges stay `processing`.
async fn slow_debit() -> String {
    let base = std::env::var("STRIPE_API_URL").unwrap();
    let res: Value = reqwest::Client::new()
        .post(format!("{base}/v1/payment_methods"))
        .basic_auth("sk_test_local", Some(""))
        .form(&[
            ("type", "sepa_debit"),
            ("sepa_debit[iban]", "DE62370400440532013001"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["id"].as_str().unwrap().to_owned()
}

/// A payment Stripe is still processing is not paid: the purchase stays `pending` with no
/// credits until Stripe's signed event says how it ended (before, `processing` counted as paid).
/// Events are checked (signature, age) and applied once.
#[tokio::test]
async fn a_processing_payment_counts_only_when_its_event_says_it_settled() {
    let app = app().await;
    for (kind, credited) in [
        ("payment_intent.succeeded", 500),
        ("payment_intent.payment_failed", 0),
    ] {
        let c = new_clinic(&app).await;
        let pm = slow_debit().await;
        let r = call(
            &app,
            &c.admin_key,
            "POST",
            "/credits/payment-method",
            Some(json!({"payment_method_id": pm})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = buy(&app, &c, "debit-1", json!({"credits": 500})).await;
        assert_eq!(
            (r.status.as_u16(), r.json["status"].as_str()),
            (201, Some("pending")),
            "{}",
            r.json
        );
        assert_eq!(balance(&app, &c).await, 0, "not paid yet");
        let pi = r.json["payment_intent"].as_str().unwrap().to_owned();
        let e = event(
            kind,
            json!({"id": pi, "object": "payment_intent", "metadata": {},
            "last_payment_error": {"message": "insufficient funds"}}),
        );
        // Forged, or too old: refused, nothing changes.
        for (age, secret) in [
            (0, "whsec_someone_else"),
            (3 * 86_400, WEBHOOK_SECRET),
            (-3600, WEBHOOK_SECRET),
        ] {
            let before = snapshot(&app, &c.id).await;
            let r = stripe_event(&app, &e, age, secret).await;
            assert_eq!(r.status, 401, "{age} {secret}: {}", r.json);
            assert_eq!(snapshot(&app, &c.id).await, before);
        }
        let r = stripe_event(&app, &e, 0, WEBHOOK_SECRET).await;
        assert_eq!(r.json["outcome"], "applied", "{}", r.json);
        assert_eq!(
            stripe_event(&app, &e, 0, WEBHOOK_SECRET).await.json["outcome"],
            "replay"
        );
        assert_eq!(balance(&app, &c).await, credited, "{kind}");
        assert_eq!(
            purchases_in_ledger(&app, &c).await,
            usize::from(credited > 0)
        );
        // A retry of the purchase answers what the event settled, and charges nothing.
        let again = buy(&app, &c, "debit-1", json!({"credits": 500})).await;
        assert!(matches!(again.status.as_u16(), 200 | 402), "{}", again.json);
        assert_eq!(balance(&app, &c).await, credited);
    }
}

/// Refunds and disputes take a purchase's credits back as ledger entries, once per event and
/// never below a zero balance: credits already spent stay spent, and the entry says how many.
#[tokio::test]
async fn refunds_and_disputes_take_credits_back_down_to_zero_at_most() {
    let app = app().await;
    let c = new_clinic(&app).await;
    save_card(&app, &c, &card("4242424242424242").await).await;
    let r = buy(&app, &c, "buy-1", json!({"credits": 500})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let pi = r.json["payment_intent"].as_str().unwrap().to_owned();
    let refund = |amount: u64| {
        event(
            "charge.refunded",
            json!({"id": "ch_x", "object": "charge",
        "payment_intent": pi, "amount_refunded": amount}),
        )
    };
    // A quarter refunded: 125 credits back to Stripe.
    let quarter = refund(1000);
    assert_eq!(
        stripe_event(&app, &quarter, 0, WEBHOOK_SECRET).await.json["outcome"],
        "applied"
    );
    assert_eq!(
        stripe_event(&app, &quarter, 0, WEBHOOK_SECRET).await.json["outcome"],
        "replay"
    );
    assert_eq!(balance(&app, &c).await, 375);
    // Three credits are spent; then the whole payment is refunded: 375 due, 372 left to take.
    for p in patients(&app, &c, 3).await {
        assert_eq!(send(&app, &c, &p).await, 201);
    }
    assert_eq!(balance(&app, &c).await, 372);
    let r = stripe_event(&app, &refund(4000), 0, WEBHOOK_SECRET).await;
    assert_eq!(r.json["outcome"], "applied", "{}", r.json);
    assert_eq!(balance(&app, &c).await, 0, "never below zero");
    // A dispute after a full refund has nothing left to take.
    let dispute = event(
        "charge.dispute.created",
        json!({"id": "dp_x", "object": "dispute",
        "payment_intent": pi, "amount": 4000}),
    );
    assert_eq!(
        stripe_event(&app, &dispute, 0, WEBHOOK_SECRET).await.json["outcome"],
        "ignored"
    );
    let ledger = call(&app, &c.staff_key, "GET", "/credits/ledger?limit=100", None).await;
    let items = ledger.json["items"].as_array().unwrap();
    let sum: i64 = items.iter().map(|e| e["credits"].as_i64().unwrap()).sum();
    assert_eq!(sum, 0, "the balance equals its ledger: {items:?}");
    let last = items
        .iter()
        .filter(|e| e["kind"] == "reversal")
        .map(|e| e["note"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(last.len(), 2, "{items:?}");
    assert!(
        last.iter().any(|n| n.contains("3 of them already spent")),
        "{last:?}"
    );
    // An event about a PaymentIntent no purchase here was paid by changes nothing.
    let stray = event(
        "charge.refunded",
        json!({"id": "ch_y", "payment_intent": "pi_unknown", "amount_refunded": 100}),
    );
    assert_eq!(
        stripe_event(&app, &stray, 0, WEBHOOK_SECRET).await.json["outcome"],
        "ignored"
    );
}

/// A Stripe that accepts the connection and never answers does not hold a request for ever:
/// the client gives up (15 s a call) and the clinic gets a 503 it can retry.
#[tokio::test]
async fn a_stripe_that_never_answers_is_a_503_not_a_hang() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn); // read nothing, answer nothing
        }
    });
    let stuck = App {
        stripe: Some(
            tidings_app::stripe::Stripe::new(&tidings_app::config::StripeConfig {
                api_url: url,
                secret_key: "sk_test_local".into(),
                webhook_secret: None,
                confirm_off_session: false,
            })
            .unwrap(),
        ),
        ..app.clone()
    };
    let started = std::time::Instant::now();
    let r = call(
        &stuck,
        &c.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": "pm_123"})),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (503, "payment_unavailable"),
        "{}",
        r.json
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(29),
        "within API Gateway's 30 s"
    );
    // A purchase with a card saved while Stripe answered: 503, nothing bought, retry later.
    save_card(&app, &c, &card("4242424242424242").await).await;
    let r = buy(&stuck, &c, "stuck-1", json!({"credits": 10})).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (503, "payment_unavailable"),
        "{}",
        r.json
    );
    assert_eq!(balance(&app, &c).await, 0);
}

/// An event reaches only the purchase its PaymentIntent paid for: metadata naming another
/// clinic's pending purchase cannot redirect a PaymentIntent Tidings already knows.
#[tokio::test]
async fn an_event_cannot_be_pointed_at_another_clinics_purchase() {
    use tidings_domain::digest::sha256_hex;
    let app = app().await;
    let a = new_clinic(&app).await;
    save_card(&app, &a, &card("4242424242424242").await).await;
    let paid = buy(&app, &a, "buy-1", json!({"credits": 100})).await;
    assert_eq!(paid.status, 201, "{}", paid.json);
    let b = new_clinic(&app).await;
    let pm = slow_debit().await;
    let r = call(
        &app,
        &b.admin_key,
        "POST",
        "/credits/payment-method",
        Some(json!({"payment_method_id": pm})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let pending = buy(&app, &b, "debit-1", json!({"credits": 500})).await;
    assert_eq!(pending.json["status"], "pending", "{}", pending.json);
    let e = event(
        "payment_intent.succeeded",
        json!({"id": paid.json["payment_intent"],
        "metadata": {"clinic_id": b.id, "purchase_key": sha256_hex(b"debit-1")}}),
    );
    let before = snapshot(&app, &b.id).await;
    assert_eq!(
        stripe_event(&app, &e, 0, WEBHOOK_SECRET).await.json["outcome"],
        "ignored"
    );
    assert_eq!(snapshot(&app, &b.id).await, before);
    assert_eq!((balance(&app, &a).await, balance(&app, &b).await), (100, 0));
}
