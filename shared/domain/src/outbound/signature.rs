//! How an endpoint knows an event came from Tidings: `Tidings-Signature: t=<unix seconds>,v1=<hex>`,
//! the HMAC-SHA256 of `<t>.<body>` under the endpoint's signing secret (the scheme Stripe's
//! webhooks use). The receiver recomputes it, compares in constant time, and refuses a `t`
//! too far from its clock, so an old post replayed later does not count.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header that carries the signature.
pub const HEADER: &str = "Tidings-Signature";

fn mac(secret: &str, t: i64, body: &[u8]) -> Option<Vec<u8>> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    Some(m.finalize().into_bytes().to_vec())
}

/// The header's value for `body` sent at `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let v1 = mac(secret, t, body).map(hex::encode).unwrap_or_default();
    format!("t={t},v1={v1}")
}

/// Whether `header` signs `body` with `secret` at a time within `tolerance_secs` of `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if now.abs_diff(t) > tolerance_secs.unsigned_abs() {
        return false;
    }
    let Some(expected) = mac(secret, t, body) else {
        return false;
    };
    sigs.iter()
        .any(|s| bool::from(s.as_slice().ct_eq(&expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_secret_body_and_time() {
        let body = br#"{"id":"evt_1","type":"reply.received"}"#;
        let h = sign("whsec_abc", 1_800_000_000, body);
        assert!(h.starts_with("t=1800000000,v1="));
        assert!(verify("whsec_abc", &h, body, 1_800_000_100, 300));
        assert!(!verify("whsec_other", &h, body, 1_800_000_100, 300));
        assert!(!verify("whsec_abc", &h, b"{}", 1_800_000_100, 300));
        assert!(
            !verify("whsec_abc", &h, body, 1_800_000_400, 300),
            "too old"
        );
        assert!(!verify("whsec_abc", "v1=00", body, 1_800_000_000, 300));
    }

    #[test]
    fn the_hmac_is_the_one_any_language_computes() {
        // printf '1800000000.{}' | openssl dgst -sha256 -hmac whsec_abc
        assert_eq!(
            sign("whsec_abc", 1_800_000_000, b"{}"),
            "t=1800000000,v1=51e5e42bcc84109c5e180813c1ee066db05b382b041fd0fd817d502eec19cd81"
        );
    }
}
