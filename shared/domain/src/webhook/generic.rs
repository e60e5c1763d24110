//! The documented format for any other provider: JSON, signed with HMAC-SHA256.
//!
//! Headers: `X-Tidings-Timestamp` (Unix seconds) and `X-Tidings-Signature` (lower-case hex
//! of HMAC-SHA256 over `<timestamp>.<body>` with the deployment's webhook secret). A post
//! whose timestamp is more than five minutes from now is refused, so a captured post cannot
//! be replayed later.
//!
//! Bodies: `{"type": "message", "id", "from", "to", "body", "received_at"?}` or
//! `{"type": "receipt", "id", "status": "delivered" | "failed", "reason"?}`, where a
//! receipt's `id` is the provider's id of the message we sent.

use super::{Event, InboundSms, Receipt, WebhookError, same};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-tidings-timestamp";
pub const SIGNATURE_HEADER: &str = "x-tidings-signature";
/// How far a timestamp may be from now.
pub const TOLERANCE_SECS: u64 = 300;

/// The signature of `body` sent at `timestamp`: lower-case hex.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// `None` only if the key were refused, which HMAC never does.
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    Some(m)
}

/// Checks the headers against the body and the time `now`; returns the signed time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, WebhookError> {
    let timestamp = timestamp.ok_or(WebhookError::MissingSignature("X-Tidings-Timestamp"))?;
    let signature = signature.ok_or(WebhookError::MissingSignature("X-Tidings-Signature"))?;
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::BadSignature)?;
    // `abs_diff` cannot overflow, whatever the header says (i64::MIN included).
    if now.timestamp().abs_diff(sent) > TOLERANCE_SECS {
        return Err(WebhookError::Stale);
    }
    let signed_at = DateTime::from_timestamp(sent, 0).ok_or(WebhookError::Stale)?;
    let given = hex::decode(signature.trim()).map_err(|_| WebhookError::BadSignature)?;
    let expected = mac(secret, timestamp, body)
        .ok_or(WebhookError::BadSignature)?
        .finalize()
        .into_bytes();
    if same(&expected, &given) {
        Ok(signed_at)
    } else {
        Err(WebhookError::BadSignature)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Body {
    Message {
        id: String,
        from: String,
        to: String,
        body: String,
        received_at: Option<DateTime<Utc>>,
    },
    Receipt {
        id: String,
        status: ReceiptStatus,
        reason: Option<String>,
    },
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ReceiptStatus {
    Delivered,
    Failed,
}

/// Reads a verified body.
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let parsed: Body = serde_json::from_slice(body)
        .map_err(|e| WebhookError::malformed("body", format!("not a generic webhook body: {e}")))?;
    Ok(match parsed {
        Body::Message {
            id,
            from,
            to,
            body,
            received_at,
        } => Event::Inbound(InboundSms {
            provider_message_id: id,
            from,
            to,
            body,
            received_at,
        }),
        Body::Receipt { id, status, reason } => Event::Receipt(Receipt {
            provider_message_id: id,
            delivered: matches!(status, ReceiptStatus::Delivered),
            reason,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_signed_fresh_post_passes_and_anything_else_fails() {
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"type":"message","id":"m1","from":"+61400000001","to":"+61400000002","body":"STOP"}"#;
        let sig = sign(b"secret", &ts, body);
        assert_eq!(
            verify(b"secret", Some(&ts), Some(&sig), body, now).map(|t| t.timestamp()),
            Ok(now.timestamp())
        );
        assert_eq!(
            verify(b"other", Some(&ts), Some(&sig), body, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(b"secret", Some(&ts), Some(&sig), b"{}", now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(b"secret", None, Some(&sig), body, now),
            Err(WebhookError::MissingSignature("X-Tidings-Timestamp"))
        );
        let old = (now.timestamp() - 301).to_string();
        let sig_old = sign(b"secret", &old, body);
        assert_eq!(
            verify(b"secret", Some(&old), Some(&sig_old), body, now),
            Err(WebhookError::Stale)
        );
        for extreme in [i64::MIN, i64::MAX] {
            let ts = extreme.to_string();
            let sig = sign(b"secret", &ts, body);
            assert_eq!(
                verify(b"secret", Some(&ts), Some(&sig), body, now),
                Err(WebhookError::Stale)
            );
        }
        let Event::Inbound(m) = parse(body).unwrap() else {
            panic!("not inbound")
        };
        assert_eq!((m.from.as_str(), m.body.as_str()), ("+61400000001", "STOP"));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
            let _ = verify(b"k", Some("1"), Some("zz"), &body, Utc::now());
        }
    }
}
