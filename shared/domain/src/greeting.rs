//! Birthday greetings: the clinic's settings, and whose birthday a local date is.

use crate::local_time::HourMinute;
use crate::message_template::{Channel, MAX_SUBJECT, compile_parts};
use crate::template::Placeholder;
use crate::{FieldError, sms};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A greeting's words on one channel (a template: `Happy birthday {{ first_name }}!`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GreetingCopy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GreetingChannels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<GreetingCopy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<GreetingCopy>,
}

impl GreetingChannels {
    pub fn get(&self, channel: Channel) -> Option<&GreetingCopy> {
        match channel {
            Channel::Sms => self.sms.as_ref(),
            Channel::Email => self.email.as_ref(),
        }
    }
}

/// Greeting settings as a client sends them (`PUT` replaces them whole).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GreetingSettingsInput {
    pub enabled: Option<bool>,
    pub channels: Option<GreetingChannels>,
    pub send_at: Option<String>,
}

/// Validated greeting settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GreetingSettings {
    pub enabled: bool,
    pub channels: GreetingChannels,
    /// The local time greetings go out at (or the first sweep after it).
    pub send_at: HourMinute,
}

impl Default for GreetingSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            channels: GreetingChannels::default(),
            send_at: HourMinute::hm(9, 0).unwrap_or(HourMinute(chrono::NaiveTime::MIN)),
        }
    }
}

impl GreetingSettingsInput {
    /// Checks the settings; an SMS longer than `max_sms_length` with sample values is refused.
    pub fn validate(self, max_sms_length: usize) -> Result<GreetingSettings, FieldError> {
        let enabled = self.enabled.unwrap_or(true);
        let channels = self.channels.unwrap_or_default();
        if enabled && channels.sms.is_none() && channels.email.is_none() {
            return Err(FieldError::new(
                "channels",
                "required",
                "enabled greetings need an sms or email template",
            ));
        }
        let send_at = match self.send_at.as_deref() {
            Some(t) => HourMinute::parse("send_at", t)?,
            None => GreetingSettings::default().send_at,
        };
        for (channel, copy) in [
            (Channel::Sms, &channels.sms),
            (Channel::Email, &channels.email),
        ] {
            let Some(c) = copy else { continue };
            let at = format!("channels.{}", channel.as_str());
            if c.body.trim().is_empty() {
                return Err(FieldError::required(&format!("{at}.body")));
            }
            if channel == Channel::Email && c.subject.as_deref().is_none_or(|s| s.trim().is_empty())
            {
                return Err(FieldError::required(&format!("{at}.subject")));
            }
            if c.subject
                .as_ref()
                .is_some_and(|s| s.chars().count() > MAX_SUBJECT)
            {
                return Err(FieldError::new(
                    format!("{at}.subject"),
                    "too_long",
                    format!("at most {MAX_SUBJECT} characters"),
                ));
            }
            let compiled = compile_parts(channel, c.subject.as_deref(), &c.body, None)
                .map_err(|e| e.within(&at))?;
            let uses = compiled.body.placeholders();
            if let Some(p) = uses.iter().find(|p| {
                matches!(
                    p,
                    Placeholder::AppointmentDate
                        | Placeholder::AppointmentTime
                        | Placeholder::Location
                        | Placeholder::Link
                )
            }) {
                return Err(FieldError::new(
                    format!("{at}.body"),
                    "unknown_placeholder",
                    format!("a greeting has no {} to insert", p.name()),
                ));
            }
            if channel == Channel::Sms {
                let sample = compiled
                    .body
                    .render(&crate::template::Values::samples(), &Default::default())
                    .map_err(|e| {
                        FieldError::new(format!("{at}.body"), "invalid_template", e.to_string())
                    })?;
                let n = sms::shape(&sample).characters;
                if n > max_sms_length {
                    return Err(FieldError::new(
                        format!("{at}.body"),
                        "too_long",
                        format!(
                            "this SMS is {n} characters; the clinic's max_sms_length is {max_sms_length}"
                        ),
                    ));
                }
            }
        }
        Ok(GreetingSettings {
            enabled,
            channels,
            send_at,
        })
    }
}

/// The month and day a birthday is stored under: `MM-DD`.
pub fn birthday_key(date_of_birth: NaiveDate) -> String {
    format!("{:02}-{:02}", date_of_birth.month(), date_of_birth.day())
}

/// The birthday keys celebrated on `today`: its own, and on 28 February of a year without a
/// 29th, also `02-29`.
pub fn birthdays_on(today: NaiveDate) -> Vec<String> {
    let mut keys = vec![birthday_key(today)];
    let leap = NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some();
    if today.month() == 2 && today.day() == 28 && !leap {
        keys.push("02-29".into());
    }
    keys
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn leap_day_birthdays_fall_on_28_february_in_other_years() {
        assert_eq!(birthdays_on(d(2027, 2, 28)), vec!["02-28", "02-29"]);
        assert_eq!(birthdays_on(d(2028, 2, 28)), vec!["02-28"]);
        assert_eq!(birthdays_on(d(2028, 2, 29)), vec!["02-29"]);
        assert_eq!(birthdays_on(d(2027, 3, 1)), vec!["03-01"]);
        assert_eq!(birthday_key(d(1990, 7, 4)), "07-04");
    }

    #[test]
    fn validates_naming_fields() {
        let ok = GreetingSettingsInput {
            channels: Some(GreetingChannels {
                sms: Some(GreetingCopy {
                    subject: None,
                    body: "Happy birthday {{ first_name }}!".into(),
                }),
                email: None,
            }),
            send_at: Some("08:30".into()),
            ..Default::default()
        };
        let s = ok.validate(160).unwrap();
        assert!(s.enabled);
        assert_eq!(s.send_at.to_string(), "08:30");
        let bad = GreetingSettingsInput {
            send_at: Some("8.30".into()),
            channels: s.channels.clone().into(),
            ..Default::default()
        };
        assert_eq!(bad.validate(160).unwrap_err().field, "send_at");
        let none = GreetingSettingsInput::default();
        assert_eq!(none.validate(160).unwrap_err().field, "channels");
        let appt = GreetingSettingsInput {
            channels: Some(GreetingChannels {
                sms: Some(GreetingCopy {
                    subject: None,
                    body: "See you {{ appointment_date }}".into(),
                }),
                email: None,
            }),
            ..Default::default()
        };
        assert_eq!(appt.validate(160).unwrap_err().field, "channels.sms.body");
        let email = GreetingSettingsInput {
            channels: Some(GreetingChannels {
                sms: None,
                email: Some(GreetingCopy {
                    subject: None,
                    body: "Hi".into(),
                }),
            }),
            ..Default::default()
        };
        assert_eq!(
            email.validate(160).unwrap_err().field,
            "channels.email.subject"
        );
    }
}
