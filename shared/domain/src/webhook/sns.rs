//! AWS two-way SMS and SMS delivery events, delivered through an SNS HTTPS subscription.
//!
//! SNS signs each post with the private key of a certificate it publishes at
//! `SigningCertURL`. The certificate is trusted only from the configured SNS host (by default
//! `https://sns.<region>.amazonaws.com/`); the caller fetches it and hands it here.

use super::{Event, InboundSms, Receipt, WebhookError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

/// The SNS envelope of every post.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    /// Empty when absent: a missing signature is refused as such (401), not as a bad body.
    #[serde(default)]
    pub signature_version: String,
    #[serde(default)]
    pub signature: String,
    #[serde(rename = "SigningCertURL", default)]
    pub signing_cert_url: String,
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    pub token: Option<String>,
}

/// What an SNS post asks of the webhook, once verified.
#[derive(Debug, Clone, PartialEq)]
pub enum Post {
    /// Confirm the subscription by visiting this URL (already checked to be on the SNS host).
    Confirm {
        subscribe_url: String,
    },
    Notification(Event),
    /// An `UnsubscribeConfirmation`: nothing to do.
    Unsubscribed,
}

/// Reads the envelope (before verification).
pub fn envelope(body: &[u8]) -> Result<Envelope, WebhookError> {
    serde_json::from_slice(body)
        .map_err(|e| WebhookError::malformed("body", format!("not an SNS message: {e}")))
}

/// When SNS sent the post (its `Timestamp`, ISO 8601 in UTC).
pub fn sent_at(e: &Envelope) -> Result<DateTime<Utc>, WebhookError> {
    DateTime::parse_from_rfc3339(e.timestamp.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| WebhookError::malformed("Timestamp", "not an ISO 8601 time"))
}

/// Whether the post comes from a topic the deployment names (exact ARNs). Any AWS account can
/// create a topic, subscribe our URL and sign posts with SNS's own key, so a valid signature
/// says nothing about whose topic it is.
pub fn topic_allowed(e: &Envelope, allowed: &[String]) -> bool {
    allowed.contains(&e.topic_arn)
}

/// Whether `url` may be fetched: an https `.pem` (or, for a subscription, any path) under
/// `allowed_prefix`, e.g. `https://sns.ap-southeast-2.amazonaws.com/`.
pub fn url_allowed(url: &str, allowed_prefix: &str) -> bool {
    let Some(rest) = url.strip_prefix(allowed_prefix) else {
        return false;
    };
    allowed_prefix.ends_with('/')
        && !rest.contains("..")
        && !rest.contains('@')
        && !rest.contains('\\')
}

/// The text SNS signs: named fields in a fixed order, each as `Name\nvalue\n`.
pub fn string_to_sign(e: &Envelope) -> Result<String, WebhookError> {
    let mut out = String::new();
    let mut add = |name: &str, value: &str| {
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    };
    match e.kind.as_str() {
        "Notification" => {
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            if let Some(s) = &e.subject {
                add("Subject", s);
            }
            add("Timestamp", &e.timestamp);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let url = e
                .subscribe_url
                .as_deref()
                .ok_or_else(|| WebhookError::malformed("SubscribeURL", "missing"))?;
            let token = e
                .token
                .as_deref()
                .ok_or_else(|| WebhookError::malformed("Token", "missing"))?;
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            add("SubscribeURL", url);
            add("Timestamp", &e.timestamp);
            add("Token", token);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        other => {
            return Err(WebhookError::malformed(
                "Type",
                format!("unknown SNS message type '{other}'"),
            ));
        }
    }
    Ok(out)
}

/// Verifies the envelope's signature with the certificate fetched from its
/// `SigningCertURL` (PEM).
pub fn verify(e: &Envelope, cert_pem: &[u8]) -> Result<(), WebhookError> {
    if e.signature.trim().is_empty() {
        return Err(WebhookError::MissingSignature("Signature"));
    }
    let text = string_to_sign(e)?;
    let key = public_key(cert_pem).ok_or(WebhookError::BadSignature)?;
    let sig = STANDARD
        .decode(e.signature.trim())
        .ok()
        .and_then(|b| Signature::try_from(b.as_slice()).ok())
        .ok_or(WebhookError::BadSignature)?;
    let ok = match e.signature_version.as_str() {
        "1" => VerifyingKey::<sha1::Sha1>::new(key)
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        "2" => VerifyingKey::<sha2::Sha256>::new(key)
            .verify(text.as_bytes(), &sig)
            .is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

fn public_key(cert_pem: &[u8]) -> Option<RsaPublicKey> {
    let cert = Certificate::from_pem(cert_pem).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    RsaPublicKey::from_public_key_der(&spki).ok()
}

/// What a verified envelope asks for; `allowed_prefix` also bounds the subscribe URL.
pub fn read(e: &Envelope, allowed_prefix: &str) -> Result<Post, WebhookError> {
    match e.kind.as_str() {
        "SubscriptionConfirmation" => {
            let url = e.subscribe_url.clone().unwrap_or_default();
            if !url_allowed(&url, allowed_prefix) {
                return Err(WebhookError::malformed(
                    "SubscribeURL",
                    "not on the SNS host of this region",
                ));
            }
            Ok(Post::Confirm { subscribe_url: url })
        }
        "UnsubscribeConfirmation" => Ok(Post::Unsubscribed),
        _ => Ok(Post::Notification(match message(&e.message)? {
            Event::Inbound(sms) => Event::Inbound(InboundSms {
                received_at: Some(sent_at(e)?),
                ..sms
            }),
            other => other,
        })),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Payload {
    // Two-way SMS.
    origination_number: Option<String>,
    destination_number: Option<String>,
    message_body: Option<String>,
    inbound_message_id: Option<String>,
    // Delivery events.
    message_id: Option<String>,
    message_status: Option<String>,
    message_status_description: Option<String>,
}

/// Reads the SNS `Message`: an inbound SMS or a delivery event.
pub fn message(text: &str) -> Result<Event, WebhookError> {
    let p: Payload = serde_json::from_str(text)
        .map_err(|e| WebhookError::malformed("Message", format!("not an SMS payload: {e}")))?;
    if let Some(id) = p.inbound_message_id {
        let need = |v: Option<String>, field: &'static str| {
            v.ok_or_else(|| WebhookError::malformed(field, "missing"))
        };
        return Ok(Event::Inbound(InboundSms {
            provider_message_id: id,
            from: need(p.origination_number, "originationNumber")?,
            to: need(p.destination_number, "destinationNumber")?,
            body: need(p.message_body, "messageBody")?,
            received_at: None,
        }));
    }
    let (Some(id), Some(status)) = (p.message_id, p.message_status) else {
        return Err(WebhookError::malformed(
            "Message",
            "neither an inbound message nor a delivery event",
        ));
    };
    Ok(match status.as_str() {
        "DELIVERED" => Event::Receipt(Receipt {
            provider_message_id: id,
            delivered: true,
            reason: None,
        }),
        "QUEUED" | "PENDING" | "SUCCESSFUL" | "ACCEPTED" | "SENT" => Event::Ignored,
        _ => Event::Receipt(Receipt {
            provider_message_id: id,
            delivered: false,
            reason: Some(match p.message_status_description {
                Some(d) => format!("{status}: {d}"),
                None => status,
            }),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_urls_under_the_prefix_are_fetched() {
        let p = "https://sns.ap-southeast-2.amazonaws.com/";
        assert!(url_allowed(
            "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-abc.pem",
            p
        ));
        assert!(!url_allowed(
            "https://sns.ap-southeast-2.amazonaws.com.evil.io/x.pem",
            p
        ));
        assert!(!url_allowed(
            "http://sns.ap-southeast-2.amazonaws.com/x.pem",
            p
        ));
        assert!(!url_allowed(
            "https://sns.ap-southeast-2.amazonaws.com/../x.pem",
            p
        ));
        assert!(!url_allowed("https://evil.io/x.pem", p));
    }

    #[test]
    fn inbound_and_delivery_payloads() {
        let inbound = r#"{"originationNumber":"+61400000001","destinationNumber":"+61400000002","messageKeyword":"KEYWORD","messageBody":"STOP","inboundMessageId":"in-1","previousPublishedMessageId":"p"}"#;
        let Event::Inbound(m) = message(inbound).unwrap() else {
            panic!()
        };
        assert_eq!((m.from.as_str(), m.body.as_str()), ("+61400000001", "STOP"));
        let failed = r#"{"eventType":"TEXT_CARRIER_UNREACHABLE","messageId":"m-1","messageStatus":"CARRIER_UNREACHABLE","messageStatusDescription":"Carrier unreachable"}"#;
        assert_eq!(
            message(failed).unwrap(),
            Event::Receipt(Receipt {
                provider_message_id: "m-1".into(),
                delivered: false,
                reason: Some("CARRIER_UNREACHABLE: Carrier unreachable".into()),
            })
        );
        assert!(message("{}").is_err());
    }

    /// An envelope signed with the test key whose certificate is in `tests/fixtures/sns`.
    pub(crate) fn signed(kind: &str, message: &str, version: &str) -> Envelope {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!(
            "../../../../tests/fixtures/sns/test-signing-key.pem"
        ))
        .unwrap();
        let mut e = Envelope {
            kind: kind.into(),
            message_id: "0a1b".into(),
            topic_arn: "arn:aws:sns:ap-southeast-2:123456789012:sms".into(),
            subject: None,
            message: message.into(),
            timestamp: "2026-11-24T00:00:00.000Z".into(),
            signature_version: version.into(),
            signature: String::new(),
            signing_cert_url: "https://sns.ap-southeast-2.amazonaws.com/x.pem".into(),
            subscribe_url: (kind != "Notification").then(|| {
                "https://sns.ap-southeast-2.amazonaws.com/?Action=ConfirmSubscription".into()
            }),
            token: (kind != "Notification").then(|| "tok".into()),
        };
        let text = string_to_sign(&e).unwrap();
        let sig = match version {
            "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
            _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                .sign(text.as_bytes())
                .to_vec(),
        };
        e.signature = STANDARD.encode(sig);
        e
    }

    const CERT: &[u8] =
        include_bytes!("../../../../tests/fixtures/sns/SimpleNotificationService-test.pem");

    #[test]
    fn signatures_of_both_versions_verify_and_tampering_fails() {
        for v in ["1", "2"] {
            let e = signed(
                "Notification",
                r#"{"messageId":"m","messageStatus":"DELIVERED"}"#,
                v,
            );
            assert_eq!(verify(&e, CERT), Ok(()));
            let mut tampered = e.clone();
            tampered.message = r#"{"messageId":"m","messageStatus":"FAILED"}"#.into();
            assert_eq!(verify(&tampered, CERT), Err(WebhookError::BadSignature));
            let mut other_version = e.clone();
            other_version.signature_version = "3".into();
            assert_eq!(
                verify(&other_version, CERT),
                Err(WebhookError::BadSignature)
            );
            assert_eq!(
                verify(
                    &e,
                    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                ),
                Err(WebhookError::BadSignature)
            );
        }
        let c = signed("SubscriptionConfirmation", "join", "1");
        assert_eq!(verify(&c, CERT), Ok(()));
        assert_eq!(
            read(&c, "https://sns.ap-southeast-2.amazonaws.com/").unwrap(),
            Post::Confirm {
                subscribe_url:
                    "https://sns.ap-southeast-2.amazonaws.com/?Action=ConfirmSubscription".into()
            }
        );
        assert!(read(&c, "https://sns.us-east-1.amazonaws.com/").is_err());
    }

    #[test]
    fn only_named_topics_and_readable_timestamps_pass() {
        let e = signed("Notification", "{}", "1");
        assert!(topic_allowed(&e, std::slice::from_ref(&e.topic_arn)));
        assert!(!topic_allowed(&e, &[]));
        assert!(!topic_allowed(
            &e,
            &["arn:aws:sns:ap-southeast-2:999999999999:sms".into()]
        ));
        assert_eq!(
            sent_at(&e).unwrap().to_rfc3339(),
            "2026-11-24T00:00:00+00:00"
        );
        let mut bad = e.clone();
        bad.timestamp = "yesterday".into();
        assert!(matches!(
            sent_at(&bad),
            Err(WebhookError::Malformed {
                field: "Timestamp",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(e) = envelope(&body) {
                let _ = string_to_sign(&e);
                let _ = verify(&e, b"not a certificate");
                let _ = read(&e, "https://sns.x.amazonaws.com/");
            }
            let _ = message(&String::from_utf8_lossy(&body));
        }
    }
}
