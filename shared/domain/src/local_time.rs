//! Wall-clock times in a clinic's time zone: `HH:MM` values, and turning a local date and time
//! into an instant across daylight-saving changes.

use crate::FieldError;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time of day written `HH:MM` (24-hour), e.g. `09:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourMinute(pub NaiveTime);

impl HourMinute {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        NaiveTime::parse_from_str(value.trim(), "%H:%M")
            .map(Self)
            .map_err(|_| {
                FieldError::new(
                    field,
                    "invalid",
                    format!("{field} must be a time of day like 09:00"),
                )
            })
    }

    pub fn hm(h: u32, m: u32) -> Option<Self> {
        NaiveTime::from_hms_opt(h, m, 0).map(Self)
    }
}

impl std::fmt::Display for HourMinute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl Serialize for HourMinute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for HourMinute {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HourMinute".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a time of day, HH:MM (24-hour)",
            "examples": ["09:00"],
        })
    }
}

impl<'de> Deserialize<'de> for HourMinute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse("time", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The instant of `time` on `date` where the clinic is. A time skipped by a daylight-saving
/// change (02:30 on the morning clocks go forward) is the first instant after the gap; a time
/// that happens twice (clocks go back) is its first occurrence.
pub fn instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive).earliest() {
        Some(local) => local.with_timezone(&Utc),
        None => after_gap(tz, naive).unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
    }
}

/// The first instant after the daylight-saving gap that swallowed `naive`: one minute after
/// the last valid wall time before it.
fn after_gap(tz: Tz, naive: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    (1..=4 * 60).find_map(|m| {
        tz.from_local_datetime(&(naive - Duration::minutes(m)))
            .latest()
            .map(|before| before.with_timezone(&Utc) + Duration::minutes(1))
    })
}

/// Local midnight at the start of `date` where the clinic is.
pub fn midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    instant(tz, date, NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_hh_mm() {
        let t = HourMinute::parse("at", "9:05").unwrap();
        assert_eq!(t.to_string(), "09:05");
        assert_eq!(HourMinute::parse("at", "25:00").unwrap_err().field, "at");
        assert_eq!(
            serde_json::to_string(&HourMinute::hm(21, 0).unwrap()).unwrap(),
            "\"21:00\""
        );
    }

    #[test]
    fn gaps_and_overlaps() {
        let tz: Tz = "Australia/Sydney".parse().unwrap();
        // 2027-10-03 02:00 → 03:00 in Sydney.
        let d = NaiveDate::from_ymd_opt(2027, 10, 3).unwrap();
        let t = instant(tz, d, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(t.to_rfc3339(), "2027-10-02T16:00:00+00:00");
        // 2027-04-04 03:00 → 02:00: 02:30 happens twice; the first is +11:00.
        let d = NaiveDate::from_ymd_opt(2027, 4, 4).unwrap();
        let t = instant(tz, d, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(t.to_rfc3339(), "2027-04-03T15:30:00+00:00");
        let t = instant(tz, d, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(t.to_rfc3339(), "2027-04-03T23:00:00+00:00");
    }
}
