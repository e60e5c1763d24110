//! Who caused a message or a change of consent: a key of the clinic, one of the service's
//! schedules, or someone on the other side of a webhook or a link. Stored with what it caused
//! and shown in the API as `sent_by` (messages) and `consent_changed_by` (patients, contacts).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A key of the clinic (its id, as `GET /keys` lists it; never the key).
    ApiKey { key_id: String },
    /// The reminder schedule: an appointment came into the clinic's reminder window.
    Reminders,
    /// The greeting schedule: a birthday.
    Greetings,
    /// A provider's post: an answer to a patient's STOP, START or HELP (`sms`), or an email
    /// provider's report that the recipient marked an email as spam (`email`).
    Webhook { source: WebhookSource },
    /// The person, through the unsubscribe link of an email.
    UnsubscribeLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookSource {
    Sms,
    Email,
}

impl Actor {
    pub fn key(key_id: &str) -> Self {
        Self::ApiKey {
            key_id: key_id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actors_read_as_integrators_see_them() {
        let cases = [
            (Actor::key("k1"), json!({"type": "api_key", "key_id": "k1"})),
            (Actor::Reminders, json!({"type": "reminders"})),
            (
                Actor::Webhook {
                    source: WebhookSource::Sms,
                },
                json!({"type": "webhook", "source": "sms"}),
            ),
            (Actor::UnsubscribeLink, json!({"type": "unsubscribe_link"})),
        ];
        for (actor, shown) in cases {
            assert_eq!(serde_json::to_value(&actor).unwrap(), shown);
            assert_eq!(serde_json::from_value::<Actor>(shown).unwrap(), actor);
        }
    }
}
