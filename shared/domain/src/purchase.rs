//! Buying credits by card: what a client asks for, checked against the deployment's prices,
//! and the record kept of each purchase.

use crate::FieldError;
use crate::credits::{GROUP_ACCOUNT, parse_account};
use crate::pricing::{MAX_CREDITS, PriceList};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /credits/purchases`: a number of credits, or an amount of money (minor units) to
/// spend on as many credits as it buys.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseInput {
    pub account: Option<String>,
    pub credits: Option<u64>,
    pub amount: Option<u64>,
    pub currency: Option<String>,
}

/// A checked purchase: `amount` is what `credits` cost at their tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRequest {
    pub account: String,
    pub credits: u64,
    pub amount: u64,
    pub currency: String,
}

impl PurchaseInput {
    pub fn validate(self, prices: &[PriceList]) -> Result<PurchaseRequest, FieldError> {
        let account = match self.account.as_deref() {
            Some(a) => parse_account("account", a)?,
            None => GROUP_ACCOUNT.to_owned(),
        };
        let list = match self.currency.as_deref().map(str::trim) {
            None => prices.first(),
            Some(c) => prices.iter().find(|l| l.currency.eq_ignore_ascii_case(c)),
        }
        .ok_or_else(|| {
            let known: Vec<&str> = prices.iter().map(|l| l.currency.as_str()).collect();
            FieldError::new(
                "currency",
                "invalid",
                format!("currency must be one of {}", known.join(", ")),
            )
        })?;
        let credits = match (self.credits, self.amount) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "amount",
                    "not_allowed",
                    "give credits or amount, not both",
                ));
            }
            (None, None) => {
                return Err(FieldError::new(
                    "credits",
                    "required",
                    "give the credits to buy, or an amount to spend",
                ));
            }
            (Some(n), None) if (1..=MAX_CREDITS).contains(&n) => n,
            (Some(_), None) => {
                return Err(FieldError::new(
                    "credits",
                    "out_of_range",
                    format!("credits must be from 1 to {MAX_CREDITS}"),
                ));
            }
            (None, Some(cents)) => match list.credits_for(cents) {
                0 => {
                    return Err(FieldError::new(
                        "amount",
                        "too_small",
                        "the amount buys no credit (amount is in cents)",
                    ));
                }
                n => n,
            },
        };
        Ok(PurchaseRequest {
            account,
            credits,
            amount: list.cost(credits),
            currency: list.currency.clone(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// Claimed; the charge has not been settled yet (a retry with the same key finishes it).
    Pending,
    Succeeded,
    Failed,
}

/// The purchase's credits reversed once Stripe reports `amount` (minor units) refunded so far
/// (`refund`: Stripe's refunded total) or disputed (a dispute adds to what was reversed), given
/// `so_far` already reversed: never less than `so_far`, never more than the credits bought.
pub fn reversed_total(p: &Purchase, amount: u64, refund: bool) -> u64 {
    let share = if p.amount == 0 {
        p.credits
    } else {
        let s = u128::from(p.credits) * u128::from(amount) / u128::from(p.amount);
        u64::try_from(s).unwrap_or(u64::MAX)
    };
    let total = if refund {
        share.max(p.reversed_credits)
    } else {
        p.reversed_credits.saturating_add(share)
    };
    total.min(p.credits)
}

/// A purchase as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Purchase {
    pub id: String,
    pub account: String,
    pub credits: u64,
    /// What was charged, in the currency's minor unit.
    pub amount: u64,
    pub currency: String,
    pub status: PurchaseStatus,
    /// Why the card was declined.
    pub reason: Option<String>,
    pub payment_intent: Option<String>,
    /// Credits taken back so far because the payment was refunded or disputed.
    #[serde(default)]
    pub reversed_credits: u64,
    /// SHA-256 of the request body: a reused key with another body is refused.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub body_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn prices() -> Vec<PriceList> {
        crate::pricing::parse("AUD:1=0.10,500=0.08;NZD:1=0.12").unwrap()
    }

    #[test]
    fn credits_or_money_at_the_tier_price() {
        let r = PurchaseInput {
            credits: Some(500),
            ..Default::default()
        }
        .validate(&prices())
        .unwrap();
        assert_eq!(
            (r.credits, r.amount, r.currency.as_str(), r.account.as_str()),
            (500, 4000, "AUD", "group")
        );
        let r = PurchaseInput {
            amount: Some(4500),
            ..Default::default()
        }
        .validate(&prices())
        .unwrap();
        assert_eq!((r.credits, r.amount), (562, 4496));
        let r = PurchaseInput {
            credits: Some(10),
            currency: Some("nzd".into()),
            ..Default::default()
        }
        .validate(&prices())
        .unwrap();
        assert_eq!((r.amount, r.currency.as_str()), (120, "NZD"));
    }

    #[test]
    fn bad_purchases_name_the_field() {
        let field = |i: PurchaseInput| i.validate(&prices()).unwrap_err().field;
        assert_eq!(field(PurchaseInput::default()), "credits");
        assert_eq!(
            field(PurchaseInput {
                credits: Some(1),
                amount: Some(1),
                ..Default::default()
            }),
            "amount"
        );
        assert_eq!(
            field(PurchaseInput {
                credits: Some(0),
                ..Default::default()
            }),
            "credits"
        );
        assert_eq!(
            field(PurchaseInput {
                amount: Some(5),
                ..Default::default()
            }),
            "amount"
        );
        assert_eq!(
            field(PurchaseInput {
                credits: Some(5),
                currency: Some("USD".into()),
                ..Default::default()
            }),
            "currency"
        );
        assert_eq!(
            field(PurchaseInput {
                credits: Some(5),
                account: Some("bank".into()),
                ..Default::default()
            }),
            "account"
        );
    }

    #[test]
    fn reversals_are_shares_of_the_credits_never_more() {
        let p = |reversed| Purchase {
            id: "p".into(),
            account: "group".into(),
            credits: 500,
            amount: 4000,
            currency: "AUD".into(),
            status: PurchaseStatus::Succeeded,
            reason: None,
            payment_intent: Some("pi".into()),
            reversed_credits: reversed,
            body_hash: String::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        assert_eq!(reversed_total(&p(0), 4000, true), 500);
        assert_eq!(reversed_total(&p(0), 1000, true), 125);
        // Refunds report their total: a second report of the same total takes nothing more.
        assert_eq!(reversed_total(&p(125), 1000, true), 125);
        assert_eq!(reversed_total(&p(125), 2000, true), 250);
        // A dispute adds to what was refunded, up to what was bought.
        assert_eq!(reversed_total(&p(125), 4000, false), 500);
        assert_eq!(reversed_total(&p(0), u64::MAX, true), 500);
    }
}
