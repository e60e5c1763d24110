//! A patient's contacts: people (possibly patients themselves) who receive copies of messages.

use crate::phone::{Country, optional_mobile};
use crate::{FieldError, email, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most contacts one patient may have.
pub const MAX_CONTACTS_PER_PATIENT: u32 = 20;

/// A contact as a client sends it.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    pub relationship: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub receive_reminders_and_campaigns: Option<bool>,
    /// Set when the contact is another patient of the clinic; their own details are then used
    /// wherever this contact has none.
    pub contact_patient_id: Option<String>,
}

/// A validated contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactFields {
    pub name: Option<String>,
    pub relationship: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub receive_reminders_and_campaigns: bool,
    pub contact_patient_id: Option<String>,
}

/// A stored contact as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contact {
    pub id: String,
    pub patient_id: String,
    #[serde(flatten)]
    pub fields: ContactFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who last changed its consent (`receive_*`) and when: the key that made or changed it,
    /// the unsubscribe link, or the email provider's complaint report.
    #[serde(default)]
    pub consent_changed_by: Option<crate::actor::Actor>,
    #[serde(default)]
    pub consent_changed_at: Option<DateTime<Utc>>,
}

impl ContactInput {
    pub fn validate(self, country: Country) -> Result<ContactFields, FieldError> {
        let contact_patient_id =
            text::optional("contact_patient_id", self.contact_patient_id.as_deref(), 64)?;
        let name = text::optional("name", self.name.as_deref(), 120)?;
        let relationship = text::required(
            "relationship",
            self.relationship.as_deref().unwrap_or(""),
            50,
        )?;
        let mobile = optional_mobile("mobile", self.mobile.as_deref(), country)?;
        let email = email::optional("email", self.email.as_deref())?;
        if contact_patient_id.is_none() {
            if name.is_none() {
                return Err(FieldError::new(
                    "name",
                    "required",
                    "name is required unless contact_patient_id is given",
                ));
            }
            if mobile.is_none() && email.is_none() {
                return Err(FieldError::new(
                    "mobile",
                    "required",
                    "a contact needs a mobile or an email unless contact_patient_id is given",
                ));
            }
        }
        Ok(ContactFields {
            name,
            relationship,
            mobile,
            email,
            receive_reminders_and_campaigns: self.receive_reminders_and_campaigns.unwrap_or(true),
            contact_patient_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au() -> Country {
        Country::parse("country", "AU").unwrap()
    }

    #[test]
    fn needs_a_way_to_reach_unless_linked() {
        let base = || ContactInput {
            name: Some("Bo".into()),
            relationship: Some("mother".into()),
            ..Default::default()
        };
        assert_eq!(base().validate(au()).unwrap_err().field, "mobile");
        let linked = ContactInput {
            contact_patient_id: Some("p1".into()),
            name: None,
            ..base()
        };
        assert!(linked.validate(au()).is_ok());
        let ok = ContactInput {
            email: Some("bo@example.com".into()),
            ..base()
        }
        .validate(au())
        .unwrap();
        assert!(ok.receive_reminders_and_campaigns);
        let no_rel = ContactInput {
            relationship: None,
            ..base()
        };
        assert_eq!(no_rel.validate(au()).unwrap_err().field, "relationship");
    }
}
