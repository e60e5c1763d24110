//! API key format, hashing and constant-time verification.
//!
//! A key reads `tk_<key id>.<secret>`: the key id (16 hex digits) finds the stored record, and
//! only the SHA-256 of the secret (32 random bytes, base64url) is stored. The secret has 256 bits
//! of entropy, so a fast hash is enough; a slow password hash would only add latency.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

const PREFIX: &str = "tk_";

/// What a key may do. `Admin` keys manage keys and clinic settings; `Staff` keys do the daily work.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Staff,
}

impl Role {
    /// Whether a key of this role may call an endpoint that requires `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || needed == Role::Staff
    }
}

/// A key presented by a client, split into its lookup id and its secret.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
}

/// Splits a bearer token into key id and secret; `None` if it is not shaped like a Tidings key.
pub fn parse(token: &str) -> Option<PresentedKey<'_>> {
    let rest = token.strip_prefix(PREFIX)?;
    let (key_id, secret) = rest.split_once('.')?;
    let id_ok = key_id.len() == 16 && key_id.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(PresentedKey { key_id, secret })
}

/// A newly made key: the string handed to the client once, and what is stored of it.
#[derive(Debug)]
pub struct NewKey {
    pub key: String,
    pub key_id: String,
    pub secret_hash: String,
}

/// Builds a key from 8 random bytes of id and 32 of secret.
pub fn format(id_bytes: [u8; 8], secret_bytes: [u8; 32]) -> NewKey {
    let key_id: String = id_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
    NewKey {
        key: format!("{PREFIX}{key_id}.{secret}"),
        secret_hash: hash_secret(&secret),
        key_id,
    }
}

/// The hex SHA-256 of a secret: the only form in which a key is stored.
pub fn hash_secret(secret: &str) -> String {
    crate::digest::sha256_hex(secret.as_bytes())
}

/// Compares a presented secret with a stored hash in constant time.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formatted_keys_parse_and_verify() {
        let new = format([1, 2, 3, 4, 5, 6, 7, 8], [9; 32]);
        assert_eq!(new.key_id, "0102030405060708");
        let p = parse(&new.key).unwrap();
        assert_eq!(p.key_id, new.key_id);
        assert!(verify(p.secret, &new.secret_hash));
        assert!(!verify("x", &new.secret_hash));
        assert_ne!(
            new.secret_hash, p.secret,
            "the secret itself is never the stored form"
        );
    }

    #[test]
    fn malformed_keys_are_rejected() {
        assert!(parse("").is_none());
        assert!(parse("tk_0102.abc").is_none());
        assert!(parse("Bearer tk_x").is_none());
        let key = format([0; 8], [0; 32]).key;
        assert!(parse(&key.replace('.', "")).is_none());
        assert!(parse(&format!("{key}x")).is_none());
    }

    #[test]
    fn roles() {
        assert!(Role::Admin.allows(Role::Admin) && Role::Admin.allows(Role::Staff));
        assert!(Role::Staff.allows(Role::Staff) && !Role::Staff.allows(Role::Admin));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") { let _ = parse(&s); }

        #[test]
        fn every_generated_key_round_trips(id in any::<[u8; 8]>(), secret in any::<[u8; 32]>()) {
            let new = format(id, secret);
            let p = parse(&new.key).unwrap();
            prop_assert_eq!(p.key_id, new.key_id.as_str());
            prop_assert!(verify(p.secret, &new.secret_hash));
        }
    }
}
