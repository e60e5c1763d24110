//! A clinic's identity and sending settings.

use crate::phone::Country;
use crate::sender_id::SenderId;
use crate::template::Caps;
use crate::{FieldError, email, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A clinic's settings as a client sends them (create, or the merged result of a PATCH).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub country: Option<String>,
    pub sms_sender_id: Option<String>,
    pub email_sender: Option<String>,
    pub phone: Option<String>,
    pub placeholder_caps: Option<Caps>,
    pub max_sms_length: Option<usize>,
    pub opt_out_keywords: Option<Vec<String>>,
}

/// The longest SMS a clinic may allow: ten GSM-7 segments, the most SNS accepts.
pub const MAX_SMS_LENGTH_LIMIT: usize = 1530;
/// The longest value a placeholder cap may allow.
pub const MAX_PLACEHOLDER_CAP: usize = 160;

fn default_max_sms_length() -> usize {
    160
}

/// Validated clinic settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClinicFields {
    pub name: String,
    /// IANA time zone, e.g. `Australia/Sydney`: reminders and campaigns run in it. Parsed
    /// when the clinic is read: a stored zone that does not parse fails the read.
    #[schemars(with = "String")]
    pub time_zone: chrono_tz::Tz,
    /// ISO 3166 country whose national numbers patients' mobiles are read in.
    pub country: String,
    /// Checked when the clinic is written and again when it is read.
    pub sms_sender_id: SenderId,
    /// The address emails are sent from: inside one of the clinic's
    /// [`Clinic::email_identities`].
    pub email_sender: String,
    /// The clinic's phone number as patients should see it (`{{ clinic_phone }}`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Length caps of placeholder values, applied when rendering.
    #[serde(default)]
    pub placeholder_caps: Caps,
    /// The longest SMS the clinic sends, in characters (default 160: one segment). Longer
    /// messages are refused at send time and flagged in previews.
    #[serde(default = "default_max_sms_length")]
    pub max_sms_length: usize,
    /// Opt-out words the clinic honours besides [`crate::reply::DEFAULT_OPT_OUT`].
    #[serde(default)]
    pub opt_out_keywords: Vec<String>,
}

/// A stored clinic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Clinic {
    pub id: String,
    #[serde(flatten)]
    pub fields: ClinicFields,
    /// The numbers patients' replies arrive at (E.164), assigned by ops: each routes inbound
    /// SMS to this clinic alone. Read-only through the API.
    #[serde(default)]
    pub sms_reply_numbers: Vec<String>,
    /// The SES identities (domains or addresses) ops gave the clinic to send from. Read-only
    /// through the API; `email_sender` must be inside one of them.
    #[serde(default)]
    pub email_identities: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClinicFields {
    /// The clinic's default country; stored values were validated, so this only fails on a
    /// corrupted record.
    pub fn default_country(&self) -> Result<Country, FieldError> {
        Country::parse("country", &self.country)
    }
}

/// The identity among `identities` that covers `address`: the address itself, or its
/// domain (SES: a verified domain covers its addresses, not its subdomains' addresses).
pub fn sending_identity<'a>(identities: &'a [String], address: &str) -> Option<&'a str> {
    let address = address.to_ascii_lowercase();
    let domain = address.rsplit_once('@').map(|(_, d)| d)?;
    identities
        .iter()
        .find(|i| **i == address || i.as_str() == domain)
        .map(String::as_str)
}

/// Reads an SES identity ops assign: an email address, or a domain name (lower case).
pub fn parse_identity(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.contains('@') {
        return email::normalise(field, v).map(|a| a.to_ascii_lowercase());
    }
    let d = v.to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if d.len() <= 253 && d.contains('.') && d.split('.').all(label_ok) {
        Ok(d)
    } else {
        Err(FieldError::new(
            field,
            "invalid_identity",
            format!("{field} must be a domain such as harbour.example or an email address"),
        ))
    }
}

impl ClinicInput {
    pub fn validate(self) -> Result<ClinicFields, FieldError> {
        let name = text::required("name", self.name.as_deref().unwrap_or(""), 120)?;
        let tz = self.time_zone.as_deref().map(str::trim).unwrap_or("");
        if tz.is_empty() {
            return Err(FieldError::required("time_zone"));
        }
        let time_zone = tz.parse::<chrono_tz::Tz>().map_err(|_| {
            FieldError::new(
                "time_zone",
                "invalid",
                "time_zone must be an IANA time zone such as Australia/Sydney",
            )
        })?;
        let country = Country::parse("country", self.country.as_deref().unwrap_or(""))?
            .code()
            .to_owned();
        let sender = self
            .sms_sender_id
            .ok_or_else(|| FieldError::required("sms_sender_id"))?;
        let sms_sender_id = SenderId::parse("sms_sender_id", &sender)?;
        let email_sender =
            email::normalise("email_sender", self.email_sender.as_deref().unwrap_or(""))?;
        let phone = text::optional("phone", self.phone.as_deref(), 20)?;
        if let Some(p) = &phone
            && !p.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c))
        {
            return Err(FieldError::new(
                "phone",
                "invalid",
                "phone may hold digits, spaces, +, ( ) and - only",
            ));
        }
        let placeholder_caps = self.placeholder_caps.unwrap_or_default();
        for (name, value) in [
            ("patient_name", placeholder_caps.patient_name),
            ("date_time", placeholder_caps.date_time),
            ("practitioner", placeholder_caps.practitioner),
            ("location", placeholder_caps.location),
        ] {
            if !(1..=MAX_PLACEHOLDER_CAP).contains(&value) {
                return Err(FieldError::new(
                    format!("placeholder_caps.{name}"),
                    "out_of_range",
                    format!("placeholder_caps.{name} must be from 1 to {MAX_PLACEHOLDER_CAP}"),
                ));
            }
        }
        let max_sms_length = self.max_sms_length.unwrap_or_else(default_max_sms_length);
        if !(1..=MAX_SMS_LENGTH_LIMIT).contains(&max_sms_length) {
            return Err(FieldError::new(
                "max_sms_length",
                "out_of_range",
                format!("max_sms_length must be from 1 to {MAX_SMS_LENGTH_LIMIT}"),
            ));
        }
        let opt_out_keywords =
            crate::reply::validate_keywords(&self.opt_out_keywords.unwrap_or_default())?;
        Ok(ClinicFields {
            name,
            time_zone,
            country,
            sms_sender_id,
            email_sender,
            phone,
            placeholder_caps,
            max_sms_length,
            opt_out_keywords,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClinicInput {
        ClinicInput {
            name: Some(" Harbour Dental ".into()),
            time_zone: Some("Australia/Sydney".into()),
            country: Some("AU".into()),
            sms_sender_id: Some("HarbourDent".into()),
            email_sender: Some("hello@harbour.example".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_sender_is_inside_an_identity_or_not_at_all() {
        let ids = vec![
            "harbour.example".to_owned(),
            "maya@clinic.example".to_owned(),
        ];
        assert_eq!(
            sending_identity(&ids, "hello@Harbour.example"),
            Some("harbour.example")
        );
        assert_eq!(
            sending_identity(&ids, "maya@clinic.example"),
            Some("maya@clinic.example")
        );
        assert_eq!(sending_identity(&ids, "other@clinic.example"), None);
        assert_eq!(sending_identity(&ids, "hello@mail.harbour.example"), None);
        assert_eq!(sending_identity(&ids, "hello@evilharbour.example"), None);
        assert_eq!(sending_identity(&[], "hello@harbour.example"), None);
        assert_eq!(
            parse_identity("identity", " Harbour.Example ").unwrap(),
            "harbour.example"
        );
        assert_eq!(
            parse_identity("identity", "Hello@harbour.example").unwrap(),
            "hello@harbour.example"
        );
        for bad in [
            "",
            "localhost",
            "-a.example",
            "a..example",
            "a b.example",
            "x@y",
        ] {
            assert!(parse_identity("identity", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stored_time_zone_is_parsed_when_read_and_an_unknown_one_is_an_error() {
        let stored = |tz: &str| {
            serde_json::json!({"name": "H", "time_zone": tz, "country": "AU",
                "sms_sender_id": "Harbour", "email_sender": "a@harbour.example"})
        };
        let f: ClinicFields = serde_json::from_value(stored("Australia/Perth")).unwrap();
        assert_eq!(f.time_zone, chrono_tz::Australia::Perth);
        // Not UTC in its place: reminders would go out at the wrong hour.
        assert!(serde_json::from_value::<ClinicFields>(stored("Mars/Olympus_Mons")).is_err());
    }

    #[test]
    fn valid_clinic() {
        let c = input().validate().unwrap();
        assert_eq!(c.name, "Harbour Dental");
        assert_eq!(c.max_sms_length, 160);
        assert_eq!(c.placeholder_caps, Caps::default());
        assert_eq!(c.time_zone, chrono_tz::Australia::Sydney);
    }

    #[test]
    fn each_invalid_field_is_named() {
        type Mutation = fn(&mut ClinicInput);
        let cases: [(Mutation, &str); 8] = [
            (|i| i.phone = Some("call us".into()), "phone"),
            (|i| i.max_sms_length = Some(0), "max_sms_length"),
            (
                |i| {
                    i.placeholder_caps = Some(Caps {
                        location: 0,
                        ..Caps::default()
                    })
                },
                "placeholder_caps.location",
            ),
            (|i| i.name = None, "name"),
            (|i| i.time_zone = Some("Mars/Olympus".into()), "time_zone"),
            (|i| i.country = Some("ZZ".into()), "country"),
            (|i| i.sms_sender_id = Some("123".into()), "sms_sender_id"),
            (|i| i.email_sender = Some("nope".into()), "email_sender"),
        ];
        for (mutate, field) in cases {
            let mut i = input();
            mutate(&mut i);
            assert_eq!(i.validate().unwrap_err().field, field);
        }
    }
}
