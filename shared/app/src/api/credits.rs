//! `/credits` and `/credits/ledger`.

use crate::App;
use crate::http::request::MAX_BODY_BYTES;
use crate::http::{ApiError, ApiRequest, Caller, Endpoint, response};
use crate::http::{Doc, Gives, Takes, schema};
use crate::services::credit_stats::CreditStats;
use crate::services::credits::{AccountView, Closed, CreditsView, Prices};
use crate::services::purchases::{PaymentMethodInput, PurchaseOutcome};
use crate::services::{auto_top_up, credit_stats, credits, purchases};
use crate::store::SavedPaymentMethod;
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use tidings_domain::api_key::Role;
use tidings_domain::credits::{AutoTopUp, AutoTopUpInput, LedgerEntry};
use tidings_domain::purchase::PurchaseInput;

pub const GET: Endpoint = Endpoint {
    function: "get-credits",
    method: Method::GET,
    path: "/credits",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "The clinic's credit balances",
        &[Gives::Json(200, schema::<CreditsView>)],
    ),
    handler: |app, caller, req| Box::pin(get(app, caller, req)),
};

pub const LEDGER: Endpoint = Endpoint {
    function: "list-credit-ledger",
    method: Method::GET,
    path: "/credits/ledger",
    role: Role::Staff,
    query: &["account", "cursor", "limit"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Every change of an account's balance",
        &[Gives::Json(200, schema::<response::Page<LedgerEntry>>)],
    ),
    handler: |app, caller, req| Box::pin(ledger(app, caller, req)),
};

pub const STATS: Endpoint = Endpoint {
    function: "credit-stats",
    method: Method::GET,
    path: "/credits/stats",
    role: Role::Staff,
    query: &["from", "to"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Credits spent and bought per day",
        &[Gives::Json(200, schema::<CreditStats>)],
    ),
    handler: |app, caller, req| Box::pin(stats(app, caller, req)),
};

pub const PRICES: Endpoint = Endpoint {
    function: "get-credit-prices",
    method: Method::GET,
    path: "/credits/prices",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Credit prices per currency",
        &[Gives::Json(200, schema::<Currencies>)],
    ),
    handler: |app, _caller, _req| Box::pin(prices(app)),
};

pub const SET_PAYMENT_METHOD: Endpoint = Endpoint {
    function: "set-credit-payment-method",
    method: Method::POST,
    path: "/credits/payment-method",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Save the card credits are bought with",
        Takes::Json(schema::<PaymentMethodInput>),
        &[Gives::Json(200, schema::<SavedPaymentMethod>)],
    )
    .errors(&[503]),
    handler: |app, caller, req| Box::pin(set_payment_method(app, caller, req)),
};

pub const PURCHASE: Endpoint = Endpoint {
    function: "create-credit-purchase",
    method: Method::POST,
    path: "/credits/purchases",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Buy credits with the saved card",
        Takes::Json(schema::<PurchaseInput>),
        &[
            Gives::Json(201, schema::<PurchaseOutcome>),
            Gives::Json(200, schema::<PurchaseOutcome>),
        ],
    )
    .errors(&[402, 409, 503])
    .idempotent(),
    handler: |app, caller, req| Box::pin(purchase(app, caller, req)),
};

pub const GET_AUTO_TOP_UP: Endpoint = Endpoint {
    function: "get-credit-auto-top-up",
    method: Method::GET,
    path: "/credits/auto-top-up",
    role: Role::Staff,
    query: &["account"],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "An account's automatic top-up",
        &[Gives::Json(200, schema::<AutoTopUp>)],
    )
    .errors(&[404]),
    handler: |app, caller, req| Box::pin(get_auto_top_up(app, caller, req)),
};

pub const PUT_AUTO_TOP_UP: Endpoint = Endpoint {
    function: "put-credit-auto-top-up",
    method: Method::PUT,
    path: "/credits/auto-top-up",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::new(
        "Set an account's automatic top-up",
        Takes::Json(schema::<AutoTopUpInput>),
        &[Gives::Json(200, schema::<AutoTopUp>)],
    ),
    handler: |app, caller, req| Box::pin(put_auto_top_up(app, caller, req)),
};

pub const OPEN_ACCOUNT: Endpoint = Endpoint {
    function: "open-practitioner-credit-account",
    method: Method::POST,
    path: "/practitioners/{id}/credit-account",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Give a practitioner their own credit account",
        &[Gives::Json(201, schema::<AccountView>)],
    )
    .errors(&[409]),
    handler: |app, caller, req| Box::pin(open_account(app, caller, req)),
};

pub const GET_ACCOUNT: Endpoint = Endpoint {
    function: "get-practitioner-credit-account",
    method: Method::GET,
    path: "/practitioners/{id}/credit-account",
    role: Role::Staff,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "A practitioner's credit account",
        &[Gives::Json(200, schema::<AccountView>)],
    ),
    handler: |app, caller, req| Box::pin(get_account(app, caller, req)),
};

pub const CLOSE_ACCOUNT: Endpoint = Endpoint {
    function: "close-practitioner-credit-account",
    method: Method::DELETE,
    path: "/practitioners/{id}/credit-account",
    role: Role::Admin,
    query: &[],
    max_body: MAX_BODY_BYTES,
    doc: Doc::get(
        "Close a practitioner's account, moving its balance to the clinic's",
        &[Gives::Json(200, schema::<Closed>)],
    ),
    handler: |app, caller, req| Box::pin(close_account(app, caller, req)),
};

async fn get(app: App, caller: Caller, _req: ApiRequest) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &credits::summary(&app, &caller.clinic_id).await?,
    ))
}

async fn stats(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let s = credit_stats::stats(
        &app.store,
        &caller.clinic_id,
        req.query("from"),
        req.query("to"),
    )
    .await?;
    Ok(response::json(StatusCode::OK, &s))
}

async fn ledger(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let (after, limit) = req.page()?;
    let (items, next) = credits::ledger(
        &app.store,
        &caller.clinic_id,
        req.query("account"),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(response::page(&items, req.next_cursor(next.as_deref())))
}

async fn open_account(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let a = credits::open(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::CREATED, &a))
}

async fn get_account(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let a = credits::get_account(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::OK, &a))
}

async fn close_account(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let closed = credits::close(&app, &caller.clinic_id, req.param("id")).await?;
    Ok(response::json(StatusCode::OK, &closed))
}

async fn prices(app: App) -> Result<Response<Body>, ApiError> {
    Ok(response::json(
        StatusCode::OK,
        &serde_json::json!({"currencies": credits::prices(&app)}),
    ))
}

async fn set_payment_method(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let pm = purchases::set_payment_method(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::OK, &pm))
}

async fn purchase(app: App, caller: Caller, req: ApiRequest) -> Result<Response<Body>, ApiError> {
    let key = crate::services::sending::idempotency_key(req.idempotency_key())?;
    let input = req.json()?;
    let out =
        purchases::purchase(&app, &caller.clinic_id, input, req.body(), key.as_deref()).await?;
    Ok(response::created_or_replayed(out.replayed, &out))
}

async fn get_auto_top_up(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let t = auto_top_up::get(&app, &caller.clinic_id, req.query("account")).await?;
    Ok(response::json(StatusCode::OK, &t))
}

async fn put_auto_top_up(
    app: App,
    caller: Caller,
    req: ApiRequest,
) -> Result<Response<Body>, ApiError> {
    let t = auto_top_up::put(&app, &caller.clinic_id, req.json()?).await?;
    Ok(response::json(StatusCode::OK, &t))
}

/// `GET /credits/prices`.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Currencies {
    currencies: Vec<Prices>,
}
