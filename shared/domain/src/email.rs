//! Email addresses, checked with the `email_address` crate (RFC 5321/5322 syntax).

use crate::FieldError;
use email_address::EmailAddress;
use std::str::FromStr;

/// Validates an address and returns it trimmed, with the domain lower-cased.
pub fn normalise(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::required(field));
    }
    let addr = EmailAddress::from_str(v)
        .ok()
        .filter(|a| v.len() <= 254 && a.domain().contains('.') && !v.contains(['<', '>', ' ']))
        .ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_email",
                format!("{field} is not a valid email address"),
            )
        })?;
    Ok(format!(
        "{}@{}",
        addr.local_part(),
        addr.domain().to_ascii_lowercase()
    ))
}

/// [`normalise`] for an optional field: absent or blank means no address.
pub fn optional(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => normalise(field, v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_and_invalid() {
        assert_eq!(
            normalise("email", " Ann.Lee@Example.COM ").unwrap(),
            "Ann.Lee@example.com"
        );
        assert_eq!(normalise("email", "a@b").unwrap_err().code, "invalid_email");
        assert_eq!(
            normalise("email", "not an email").unwrap_err().code,
            "invalid_email"
        );
        assert_eq!(
            normalise("email", "Ann <ann@example.com>")
                .unwrap_err()
                .code,
            "invalid_email"
        );
        assert_eq!(normalise("email", "").unwrap_err().code, "required");
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(s in ".{0,60}") {
            if let Ok(e) = normalise("email", &s) {
                prop_assert_eq!(normalise("email", &e).unwrap(), e);
            }
        }
    }
}
