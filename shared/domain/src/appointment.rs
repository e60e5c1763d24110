//! Appointments: the bookings reports and reminders read. Times arrive as RFC 3339 with an
//! offset, are stored in UTC and are shown in the clinic's time zone.

use crate::{FieldError, text};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// The longest an appointment may last.
pub const MAX_LENGTH_HOURS: i64 = 24;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    #[default]
    Scheduled,
    Confirmed,
    Arrived,
    Completed,
    Cancelled,
    NoShow,
    OutOfReach,
    /// The patient answered a reminder NO: the practice should cancel or rebook.
    CancellationRequested,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 8] = [
        Self::Scheduled,
        Self::Confirmed,
        Self::Arrived,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
        Self::OutOfReach,
        Self::CancellationRequested,
    ];

    /// Whether the appointment took place or is still to take place: what a recall counts as
    /// a visit (cancelled and missed appointments are not).
    pub fn counts_as_visit(self) -> bool {
        !matches!(self, Self::Cancelled | Self::NoShow)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Confirmed => "confirmed",
            Self::Arrived => "arrived",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
            Self::OutOfReach => "out_of_reach",
            Self::CancellationRequested => "cancellation_requested",
        }
    }

    /// Parses a status as the API spells it.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid",
                    format!(
                        "{field} must be one of scheduled, confirmed, arrived, completed, cancelled, no_show, out_of_reach"
                    ),
                )
            })
    }
}

/// An appointment as a client sends it (create, or the merged result of a PATCH).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentInput {
    pub patient_id: Option<String>,
    pub practitioner_id: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub location: Option<String>,
    pub appointment_type: Option<String>,
    pub status: Option<AppointmentStatus>,
}

/// A validated appointment, times in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppointmentFields {
    pub patient_id: String,
    pub practitioner_id: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub location: Option<String>,
    pub appointment_type: Option<String>,
    pub status: AppointmentStatus,
}

/// A stored appointment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Appointment {
    pub id: String,
    #[serde(flatten)]
    pub fields: AppointmentFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it became `completed` (an `after_visit` message is due some hours later); None
    /// while it is in another status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

impl Appointment {
    /// `completed_at` after a change to `fields` at `now`: set when it becomes completed, kept
    /// while it stays so, cleared when it leaves that status.
    pub fn completion(
        &self,
        fields: &AppointmentFields,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match (self.fields.status, fields.status) {
            (AppointmentStatus::Completed, AppointmentStatus::Completed) => {
                self.completed_at.or(Some(now))
            }
            (_, AppointmentStatus::Completed) => Some(now),
            _ => None,
        }
    }
}

/// Parses an RFC 3339 time that carries its offset (`2026-12-01T09:00:00+11:00`).
pub fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00+11:00"),
            )
        })
}

impl AppointmentInput {
    pub fn validate(self) -> Result<AppointmentFields, FieldError> {
        let patient_id = text::required(
            "patient_id",
            self.patient_id.as_deref().unwrap_or_default(),
            64,
        )?;
        let start = parse_time(
            "start",
            self.start
                .as_deref()
                .ok_or_else(|| FieldError::required("start"))?,
        )?;
        let end = parse_time(
            "end",
            self.end
                .as_deref()
                .ok_or_else(|| FieldError::required("end"))?,
        )?;
        if end <= start || end - start > Duration::hours(MAX_LENGTH_HOURS) {
            return Err(FieldError::new(
                "end",
                "out_of_range",
                format!("end must be after start and at most {MAX_LENGTH_HOURS} hours later"),
            ));
        }
        Ok(AppointmentFields {
            patient_id,
            practitioner_id: text::optional(
                "practitioner_id",
                self.practitioner_id.as_deref(),
                64,
            )?,
            start,
            end,
            location: text::optional("location", self.location.as_deref(), 100)?,
            appointment_type: text::optional(
                "appointment_type",
                self.appointment_type.as_deref(),
                100,
            )?,
            status: self.status.unwrap_or_default(),
        })
    }
}

/// An appointment as the API shows it: times in the clinic's time zone.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AppointmentView {
    pub id: String,
    pub patient_id: String,
    pub practitioner_id: Option<String>,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub location: Option<String>,
    pub appointment_type: Option<String>,
    pub status: AppointmentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Appointment {
    /// The API's view, in the clinic's zone `tz`.
    pub fn view(&self, tz: chrono_tz::Tz) -> AppointmentView {
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).fixed_offset();
        AppointmentView {
            id: self.id.clone(),
            patient_id: self.fields.patient_id.clone(),
            practitioner_id: self.fields.practitioner_id.clone(),
            start: local(self.fields.start),
            end: local(self.fields.end),
            location: self.fields.location.clone(),
            appointment_type: self.fields.appointment_type.clone(),
            status: self.fields.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input() -> AppointmentInput {
        AppointmentInput {
            patient_id: Some("p1".into()),
            start: Some("2026-12-01T09:00:00+11:00".into()),
            end: Some("2026-12-01T09:30:00+11:00".into()),
            ..Default::default()
        }
    }

    #[test]
    fn stores_utc_and_shows_local() {
        let f = input().validate().unwrap();
        assert_eq!(f.start.to_rfc3339(), "2026-11-30T22:00:00+00:00");
        assert_eq!(f.status, AppointmentStatus::Scheduled);
        let a = Appointment {
            id: "a".into(),
            fields: f,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            completed_at: None,
        };
        assert_eq!(
            a.view(chrono_tz::Australia::Sydney).start.to_rfc3339(),
            "2026-12-01T09:00:00+11:00"
        );
    }

    #[test]
    fn rejects_bad_times_naming_the_field() {
        let mut i = input();
        i.start = Some("2026-12-01 09:00".into());
        assert_eq!(i.validate().unwrap_err().field, "start");
        let mut i = input();
        i.start = Some("2026-12-01T09:00:00".into());
        assert_eq!(i.validate().unwrap_err().field, "start");
        let mut i = input();
        i.end = Some("2026-12-01T08:00:00+11:00".into());
        assert_eq!(i.validate().unwrap_err().field, "end");
        let mut i = input();
        i.patient_id = None;
        assert_eq!(i.validate().unwrap_err().field, "patient_id");
    }
}
