//! Patients: who the clinic messages, and how they agreed to be reached.

use crate::phone::{Country, optional_mobile};
use crate::{FieldError, email, text};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Other,
    Unknown,
}

/// What the record is: a patient, a dependant (a child, say, whose messages go to contacts), or
/// a contact-only person who is messaged but not treated.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProfileType {
    #[default]
    Patient,
    Dependant,
    ContactOnly,
}

/// Consent per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPrefs {
    pub sms: bool,
    pub email: bool,
}

impl Default for ChannelPrefs {
    fn default() -> Self {
        Self {
            sms: true,
            email: true,
        }
    }
}

/// Consent per channel as a client sends it: a missing channel means yes.
#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPrefsInput {
    pub sms: Option<bool>,
    pub email: Option<bool>,
}

impl From<ChannelPrefsInput> for ChannelPrefs {
    fn from(i: ChannelPrefsInput) -> Self {
        Self {
            sms: i.sms.unwrap_or(true),
            email: i.email.unwrap_or(true),
        }
    }
}

/// A patient as a client sends it (create, or the merged result of a PATCH).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub profile_type: Option<ProfileType>,
    pub external_id: Option<String>,
    pub practitioner_id: Option<String>,
    pub receive_reminders: Option<ChannelPrefsInput>,
    pub receive_campaigns: Option<ChannelPrefsInput>,
}

/// A validated patient. Serialises to the same names [`PatientInput`] reads, so a stored
/// patient merged with a PATCH body validates like a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PatientFields {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// E.164.
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub profile_type: ProfileType,
    /// The id of the patient in the clinic's practice software; unique within the clinic.
    pub external_id: Option<String>,
    pub practitioner_id: Option<String>,
    pub receive_reminders: ChannelPrefs,
    pub receive_campaigns: ChannelPrefs,
}

/// A stored patient as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Patient {
    pub id: String,
    #[serde(flatten)]
    pub fields: PatientFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who last changed its consent (`receive_*`) and when: the key that made or changed it,
    /// the unsubscribe link, or the email provider's complaint report.
    #[serde(default)]
    pub consent_changed_by: Option<crate::actor::Actor>,
    #[serde(default)]
    pub consent_changed_at: Option<DateTime<Utc>>,
}

impl PatientInput {
    /// Validates every field; `today` (the clinic's date) bounds the date of birth.
    pub fn validate(self, country: Country, today: NaiveDate) -> Result<PatientFields, FieldError> {
        let first_name =
            text::required("first_name", self.first_name.as_deref().unwrap_or(""), 100)?;
        let last_name = text::required("last_name", self.last_name.as_deref().unwrap_or(""), 100)?;
        if let Some(dob) = self.date_of_birth {
            let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
            if dob > today || dob < earliest {
                return Err(FieldError::new(
                    "date_of_birth",
                    "out_of_range",
                    "date_of_birth must be between 1900-01-01 and today",
                ));
            }
        }
        let mobile = optional_mobile("mobile", self.mobile.as_deref(), country)?;
        let email = email::optional("email", self.email.as_deref())?;
        let external_id = text::optional("external_id", self.external_id.as_deref(), 64)?;
        let practitioner_id =
            text::optional("practitioner_id", self.practitioner_id.as_deref(), 64)?;
        Ok(PatientFields {
            first_name,
            last_name,
            date_of_birth: self.date_of_birth,
            gender: self.gender,
            mobile,
            email,
            profile_type: self.profile_type.unwrap_or_default(),
            external_id,
            practitioner_id,
            receive_reminders: self.receive_reminders.unwrap_or_default().into(),
            receive_campaigns: self.receive_campaigns.unwrap_or_default().into(),
        })
    }
}

impl PatientFields {
    /// Lower-case "first last", the form the `q` filter searches.
    pub fn search_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).to_lowercase()
    }
}

/// Filters of the patient list and export.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PatientFilter {
    /// Lower-cased fragment of the full name.
    pub q: Option<String>,
    pub gender: Option<Gender>,
    pub birth_month: Option<u32>,
    pub practitioner_id: Option<String>,
}

impl PatientFilter {
    /// Builds a filter from query-string values, naming the parameter that is wrong.
    pub fn parse(
        q: Option<&str>,
        gender: Option<&str>,
        birth_month: Option<&str>,
        practitioner_id: Option<&str>,
    ) -> Result<Self, FieldError> {
        let q = text::optional("q", q, 100)?.map(|s| s.to_lowercase());
        let gender = gender
            .map(|g| {
                serde_plain_enum::<Gender>(g).ok_or_else(|| {
                    FieldError::new(
                        "gender",
                        "invalid",
                        "gender must be one of female, male, other, unknown",
                    )
                })
            })
            .transpose()?;
        let birth_month = birth_month
            .map(|m| {
                m.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(|| {
                        FieldError::new(
                            "birth_month",
                            "invalid",
                            "birth_month must be a number from 1 to 12",
                        )
                    })
            })
            .transpose()?;
        let practitioner_id = text::optional("practitioner_id", practitioner_id, 64)?;
        Ok(Self {
            q,
            gender,
            birth_month,
            practitioner_id,
        })
    }

    /// Whether a patient passes the filter.
    pub fn matches(&self, p: &PatientFields) -> bool {
        self.q
            .as_ref()
            .is_none_or(|q| p.search_name().contains(q.as_str()))
            && self.gender.is_none_or(|g| p.gender == Some(g))
            && self.birth_month.is_none_or(|m| {
                p.date_of_birth
                    .is_some_and(|d| chrono::Datelike::month(&d) == m)
            })
            && self
                .practitioner_id
                .as_ref()
                .is_none_or(|id| p.practitioner_id.as_ref() == Some(id))
    }
}

/// Reads a query-string value as a snake_case enum.
pub(crate) fn serde_plain_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s.trim())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au() -> Country {
        Country::parse("country", "AU").unwrap()
    }
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }
    fn ann() -> PatientInput {
        PatientInput {
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_patient_with_full_consent() {
        let p = ann().validate(au(), today()).unwrap();
        assert_eq!(p.profile_type, ProfileType::Patient);
        assert_eq!(
            p.receive_reminders,
            ChannelPrefs {
                sms: true,
                email: true
            }
        );
        assert_eq!(p.search_name(), "ann lee");
    }

    #[test]
    fn normalises_mobile_and_checks_dates() {
        let mut i = ann();
        i.mobile = Some("0412 345 678".into());
        i.date_of_birth = NaiveDate::from_ymd_opt(1980, 2, 29);
        let p = i.validate(au(), today()).unwrap();
        assert_eq!(p.mobile.as_deref(), Some("+61412345678"));

        let mut future = ann();
        future.date_of_birth = NaiveDate::from_ymd_opt(2027, 1, 1);
        assert_eq!(
            future.validate(au(), today()).unwrap_err().field,
            "date_of_birth"
        );
    }

    #[test]
    fn filter_matches() {
        let mut i = ann();
        i.gender = Some(Gender::Female);
        i.date_of_birth = NaiveDate::from_ymd_opt(1990, 3, 5);
        let p = i.validate(au(), today()).unwrap();
        let f = PatientFilter::parse(Some("N LE"), Some("female"), Some("3"), None).unwrap();
        assert!(f.matches(&p));
        assert!(
            !PatientFilter::parse(None, Some("male"), None, None)
                .unwrap()
                .matches(&p)
        );
        assert!(
            !PatientFilter::parse(None, None, Some("4"), None)
                .unwrap()
                .matches(&p)
        );
        assert_eq!(
            PatientFilter::parse(None, Some("f"), None, None)
                .unwrap_err()
                .field,
            "gender"
        );
        assert_eq!(
            PatientFilter::parse(None, None, Some("13"), None)
                .unwrap_err()
                .field,
            "birth_month"
        );
    }
}
