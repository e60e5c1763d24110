//! A thin adapter over Stripe's HTTP API: a Customer per credit account, a payment method
//! attached to it, and a charge off session with a PaymentIntent that names both. The base URL is configurable (`STRIPE_API_URL`), so tests run
//! it against `localstripe`. Card data never passes through Tidings: clients save a card with
//! Stripe and give us its payment method id.

use crate::config::StripeConfig;
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StripeError {
    #[error("Stripe could not be reached")]
    Unavailable(#[source] reqwest::Error),
    /// Stripe answered with an error that is not about the card (a bad key, a server error).
    #[error("Stripe answered {status}: {code}")]
    Refused { status: u16, code: String },
    #[error("Stripe's answer could not be read")]
    Decode(#[source] reqwest::Error),
}

/// A saved card as Stripe describes it (what the API may show of it).
#[derive(Debug, Clone, Deserialize)]
pub struct CardSummary {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

/// A payment method: its card, and the Customer it is attached to, if any.
#[derive(Debug, Clone)]
pub struct PaymentMethodInfo {
    pub card: CardSummary,
    pub customer: Option<String>,
}

/// What attaching a payment method to a Customer came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached {
    Yes,
    /// Stripe refused it (declined, or attached elsewhere): Stripe's reason.
    Refused {
        reason: String,
    },
}

/// What a charge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        payment_intent: String,
    },
    /// Stripe accepted the payment but has not settled it (`processing`): a webhook event
    /// says later whether it succeeded.
    Processing {
        payment_intent: String,
    },
    /// The card was declined, or needs the cardholder (no credits): Stripe's reason.
    Declined {
        reason: String,
    },
}

/// One charge: `amount` in the currency's minor unit.
pub struct Charge<'a> {
    pub amount: u64,
    pub currency: &'a str,
    /// The account's Customer, which the payment method is attached to.
    pub customer: &'a str,
    pub payment_method: &'a str,
    /// Passed on as Stripe's `Idempotency-Key`: a retried purchase is one charge.
    pub idempotency_key: &'a str,
    pub metadata: &'a [(&'a str, &'a str)],
}

#[derive(Clone)]
pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: String,
    confirm_off_session: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    #[serde(default)]
    last_payment_error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct PaymentMethod {
    card: Option<CardSummary>,
    #[serde(default)]
    customer: Option<String>,
}

#[derive(Deserialize)]
struct Customer {
    id: String,
}

/// How long Tidings waits for Stripe: to connect, and for a whole call.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Stripe {
    /// The adapter and its client; an error here stops the cold start.
    pub fn new(config: &StripeConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            base: config.api_url.trim_end_matches('/').to_owned(),
            key: config.secret_key.clone(),
            confirm_off_session: config.confirm_off_session,
        })
    }

    /// A Customer for one credit account. `idempotency_key` names the account, so a retried
    /// or concurrent creation is one Customer.
    pub async fn create_customer(
        &self,
        idempotency_key: &str,
        metadata: &[(&str, &str)],
    ) -> Result<String, StripeError> {
        let form: Vec<(String, &str)> = metadata
            .iter()
            .map(|(k, v)| (format!("metadata[{k}]"), *v))
            .collect();
        let res = self
            .http
            .post(format!("{}/v1/customers", self.base))
            .basic_auth(&self.key, Some(""))
            .header("Idempotency-Key", idempotency_key)
            .form(&form)
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        if !res.status().is_success() {
            return Err(refused(res.status().as_u16(), res).await);
        }
        let c: Customer = res.json().await.map_err(StripeError::Decode)?;
        Ok(c.id)
    }

    /// Attaches payment method `id` to `customer`.
    pub async fn attach(&self, id: &str, customer: &str) -> Result<Attached, StripeError> {
        let res = self
            .http
            .post(format!("{}/v1/payment_methods/{id}/attach", self.base))
            .basic_auth(&self.key, Some(""))
            .form(&[("customer", customer)])
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        let status = res.status().as_u16();
        if (400..500).contains(&status) && status != 401 && status != 429 {
            let reason = res
                .json::<ErrorBody>()
                .await
                .map(|b| reason(&b.error))
                .unwrap_or_else(|_| "Stripe refused the payment method".into());
            return Ok(Attached::Refused { reason });
        }
        if !res.status().is_success() {
            return Err(refused(status, res).await);
        }
        Ok(Attached::Yes)
    }

    /// Payment method `id`; `Ok(None)` when Stripe has no such payment method.
    pub async fn payment_method(&self, id: &str) -> Result<Option<PaymentMethodInfo>, StripeError> {
        let res = self
            .http
            .get(format!("{}/v1/payment_methods/{id}", self.base))
            .basic_auth(&self.key, Some(""))
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        let status = res.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if !res.status().is_success() {
            return Err(refused(status, res).await);
        }
        let pm: PaymentMethod = res.json().await.map_err(StripeError::Decode)?;
        Ok(Some(PaymentMethodInfo {
            card: pm.card.unwrap_or(CardSummary {
                brand: None,
                last4: None,
            }),
            customer: pm.customer,
        }))
    }

    /// Creates the PaymentIntent of a charge of a saved payment method, not yet confirmed: no
    /// money moves until [`Stripe::confirm`]. Its id is recorded before it is confirmed, so a
    /// try that dies after confirming is found again by [`Stripe::outcome_of`].
    pub async fn create_intent(&self, c: &Charge<'_>) -> Result<String, StripeError> {
        let amount = c.amount.to_string();
        let currency = c.currency.to_lowercase();
        let mut form: Vec<(String, &str)> = vec![
            ("amount".into(), &amount),
            ("currency".into(), &currency),
            ("customer".into(), c.customer),
            ("payment_method".into(), c.payment_method),
        ];
        for (k, v) in c.metadata {
            form.push((format!("metadata[{k}]"), v));
        }
        let res = self
            .http
            .post(format!("{}/v1/payment_intents", self.base))
            .basic_auth(&self.key, Some(""))
            .header("Idempotency-Key", c.idempotency_key)
            .form(&form)
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        let status = res.status().as_u16();
        if !res.status().is_success() {
            return Err(refused(status, res).await);
        }
        let pi: PaymentIntent = res.json().await.map_err(StripeError::Decode)?;
        Ok(pi.id)
    }

    /// Confirms a PaymentIntent off session (the card is charged).
    pub async fn confirm(
        &self,
        payment_intent: &str,
        idempotency_key: &str,
    ) -> Result<ChargeOutcome, StripeError> {
        let res = self
            .http
            .post(format!(
                "{}/v1/payment_intents/{payment_intent}/confirm",
                self.base
            ))
            .basic_auth(&self.key, Some(""))
            .header("Idempotency-Key", idempotency_key)
            .form(if self.confirm_off_session {
                &[("off_session", "true")][..]
            } else {
                &[]
            })
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        let status = res.status().as_u16();
        if status == 402 {
            // A card error: Stripe's message is for the cardholder.
            let body: ErrorBody = res.json().await.map_err(StripeError::Decode)?;
            return Ok(ChargeOutcome::Declined {
                reason: reason(&body.error),
            });
        }
        if !res.status().is_success() {
            return Err(refused(status, res).await);
        }
        let pi: PaymentIntent = res.json().await.map_err(StripeError::Decode)?;
        Ok(outcome(pi))
    }

    /// What became of a PaymentIntent an earlier try created: confirmed (succeeded, processing
    /// or declined), or `None` while it still waits for its confirmation (that try died first).
    pub async fn outcome_of(
        &self,
        payment_intent: &str,
    ) -> Result<Option<ChargeOutcome>, StripeError> {
        let res = self
            .http
            .get(format!("{}/v1/payment_intents/{payment_intent}", self.base))
            .basic_auth(&self.key, Some(""))
            .send()
            .await
            .map_err(StripeError::Unavailable)?;
        let status = res.status().as_u16();
        if !res.status().is_success() {
            return Err(refused(status, res).await);
        }
        let pi: PaymentIntent = res.json().await.map_err(StripeError::Decode)?;
        Ok(match pi.status.as_str() {
            "requires_confirmation" => None,
            "requires_payment_method" if pi.last_payment_error.is_none() => None,
            _ => Some(outcome(pi)),
        })
    }
}

/// What a confirmed PaymentIntent comes to.
fn outcome(pi: PaymentIntent) -> ChargeOutcome {
    match pi.status.as_str() {
        "succeeded" => ChargeOutcome::Succeeded {
            payment_intent: pi.id,
        },
        "processing" => ChargeOutcome::Processing {
            payment_intent: pi.id,
        },
        other => ChargeOutcome::Declined {
            reason: pi
                .last_payment_error
                .as_ref()
                .map(reason)
                .unwrap_or_else(|| format!("the payment is {other}")),
        },
    }
}

fn reason(e: &ErrorDetail) -> String {
    e.message
        .clone()
        .or_else(|| e.code.clone())
        .unwrap_or_else(|| "the card was declined".into())
}

async fn refused(status: u16, res: reqwest::Response) -> StripeError {
    let code = res
        .json::<ErrorBody>()
        .await
        .ok()
        .and_then(|b| b.error.code.or(b.error.kind))
        .unwrap_or_else(|| "unknown".into());
    StripeError::Refused { status, code }
}
