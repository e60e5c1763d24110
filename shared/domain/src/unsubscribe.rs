//! Email unsubscribe links: a token that names the clinic, the person and the channel, signed
//! so that nobody can unsubscribe someone else by guessing ids.
//!
//! `<base64url payload>.<base64url HMAC-SHA256 of the payload>`, where the payload is
//! `v1|clinic|patient|contact|channel` (contact empty for the patient themself).

use crate::message_template::Channel;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whom a link unsubscribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub clinic_id: String,
    pub patient_id: String,
    /// A contact of the patient, when the email was a contact's copy.
    pub contact_id: Option<String>,
    pub channel: Channel,
}

/// The token is not one this service signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the unsubscribe link is not valid")]
pub struct InvalidToken;

fn mac(key: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(payload);
    Some(m.finalize().into_bytes().to_vec())
}

impl Token {
    /// The signed token, safe in a URL path.
    pub fn sign(&self, key: &[u8]) -> String {
        let payload = format!(
            "v1|{}|{}|{}|{}",
            self.clinic_id,
            self.patient_id,
            self.contact_id.as_deref().unwrap_or(""),
            self.channel.as_str()
        );
        let sig = mac(key, payload.as_bytes()).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks the signature and reads the token.
    pub fn verify(key: &[u8], token: &str) -> Result<Self, InvalidToken> {
        let (payload, sig) = token.split_once('.').ok_or(InvalidToken)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidToken)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| InvalidToken)?;
        let expected = mac(key, &payload).ok_or(InvalidToken)?;
        if !crate::webhook::same(&expected, &sig) {
            return Err(InvalidToken);
        }
        let text = String::from_utf8(payload).map_err(|_| InvalidToken)?;
        let parts: Vec<&str> = text.split('|').collect();
        let [version, clinic, patient, contact, channel] = parts.as_slice() else {
            return Err(InvalidToken);
        };
        if *version != "v1" || clinic.is_empty() || patient.is_empty() {
            return Err(InvalidToken);
        }
        let channel = match *channel {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            _ => return Err(InvalidToken),
        };
        Ok(Self {
            clinic_id: (*clinic).to_owned(),
            patient_id: (*patient).to_owned(),
            contact_id: (!contact.is_empty()).then(|| (*contact).to_owned()),
            channel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_signed_token_reads_back_and_a_changed_one_does_not() {
        let t = Token {
            clinic_id: "c1".into(),
            patient_id: "p1".into(),
            contact_id: None,
            channel: Channel::Email,
        };
        let s = t.sign(b"key");
        assert_eq!(Token::verify(b"key", &s), Ok(t.clone()));
        assert_eq!(Token::verify(b"other", &s), Err(InvalidToken));
        let other = Token {
            patient_id: "p2".into(),
            ..t
        };
        let (_, sig) = s.split_once('.').unwrap();
        let (payload, _) = other
            .sign(b"key")
            .split_once('.')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap();
        assert_eq!(
            Token::verify(b"key", &format!("{payload}.{sig}")),
            Err(InvalidToken)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(s in ".{0,200}") {
            let _ = Token::verify(b"key", &s);
        }
    }
}
