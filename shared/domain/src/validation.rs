//! The one error type of input validation: which field, what is wrong, in words for a person.

use std::fmt;

/// A rejected input value. `field` is the JSON name the client sent (e.g. `mobile`,
/// `receive_reminders.sms`), so the API can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// A value that must be present was missing or empty.
    pub fn required(field: &str) -> Self {
        Self::new(field, "required", format!("{field} is required"))
    }

    /// Prefixes the field with a parent name: `mobile` inside `contacts` becomes `contacts.mobile`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
