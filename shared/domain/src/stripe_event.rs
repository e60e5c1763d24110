//! Stripe's webhook events: the `Stripe-Signature` header (`t=<unix seconds>,v1=<hex>`, HMAC-SHA256
//! over `<t>.<body>` with the endpoint's signing secret, as Stripe documents it), and the few
//! events that settle purchases or take credits back.

use crate::webhook::{WebhookError, same};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::HashMap;

pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// How far the signed time may be from now (Stripe's libraries default to five minutes).
pub const TOLERANCE_SECS: u64 = 300;

/// The signature Stripe sends for `body` at `t`, as the header carries it.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, &t.to_string(), body))
    )
}

fn mac(secret: &str, t: &str, body: &[u8]) -> Vec<u8> {
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    m.update(t.as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Checks the header against the body and `now`: one of its `v1` signatures must match, and
/// its time must be within [`TOLERANCE_SECS`] (a replayed old event is refused).
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature("Stripe-Signature"))?;
    if secret.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(WebhookError::BadSignature)?;
    let sent: i64 = t.parse().map_err(|_| WebhookError::BadSignature)?;
    if now.timestamp().abs_diff(sent) > TOLERANCE_SECS {
        return Err(WebhookError::Stale);
    }
    let expected = mac(secret, t, body);
    let ok = signatures
        .iter()
        .filter_map(|s| hex::decode(s).ok())
        .any(|given| same(&expected, &given));
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// An event as Stripe posts it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct EventData {
    pub object: Object,
}

/// The fields Tidings reads of the object an event is about (a PaymentIntent, a Charge or a
/// Dispute).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct Object {
    pub id: String,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// A Charge's or a Dispute's PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// A Dispute's amount.
    #[serde(default)]
    pub amount: Option<u64>,
    /// A Charge's refunded amount so far (all refunds together).
    #[serde(default)]
    pub amount_refunded: Option<u64>,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct PaymentError {
    #[serde(default)]
    pub message: Option<String>,
}

/// What an event asks of Tidings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A PaymentIntent succeeded: its pending purchase is paid.
    Paid { payment_intent: String },
    /// A PaymentIntent failed: its pending purchase fails.
    Failed {
        payment_intent: String,
        reason: String,
    },
    /// Money of a PaymentIntent went back: a refund (`amount` refunded so far, all refunds
    /// together) or a dispute (`amount` disputed).
    Reversed {
        payment_intent: String,
        amount: u64,
        refund: bool,
    },
    /// Nothing to do.
    None,
}

/// Reads a verified body.
pub fn parse(body: &[u8]) -> Result<(Event, Effect), WebhookError> {
    let e: Event = serde_json::from_slice(body)
        .map_err(|err| WebhookError::malformed("body", format!("not a Stripe event: {err}")))?;
    let o = &e.data.object;
    let pi = || {
        o.payment_intent
            .clone()
            .ok_or_else(|| WebhookError::malformed("data.object.payment_intent", "missing"))
    };
    let effect = match e.kind.as_str() {
        "payment_intent.succeeded" => Effect::Paid {
            payment_intent: o.id.clone(),
        },
        "payment_intent.payment_failed" => Effect::Failed {
            payment_intent: o.id.clone(),
            reason: o
                .last_payment_error
                .as_ref()
                .and_then(|p| p.message.clone())
                .unwrap_or_else(|| "the payment failed".into()),
        },
        "charge.refunded" => Effect::Reversed {
            payment_intent: pi()?,
            amount: o.amount_refunded.unwrap_or(0),
            refund: true,
        },
        "charge.dispute.created" => Effect::Reversed {
            payment_intent: pi()?,
            amount: o.amount.unwrap_or(0),
            refund: false,
        },
        _ => Effect::None,
    };
    Ok((e, effect))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signed_fresh_events_pass_and_nothing_else_does() {
        let now = Utc::now();
        let body =
            br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#;
        let header = sign("whsec_test", now.timestamp(), body);
        assert_eq!(verify("whsec_test", Some(&header), body, now), Ok(()));
        assert_eq!(
            verify("whsec_other", Some(&header), body, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("whsec_test", Some(&header), b"{}", now),
            Err(WebhookError::BadSignature)
        );
        let old = sign("whsec_test", now.timestamp() - 301, body);
        assert_eq!(
            verify("whsec_test", Some(&old), body, now),
            Err(WebhookError::Stale)
        );
        let extreme = format!("t={},v1=00", i64::MIN);
        assert_eq!(
            verify("whsec_test", Some(&extreme), body, now),
            Err(WebhookError::Stale)
        );
        assert!(verify("whsec_test", None, body, now).is_err());
        assert!(verify("", Some(&header), body, now).is_err());
        // Several v1 signatures (a secret being rolled): one that matches is enough.
        let two = format!("{header},v1=00ff");
        assert_eq!(verify("whsec_test", Some(&two), body, now), Ok(()));
        assert_eq!(
            parse(body).unwrap().1,
            Effect::Paid {
                payment_intent: "pi_1".into()
            }
        );
    }

    proptest! {
        #[test]
        fn arbitrary_posts_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), h in ".{0,80}") {
            let _ = verify("whsec_x", Some(&h), &body, Utc::now());
            let _ = parse(&body);
        }
    }
}
