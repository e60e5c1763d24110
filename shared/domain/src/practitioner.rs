//! Practitioners: who a patient sees, and in whose name email is sent.

use crate::{FieldError, email, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A practitioner as a client sends it.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PractitionerInput {
    pub name: Option<String>,
    pub email_sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub active: Option<bool>,
}

/// A validated practitioner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PractitionerFields {
    pub name: String,
    /// The display name on email sent on the practitioner's behalf (defaults to `name` when sending).
    pub email_sender_name: Option<String>,
    /// Where patients' email replies go when sent on the practitioner's behalf.
    pub reply_to: Option<String>,
    pub active: bool,
}

/// A stored practitioner as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Practitioner {
    pub id: String,
    #[serde(flatten)]
    pub fields: PractitionerFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Practitioner {
    /// The display name of email sent on the practitioner's behalf: theirs, or their name.
    pub fn sender_name(&self) -> String {
        self.fields
            .email_sender_name
            .clone()
            .unwrap_or_else(|| self.fields.name.clone())
    }
}

impl PractitionerInput {
    pub fn validate(self) -> Result<PractitionerFields, FieldError> {
        Ok(PractitionerFields {
            name: text::required("name", self.name.as_deref().unwrap_or(""), 120)?,
            email_sender_name: text::optional(
                "email_sender_name",
                self.email_sender_name.as_deref(),
                120,
            )?,
            reply_to: email::optional("reply_to", self.reply_to.as_deref())?,
            active: self.active.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let p = PractitionerInput {
            name: Some("Dr Lee".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert!(p.active && p.reply_to.is_none());
        assert_eq!(
            PractitionerInput::default().validate().unwrap_err().field,
            "name"
        );
        let bad = PractitionerInput {
            name: Some("x".into()),
            reply_to: Some("x@".into()),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "reply_to");
    }
}
