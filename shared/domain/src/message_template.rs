//! Saved message templates: what a clinic writes once and sends many times.

use crate::template::{Format, Template};
use crate::{FieldError, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// What a message is about; consent and the SMS type follow from it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Appointment,
    Recall,
    Marketing,
    Greeting,
    #[default]
    General,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Appointment => "appointment",
            Category::Recall => "recall",
            Category::Marketing => "marketing",
            Category::Greeting => "greeting",
            Category::General => "general",
        }
    }

    /// Parses a query-string value, naming `field` when it is not a category.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        crate::patient::serde_plain_enum(value).ok_or_else(|| {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be one of appointment, recall, marketing, greeting, general"),
            )
        })
    }

    /// Whether SNS should send it as a transactional SMS (appointment and practice messages)
    /// rather than a promotional one.
    pub fn is_transactional(self) -> bool {
        matches!(self, Category::Appointment | Category::General)
    }
}

/// The longest SMS body a template may hold (SNS's own limit is 1,600 bytes).
pub const MAX_SMS_BODY: usize = 1530;
/// The longest email body (text or HTML) a template may hold.
pub const MAX_EMAIL_BODY: usize = 50_000;
/// The longest email subject.
pub const MAX_SUBJECT: usize = 200;

/// A template as a client sends it (create, or the merged result of a PATCH).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html_body: Option<String>,
}

/// A validated template: every part compiles and uses only known placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TemplateFields {
    pub name: String,
    pub channel: Channel,
    pub category: Category,
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
}

/// A stored template as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SavedTemplate {
    pub id: String,
    #[serde(flatten)]
    pub fields: TemplateFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The compiled parts of a message: body, and for email a subject and an optional HTML body.
#[derive(Debug)]
pub struct CompiledMessage {
    pub channel: Channel,
    pub subject: Option<Template>,
    pub body: Template,
    pub html_body: Option<Template>,
}

impl TemplateInput {
    pub fn validate(self) -> Result<TemplateFields, FieldError> {
        let name = text::required("name", self.name.as_deref().unwrap_or(""), 100)?;
        let channel = self
            .channel
            .ok_or_else(|| FieldError::required("channel"))?;
        let fields = TemplateFields {
            name,
            channel,
            category: self.category.unwrap_or_default(),
            subject: self.subject,
            body: self.body.unwrap_or_default(),
            html_body: self.html_body,
        };
        compile_parts(
            channel,
            fields.subject.as_deref(),
            &fields.body,
            fields.html_body.as_deref(),
        )?;
        Ok(TemplateFields {
            subject: fields.subject.map(|s| s.trim().to_owned()),
            ..fields
        })
    }
}

impl TemplateFields {
    /// Refuses an SMS template that, with sample values, is longer than the clinic's
    /// `max_sms_length` (a 400 naming `body`), as reminder and greeting settings do. The sample
    /// text is bounded: the body is at most [`MAX_SMS_BODY`] characters and each value short.
    pub fn check_sms_length(&self, max_sms_length: usize) -> Result<(), FieldError> {
        if self.channel != Channel::Sms {
            return Ok(());
        }
        let compiled = self.compile()?;
        let sample = compiled
            .body
            .render(&crate::template::Values::samples(), &Default::default())
            .map_err(|e| FieldError::new("body", "invalid_template", e.to_string()))?;
        let n = crate::sms::shape(&sample).characters;
        if n > max_sms_length {
            return Err(FieldError::new(
                "body",
                "too_long",
                format!(
                    "with sample values this SMS is {n} characters; the clinic's max_sms_length is {max_sms_length}"
                ),
            ));
        }
        Ok(())
    }

    /// Compiles the stored parts (which validated when saved).
    pub fn compile(&self) -> Result<CompiledMessage, FieldError> {
        compile_parts(
            self.channel,
            self.subject.as_deref(),
            &self.body,
            self.html_body.as_deref(),
        )
    }
}

/// Checks and compiles the parts of a message for `channel`; errors name `subject`, `body` or
/// `html_body`.
pub fn compile_parts(
    channel: Channel,
    subject: Option<&str>,
    body: &str,
    html_body: Option<&str>,
) -> Result<CompiledMessage, FieldError> {
    if body.trim().is_empty() {
        return Err(FieldError::required("body"));
    }
    let max_body = match channel {
        Channel::Sms => MAX_SMS_BODY,
        Channel::Email => MAX_EMAIL_BODY,
    };
    if body.chars().count() > max_body {
        return Err(FieldError::new(
            "body",
            "too_long",
            format!("body must be at most {max_body} characters"),
        ));
    }
    let body = Template::compile("body", body, Format::Text)?;
    match channel {
        Channel::Sms => {
            if subject.is_some() {
                return Err(only_email("subject"));
            }
            if html_body.is_some() {
                return Err(only_email("html_body"));
            }
            Ok(CompiledMessage {
                channel,
                subject: None,
                body,
                html_body: None,
            })
        }
        Channel::Email => {
            let subject = text::required("subject", subject.unwrap_or(""), MAX_SUBJECT)?;
            let subject = Template::compile("subject", &subject, Format::Text)?;
            let html_body = match html_body.filter(|h| !h.trim().is_empty()) {
                Some(h) if h.chars().count() > MAX_EMAIL_BODY => {
                    return Err(FieldError::new(
                        "html_body",
                        "too_long",
                        format!("html_body must be at most {MAX_EMAIL_BODY} characters"),
                    ));
                }
                Some(h) => Some(Template::compile("html_body", h, Format::Html)?),
                None => None,
            };
            Ok(CompiledMessage {
                channel,
                subject: Some(subject),
                body,
                html_body,
            })
        }
    }
}

fn only_email(field: &str) -> FieldError {
    FieldError::new(
        field,
        "not_allowed",
        format!("{field} applies to email only"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(body: &str) -> TemplateInput {
        TemplateInput {
            name: Some("Reminder".into()),
            channel: Some(Channel::Sms),
            body: Some(body.into()),
            ..Default::default()
        }
    }

    #[test]
    fn sms_and_email_templates() {
        let t = sms("Hi {{ first_name }}").validate().unwrap();
        assert_eq!(t.category, Category::General);
        let email = TemplateInput {
            name: Some("Recall".into()),
            channel: Some(Channel::Email),
            category: Some(Category::Recall),
            subject: Some(" Time for your check-up, {{ first_name }} ".into()),
            body: Some("Hi {{ first_name }}".into()),
            html_body: Some("<p>Hi {{ first_name }}</p>".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(
            email.subject.as_deref(),
            Some("Time for your check-up, {{ first_name }}")
        );
        assert!(email.compile().unwrap().html_body.is_some());
    }

    #[test]
    fn errors_name_the_part() {
        let cases: [(TemplateInput, &str, &str); 6] = [
            (sms("Hi {{ frist_name }}"), "body", "unknown_placeholder"),
            (sms("Hi {{ first_name"), "body", "template_syntax"),
            (sms(""), "body", "required"),
            (
                TemplateInput {
                    subject: Some("x".into()),
                    ..sms("Hi")
                },
                "subject",
                "not_allowed",
            ),
            (
                TemplateInput {
                    channel: Some(Channel::Email),
                    ..sms("Hi")
                },
                "subject",
                "required",
            ),
            (
                TemplateInput {
                    channel: None,
                    ..sms("Hi")
                },
                "channel",
                "required",
            ),
        ];
        for (input, field, code) in cases {
            let e = input.validate().unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (field, code), "{e}");
        }
        assert_eq!(
            Category::parse("category", "nope").unwrap_err().field,
            "category"
        );
        assert!(Category::Appointment.is_transactional());
        assert!(!Category::Marketing.is_transactional());
    }
}
