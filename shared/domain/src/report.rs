//! Reports: saved audience queries (who to reach), evaluated when they run, never when saved.
//!
//! Each type reads one kind of record: `patient` the patient directory, `appointment` the
//! appointment book, `recall` both (patients not seen for N months and not booked), `referral`
//! the referrers with referrals in a date range.

use crate::appointment::{AppointmentFields, AppointmentStatus};
use crate::patient::{Gender, PatientFields};
use crate::{FieldError, text};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The most days an appointment report may span.
pub const MAX_APPOINTMENT_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportType {
    Patient,
    Appointment,
    Recall,
    Referral,
}

/// A day of the year (`MM-DD`), for birthday ranges.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    /// Reads `MM-DD`, or a full `YYYY-MM-DD` whose year is ignored.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        let md = if v.len() == 10 { &v[5..] } else { v };
        let bad = || {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be a day of the year as MM-DD"),
            )
        };
        let (m, d) = md.split_once('-').ok_or_else(bad)?;
        let (month, day) = (
            m.parse::<u32>().map_err(|_| bad())?,
            d.parse::<u32>().map_err(|_| bad())?,
        );
        // 2024 is a leap year, so 02-29 is a valid birthday.
        NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(bad)?;
        Ok(Self { month, day })
    }

    fn of(d: NaiveDate) -> Self {
        Self {
            month: d.month(),
            day: d.day(),
        }
    }
}

/// Filters of a `patient` report; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PatientCriteria {
    /// Birthday from and to (inclusive; the range may wrap over the new year).
    pub birthday_between: Option<(MonthDay, MonthDay)>,
    pub gender: Option<Gender>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub practitioner_id: Option<String>,
    pub has_mobile: Option<bool>,
    pub has_email: Option<bool>,
}

/// Which appointments an `appointment` report reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentWindow {
    /// Local dates, inclusive.
    Dates { from: NaiveDate, to: NaiveDate },
    /// The local day N days from the day the report runs (0 = today).
    InDays(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppointmentCriteria {
    pub window: AppointmentWindow,
    pub statuses: Vec<AppointmentStatus>,
    pub practitioner_id: Option<String>,
    pub appointment_type: Option<String>,
}

/// Statuses an appointment report reads unless told otherwise: appointments still to happen.
pub const DEFAULT_APPOINTMENT_STATUSES: [AppointmentStatus; 3] = [
    AppointmentStatus::Scheduled,
    AppointmentStatus::Confirmed,
    AppointmentStatus::OutOfReach,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecallCriteria {
    /// Patients with no visit in the last `months` months and nothing booked.
    pub months: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReferralCriteria {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A validated report query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "criteria", rename_all = "snake_case")]
pub enum ReportSpec {
    Patient(PatientCriteria),
    Appointment(AppointmentCriteria),
    Recall(RecallCriteria),
    Referral(ReferralCriteria),
}

impl ReportSpec {
    pub fn report_type(&self) -> ReportType {
        match self {
            ReportSpec::Patient(_) => ReportType::Patient,
            ReportSpec::Appointment(_) => ReportType::Appointment,
            ReportSpec::Recall(_) => ReportType::Recall,
            ReportSpec::Referral(_) => ReportType::Referral,
        }
    }
}

/// A saved report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub id: String,
    pub name: String,
    pub spec: ReportSpec,
    pub created_at: DateTime<Utc>,
}

/// The filters of a `patient` report as a client sends them.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientFiltersInput {
    pub birthday_from: Option<String>,
    pub birthday_to: Option<String>,
    pub gender: Option<Gender>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub practitioner_id: Option<String>,
    pub has_mobile: Option<bool>,
    pub has_email: Option<bool>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentFiltersInput {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub in_days: Option<u32>,
    pub statuses: Option<Vec<AppointmentStatus>>,
    pub practitioner_id: Option<String>,
    pub appointment_type: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallFiltersInput {
    pub months: Option<u32>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralFiltersInput {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn filter_error(name: &str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("filters.{name}"), code, message)
}

fn required_filter(name: &str) -> FieldError {
    filter_error(name, "required", format!("filters.{name} is required"))
}

fn date_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    max_days: i64,
) -> Result<(NaiveDate, NaiveDate), FieldError> {
    let from = from.ok_or_else(|| required_filter("from"))?;
    let to = to.ok_or_else(|| required_filter("to"))?;
    if to < from || (to - from).num_days() >= max_days {
        return Err(filter_error(
            "to",
            "out_of_range",
            format!(
                "filters.to must be on or after filters.from and at most {max_days} days later"
            ),
        ));
    }
    Ok((from, to))
}

impl PatientFiltersInput {
    pub fn validate(self) -> Result<ReportSpec, FieldError> {
        let birthday_between = match (self.birthday_from, self.birthday_to) {
            (None, None) => None,
            (Some(f), Some(t)) => Some((
                MonthDay::parse("filters.birthday_from", &f)?,
                MonthDay::parse("filters.birthday_to", &t)?,
            )),
            (Some(_), None) => return Err(required_filter("birthday_to")),
            (None, Some(_)) => return Err(required_filter("birthday_from")),
        };
        if let (Some(lo), Some(hi)) = (self.age_min, self.age_max)
            && hi < lo
        {
            return Err(filter_error(
                "age_max",
                "out_of_range",
                "filters.age_max must be at least filters.age_min",
            ));
        }
        for (name, age) in [("age_min", self.age_min), ("age_max", self.age_max)] {
            if age.is_some_and(|a| a > 130) {
                return Err(filter_error(name, "out_of_range", "ages run from 0 to 130"));
            }
        }
        Ok(ReportSpec::Patient(PatientCriteria {
            birthday_between,
            gender: self.gender,
            age_min: self.age_min,
            age_max: self.age_max,
            practitioner_id: text::optional(
                "filters.practitioner_id",
                self.practitioner_id.as_deref(),
                64,
            )?,
            has_mobile: self.has_mobile,
            has_email: self.has_email,
        }))
    }
}

impl AppointmentFiltersInput {
    pub fn validate(self) -> Result<ReportSpec, FieldError> {
        let window = match (self.in_days, self.from, self.to) {
            (Some(n), None, None) if n <= 366 => AppointmentWindow::InDays(n),
            (Some(_), None, None) => {
                return Err(filter_error(
                    "in_days",
                    "out_of_range",
                    "filters.in_days runs from 0 to 366",
                ));
            }
            (Some(_), _, _) => {
                return Err(filter_error(
                    "in_days",
                    "not_allowed",
                    "give filters.in_days or filters.from and filters.to, not both",
                ));
            }
            (None, from, to) => {
                let (from, to) = date_range(from, to, MAX_APPOINTMENT_DAYS)?;
                AppointmentWindow::Dates { from, to }
            }
        };
        let statuses = match self.statuses {
            Some(s) if s.is_empty() => {
                return Err(filter_error(
                    "statuses",
                    "invalid",
                    "filters.statuses must name at least one status",
                ));
            }
            Some(mut s) => {
                s.sort_by_key(|x| x.as_str());
                s.dedup();
                s
            }
            None => DEFAULT_APPOINTMENT_STATUSES.to_vec(),
        };
        Ok(ReportSpec::Appointment(AppointmentCriteria {
            window,
            statuses,
            practitioner_id: text::optional(
                "filters.practitioner_id",
                self.practitioner_id.as_deref(),
                64,
            )?,
            appointment_type: text::optional(
                "filters.appointment_type",
                self.appointment_type.as_deref(),
                100,
            )?,
        }))
    }
}

impl RecallFiltersInput {
    pub fn validate(self) -> Result<ReportSpec, FieldError> {
        match self.months {
            Some(m) if (1..=120).contains(&m) => {
                Ok(ReportSpec::Recall(RecallCriteria { months: m }))
            }
            Some(_) => Err(filter_error(
                "months",
                "out_of_range",
                "filters.months runs from 1 to 120",
            )),
            None => Err(required_filter("months")),
        }
    }
}

impl ReferralFiltersInput {
    pub fn validate(self) -> Result<ReportSpec, FieldError> {
        let (from, to) = date_range(self.from, self.to, 3660)?;
        Ok(ReportSpec::Referral(ReferralCriteria { from, to }))
    }
}

/// Whole years between `dob` and `today`.
pub fn age_on(dob: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(dob).unwrap_or(0)
}

impl PatientCriteria {
    /// Whether a patient is in the report on `today` (the clinic's date).
    pub fn matches(&self, p: &PatientFields, today: NaiveDate) -> bool {
        if let Some((lo, hi)) = self.birthday_between {
            let Some(dob) = p.date_of_birth else {
                return false;
            };
            let b = MonthDay::of(dob);
            let inside = if lo <= hi {
                lo <= b && b <= hi
            } else {
                b >= lo || b <= hi
            };
            if !inside {
                return false;
            }
        }
        if self.gender.is_some() && p.gender != self.gender {
            return false;
        }
        if self.age_min.is_some() || self.age_max.is_some() {
            let Some(dob) = p.date_of_birth else {
                return false;
            };
            let age = age_on(dob, today);
            if self.age_min.is_some_and(|m| age < m) || self.age_max.is_some_and(|m| age > m) {
                return false;
            }
        }
        if self.practitioner_id.is_some() && p.practitioner_id != self.practitioner_id {
            return false;
        }
        if let Some(want) = self.has_mobile
            && p.mobile.is_some() != want
        {
            return false;
        }
        if let Some(want) = self.has_email
            && p.email.is_some() != want
        {
            return false;
        }
        true
    }
}

impl AppointmentCriteria {
    /// The local dates the report covers when it runs on `today`.
    pub fn dates(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match &self.window {
            AppointmentWindow::Dates { from, to } => (*from, *to),
            AppointmentWindow::InDays(n) => {
                let d = today
                    .checked_add_days(Days::new(u64::from(*n)))
                    .unwrap_or(today);
                (d, d)
            }
        }
    }

    /// Whether an appointment in the window passes the other filters.
    pub fn matches(&self, a: &AppointmentFields) -> bool {
        self.statuses.contains(&a.status)
            && (self.practitioner_id.is_none() || a.practitioner_id == self.practitioner_id)
            && (self.appointment_type.is_none()
                || a.appointment_type.as_deref().map(str::to_lowercase)
                    == self.appointment_type.as_deref().map(str::to_lowercase))
    }
}

impl RecallCriteria {
    /// Visits on or after this time keep a patient out of the recall.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.months))
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::patient::{ChannelPrefs, ProfileType};

    fn patient(dob: Option<&str>) -> PatientFields {
        PatientFields {
            first_name: "A".into(),
            last_name: "B".into(),
            date_of_birth: dob.map(|d| d.parse().unwrap()),
            gender: Some(Gender::Female),
            mobile: Some("+61412345678".into()),
            email: None,
            profile_type: ProfileType::Patient,
            external_id: None,
            practitioner_id: None,
            receive_reminders: ChannelPrefs::default(),
            receive_campaigns: ChannelPrefs::default(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn birthday_ranges_wrap_over_the_new_year() {
        let ReportSpec::Patient(c) = PatientFiltersInput {
            birthday_from: Some("12-20".into()),
            birthday_to: Some("01-10".into()),
            ..Default::default()
        }
        .validate()
        .unwrap() else {
            panic!()
        };
        let today = day("2026-11-24");
        assert!(c.matches(&patient(Some("1990-12-25")), today));
        assert!(c.matches(&patient(Some("1990-01-05")), today));
        assert!(!c.matches(&patient(Some("1990-06-05")), today));
        assert!(!c.matches(&patient(None), today));
    }

    #[test]
    fn ages_gender_and_contact_details() {
        let c = PatientCriteria {
            age_min: Some(18),
            age_max: Some(65),
            gender: Some(Gender::Female),
            has_email: Some(true),
            ..Default::default()
        };
        let today = day("2026-11-24");
        let mut p = patient(Some("2008-11-24"));
        assert!(!c.matches(&p, today), "no email");
        p.email = Some("a@b.example".into());
        assert!(c.matches(&p, today), "18 today");
        p.date_of_birth = Some(day("2008-11-25"));
        assert!(!c.matches(&p, today), "17 until tomorrow");
        p.date_of_birth = Some(day("1980-01-01"));
        p.gender = Some(Gender::Male);
        assert!(!c.matches(&p, today));
    }

    #[test]
    fn invalid_filters_name_the_filter() {
        let e = PatientFiltersInput {
            birthday_from: Some("13-01".into()),
            birthday_to: Some("01-01".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "filters.birthday_from");
        let e = PatientFiltersInput {
            age_min: Some(50),
            age_max: Some(20),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "filters.age_max");
        let e = AppointmentFiltersInput {
            from: Some(day("2026-12-02")),
            to: Some(day("2026-12-01")),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "filters.to");
        let e = AppointmentFiltersInput {
            in_days: Some(2),
            from: Some(day("2026-12-02")),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "filters.in_days");
        let e = AppointmentFiltersInput {
            statuses: Some(vec![]),
            in_days: Some(1),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "filters.statuses");
        assert_eq!(
            RecallFiltersInput { months: Some(0) }
                .validate()
                .unwrap_err()
                .field,
            "filters.months"
        );
        assert_eq!(
            RecallFiltersInput { months: None }
                .validate()
                .unwrap_err()
                .field,
            "filters.months"
        );
    }

    #[test]
    fn appointment_windows_and_recall_cutoff() {
        let ReportSpec::Appointment(c) = AppointmentFiltersInput {
            in_days: Some(2),
            ..Default::default()
        }
        .validate()
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            c.dates(day("2026-12-31")),
            (day("2027-01-02"), day("2027-01-02"))
        );
        let r = RecallCriteria { months: 6 };
        let now: DateTime<Utc> = "2026-11-24T00:00:00Z".parse().unwrap();
        assert_eq!(r.cutoff(now).to_rfc3339(), "2026-05-24T00:00:00+00:00");
    }
}
