//! Twilio: form-encoded inbound messages and status callbacks, signed in
//! `X-Twilio-Signature` with the account's auth token.
//!
//! The signature is base64 of HMAC-SHA1 over the full URL Twilio posted to, followed by each
//! form parameter's name and value, sorted by name.

use super::{Event, InboundSms, Receipt, WebhookError, same};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The form's parameters, in the order posted.
pub fn params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The signature Twilio computes for a post of `params` to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let Ok(mut m) = <Hmac<Sha1> as Mac>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    m.update(url.as_bytes());
    for (k, v) in sorted {
        m.update(k.as_bytes());
        m.update(v.as_bytes());
    }
    STANDARD.encode(m.finalize().into_bytes())
}

/// Checks `X-Twilio-Signature` for a post of `params` to `url`.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), WebhookError> {
    let given = signature.ok_or(WebhookError::MissingSignature("X-Twilio-Signature"))?;
    if auth_token.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    if same(
        sign(auth_token, url, params).as_bytes(),
        given.trim().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

fn get<'a>(params: &'a [(String, String)], name: &'static str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether the post is a status callback about a message we sent (rather than a message a
/// patient sent us).
fn is_status_callback(params: &[(String, String)]) -> bool {
    get(params, "MessageStatus").is_some_and(|s| s != "received")
}

/// The clinic's own number in a post: it names the clinic whose token verifies the post. A
/// patient's message is sent `To` it; a status callback is about a message sent `From` it.
pub fn our_number(params: &[(String, String)]) -> Result<&str, WebhookError> {
    let field = if is_status_callback(params) {
        "From"
    } else {
        "To"
    };
    get(params, field).ok_or_else(|| WebhookError::malformed(field, "missing"))
}

/// Reads a verified post: an inbound message (with `Body`), a status callback
/// (`MessageStatus` delivered, undelivered or failed), or another status (ignored).
pub fn parse(params: &[(String, String)]) -> Result<Event, WebhookError> {
    let sid = get(params, "MessageSid")
        .or_else(|| get(params, "SmsSid"))
        .ok_or_else(|| WebhookError::malformed("MessageSid", "missing"))?;
    if let Some(status) = get(params, "MessageStatus").filter(|_| is_status_callback(params)) {
        return Ok(match status {
            "delivered" => Event::Receipt(Receipt {
                provider_message_id: sid.to_owned(),
                delivered: true,
                reason: None,
            }),
            "undelivered" | "failed" => Event::Receipt(Receipt {
                provider_message_id: sid.to_owned(),
                delivered: false,
                reason: Some(match get(params, "ErrorCode") {
                    Some(code) => format!("{status}: error {code}"),
                    None => status.to_owned(),
                }),
            }),
            _ => Event::Ignored,
        });
    }
    let field = |name: &'static str| {
        get(params, name)
            .map(str::to_owned)
            .ok_or_else(|| WebhookError::malformed(name, "missing"))
    };
    Ok(Event::Inbound(InboundSms {
        provider_message_id: sid.to_owned(),
        from: field("From")?,
        to: field("To")?,
        body: field("Body")?,
        received_at: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example from Twilio's security documentation.
    #[test]
    fn matches_twilios_documented_example() {
        let p: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &p), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify("12345", url, &p, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).is_ok());
        assert_eq!(
            verify("wrong", url, &p, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("12345", url, &p, None),
            Err(WebhookError::MissingSignature("X-Twilio-Signature"))
        );
    }

    #[test]
    fn inbound_and_status_callbacks() {
        let inbound = params(b"MessageSid=SM1&From=%2B61400000001&To=%2B61400000002&Body=Stop");
        let Event::Inbound(m) = parse(&inbound).unwrap() else {
            panic!()
        };
        assert_eq!((m.from.as_str(), m.body.as_str()), ("+61400000001", "Stop"));
        let failed = params(b"MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003");
        assert_eq!(
            parse(&failed).unwrap(),
            Event::Receipt(Receipt {
                provider_message_id: "SM2".into(),
                delivered: false,
                reason: Some("undelivered: error 30003".into())
            })
        );
        assert_eq!(
            parse(&params(b"MessageSid=SM3&MessageStatus=sent")).unwrap(),
            Event::Ignored
        );
        // Our number is `To` of what a patient sends, `From` of what we sent.
        assert_eq!(our_number(&inbound), Ok("+61400000002"));
        let callback =
            params(b"MessageSid=SM4&MessageStatus=delivered&From=%2B61400000002&To=%2B61400000001");
        assert_eq!(our_number(&callback), Ok("+61400000002"));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let p = params(&body);
            let _ = parse(&p);
            let _ = our_number(&p);
            let _ = verify("t", "https://x/y", &p, Some("abc"));
        }
    }
}
