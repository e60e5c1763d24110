//! SES event publishing: what SES reports about an email (the JSON in the SNS `Message` of a
//! configuration set's SNS event destination).
//!
//! Each email is sent with the tags `clinic_id` and `message_id`, so an event names the
//! message it is about without a lookup.

use serde::Deserialize;
use std::collections::HashMap;

/// What happened to the email.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// A permanent bounce: the address does not take mail. Transient bounces are `Delayed`.
    Bounced {
        recipients: Vec<String>,
        reason: String,
    },
    /// The recipient marked it as spam.
    Complained {
        recipients: Vec<String>,
    },
    /// SES refused to send it (e.g. a virus).
    Rejected {
        reason: String,
    },
    /// Not delivered yet; SES keeps trying.
    Delayed {
        reason: String,
    },
    /// Events this service does not act on (send, open, click...).
    Other,
}

/// One SES event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub clinic_id: Option<String>,
    pub message_id: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an SES event: {0}")]
pub struct NotAnEvent(String);

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Raw {
    event_type: Option<String>,
    // Notifications (rather than event publishing) call it notificationType.
    notification_type: Option<String>,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    reject: Option<Reject>,
    delivery_delay: Option<Delay>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Mail {
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Reject {
    reason: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Delay {
    delay_type: Option<String>,
}

/// Reads one event.
pub fn parse(message: &str) -> Result<Event, NotAnEvent> {
    let raw: Raw = serde_json::from_str(message).map_err(|e| NotAnEvent(e.to_string()))?;
    let tag = |name: &str| raw.mail.tags.get(name).and_then(|v| v.first()).cloned();
    let kind = raw
        .event_type
        .as_deref()
        .or(raw.notification_type.as_deref())
        .unwrap_or_default();
    let outcome = match kind {
        "Delivery" => Outcome::Delivered,
        "Bounce" => {
            let b = raw
                .bounce
                .ok_or_else(|| NotAnEvent("a bounce without `bounce`".into()))?;
            let reason = b
                .bounced_recipients
                .iter()
                .find_map(|r| r.diagnostic_code.clone())
                .unwrap_or_else(|| {
                    format!(
                        "{} bounce{}",
                        b.bounce_type,
                        b.bounce_sub_type
                            .as_deref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    )
                });
            if b.bounce_type == "Permanent" {
                Outcome::Bounced {
                    recipients: b
                        .bounced_recipients
                        .into_iter()
                        .map(|r| r.email_address)
                        .collect(),
                    reason,
                }
            } else {
                Outcome::Delayed { reason }
            }
        }
        "Complaint" => Outcome::Complained {
            recipients: raw
                .complaint
                .map(|c| {
                    c.complained_recipients
                        .into_iter()
                        .map(|r| r.email_address)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "Reject" => Outcome::Rejected {
            reason: raw
                .reject
                .and_then(|r| r.reason)
                .unwrap_or_else(|| "rejected".into()),
        },
        "DeliveryDelay" => Outcome::Delayed {
            reason: raw
                .delivery_delay
                .and_then(|d| d.delay_type)
                .unwrap_or_else(|| "delayed".into()),
        },
        _ => Outcome::Other,
    };
    Ok(Event {
        clinic_id: tag("clinic_id"),
        message_id: tag("message_id"),
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounces_complaints_and_deliveries() {
        let bounce = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"a@x.example","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"messageId":"ses-1","tags":{"clinic_id":["c1"],"message_id":["m1"]}}}"#;
        let e = parse(bounce).unwrap();
        assert_eq!(
            (e.clinic_id.as_deref(), e.message_id.as_deref()),
            (Some("c1"), Some("m1"))
        );
        assert_eq!(
            e.outcome,
            Outcome::Bounced {
                recipients: vec!["a@x.example".into()],
                reason: "smtp; 550 5.1.1 user unknown".into()
            }
        );
        let soft = bounce.replace("Permanent", "Transient");
        assert!(matches!(
            parse(&soft).unwrap().outcome,
            Outcome::Delayed { .. }
        ));
        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"a@x.example"}]},"mail":{}}"#;
        assert_eq!(
            parse(complaint).unwrap().outcome,
            Outcome::Complained {
                recipients: vec!["a@x.example".into()]
            }
        );
        assert_eq!(
            parse(r#"{"eventType":"Open","mail":{}}"#).unwrap().outcome,
            Outcome::Other
        );
        assert!(parse("[]").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = parse(&s);
        }
    }
}
