//! Free-text fields (names, relationships, labels): trimmed, bounded, printable.

use crate::FieldError;

/// Trims `value` and checks it is 1..=`max` characters with no control characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::required(field));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Like [`required`], but an empty or whitespace-only value means "none".
pub fn optional(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(required("name", "  Ann  ", 10).unwrap(), "Ann");
        assert_eq!(required("name", "   ", 10).unwrap_err().code, "required");
        assert_eq!(
            required("name", "abcdefghijk", 10).unwrap_err().code,
            "too_long"
        );
        assert_eq!(required("name", "a\u{0}b", 10).unwrap_err().code, "invalid");
        assert_eq!(optional("name", Some("  "), 10).unwrap(), None);
    }

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_printable(s in any::<String>()) {
            if let Ok(v) = required("f", &s, 40) {
                prop_assert_eq!(v.trim(), v.as_str());
                prop_assert!(!v.is_empty() && v.chars().count() <= 40);
                prop_assert!(!v.chars().any(char::is_control));
            }
        }
    }
}
