//! Alphanumeric SMS sender ids, as carriers accept them.

use crate::FieldError;

/// An SMS sender id: 2 to 11 ASCII letters and digits, not all digits (an all-digit id would be
/// taken for a phone number).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct SenderId(String);

impl SenderId {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        let bad = |m: &str| FieldError::new(field, "invalid_sender_id", format!("{field} {m}"));
        if !(2..=11).contains(&v.len()) {
            return Err(bad("must be 2 to 11 characters"));
        }
        if !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("may contain only letters A-Z and digits"));
        }
        if v.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("must contain at least one letter"));
        }
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SenderId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse("sms_sender_id", &s)
    }
}

impl From<SenderId> for String {
    fn from(s: SenderId) -> String {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rules() {
        assert!(SenderId::parse("s", "SmileDent").is_ok());
        assert!(SenderId::parse("s", "Clinic24").is_ok());
        assert!(SenderId::parse("s", "AB").is_ok());
        assert!(SenderId::parse("s", "A").is_err());
        assert!(SenderId::parse("s", "ABCDEFGHIJKL").is_err());
        assert!(SenderId::parse("s", "12345").is_err());
        assert!(SenderId::parse("s", "Smile Dent").is_err());
        assert!(SenderId::parse("s", "Dentés").is_err());
    }

    proptest! {
        #[test]
        fn accepted_ids_follow_the_rules(s in ".{0,16}") {
            if let Ok(id) = SenderId::parse("s", &s) {
                let v = id.as_str();
                prop_assert!((2..=11).contains(&v.len()));
                prop_assert!(v.chars().all(|c| c.is_ascii_alphanumeric()));
                prop_assert!(v.chars().any(|c| c.is_ascii_alphabetic()));
            }
        }
    }
}
