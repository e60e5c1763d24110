//! EventBridge Scheduler's `cron()` and `rate()` expressions: checked when a campaign is made,
//! and evaluated to show when a repeating campaign next sends.
//!
//! `cron(min hour day-of-month month day-of-week year)` is evaluated with `croner` in its
//! Quartz weekday mode, which numbers days as Scheduler does (1 = Sunday … 7 = Saturday) and
//! knows Scheduler's `?`, `L`, `W` and `#`.

use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed `cron()` expression's six fields.
#[derive(Debug, Clone)]
pub struct CronFields(Cron);

impl CronFields {
    /// Parses the fields inside `cron(...)`; the error says what is wrong with them.
    pub fn parse(fields: &str) -> Result<Self, String> {
        let parser = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .alternative_weekdays(true)
            .build();
        parser
            .parse(&format!("0 {fields}"))
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// The first local time it names strictly after `after` (wall-clock times in the schedule's
    /// time zone); `None` when there is none (a year that has passed).
    pub fn next_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let wall = Utc.from_utc_datetime(&after);
        self.0
            .find_next_occurrence(&wall, false)
            .ok()
            .map(|t| t.naive_utc())
    }
}

/// The period of a `rate(N unit)` expression.
pub fn rate_period(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let mut parts = inner.split_whitespace();
    let n: i64 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let unit = match parts.next()?.trim_end_matches('s') {
        "minute" => Duration::minutes(1),
        "hour" => Duration::hours(1),
        "day" => Duration::days(1),
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(unit * i32::try_from(n).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn next(fields: &str, after: &str) -> Option<NaiveDateTime> {
        CronFields::parse(fields).unwrap().next_after(at(after))
    }

    #[test]
    fn cron_fields_are_read_as_scheduler_reads_them() {
        // 2026-11-26 is a Thursday.
        let after = "2026-11-26 10:00";
        // Mondays (2) at 09:00.
        assert_eq!(next("0 9 ? * 2 *", after), Some(at("2026-11-30 09:00")));
        assert_eq!(next("0 9 ? * MON *", after), Some(at("2026-11-30 09:00")));
        // Sundays are 1, Saturdays 7.
        assert_eq!(next("0 9 ? * 1 *", after), Some(at("2026-11-29 09:00")));
        assert_eq!(next("0 9 ? * 7 *", after), Some(at("2026-11-28 09:00")));
        // The last day of the month, and the third Friday (6#3).
        assert_eq!(next("30 8 L * ? *", after), Some(at("2026-11-30 08:30")));
        assert_eq!(next("0 9 ? * 6#3 *", after), Some(at("2026-12-18 09:00")));
        // The last Friday (6L); the weekday nearest the 28th (a Saturday: Friday 27th) and the
        // 29th (a Sunday: Monday 30th).
        assert_eq!(next("0 9 ? * 6L *", after), Some(at("2026-11-27 09:00")));
        assert_eq!(next("0 9 28W * ? *", after), Some(at("2026-11-27 09:00")));
        assert_eq!(next("0 9 29W * ? *", after), Some(at("2026-11-30 09:00")));
        // Weekdays every 15 minutes from 10:00; strictly after the given time.
        assert_eq!(
            next("0/15 * ? * 2-6 *", after),
            Some(at("2026-11-26 10:15"))
        );
        // A year that has passed names nothing.
        assert_eq!(next("0 9 1 1 ? 2025", after), None);
        assert_eq!(next("0 9 1 1 ? 2027", after), Some(at("2027-01-01 09:00")));
    }

    #[test]
    fn the_forms_scheduler_documents_are_accepted() {
        for ok in [
            "0 10 * * ? *",
            "15 12 * * ? *",
            "0 18 ? * MON-FRI *",
            "0 8 1 * ? *",
            "0/15 * * * ? *",
            "0/10 * ? * MON-FRI *",
            "0/5 8-17 ? * MON-FRI *",
            "0 9 ? * 2#1 *",
            "0 0 L * ? *",
            "0 9 ? * 6L *",
            "0 9 15W * ? *",
            "0 9 1,15 JAN,JUL ? 2026-2030",
        ] {
            assert!(CronFields::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn impossible_cron_fields_are_refused() {
        for bad in [
            "0 25 * * ? *",
            "61 9 * * ? *",
            "0 9 32 * ? *",
            "0 9 ? * 9 *",
            "0 9 * 13 ? *",
        ] {
            assert!(CronFields::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_have_periods() {
        assert_eq!(rate_period("rate(1 day)"), Some(Duration::days(1)));
        assert_eq!(rate_period("rate(5 minutes)"), Some(Duration::minutes(5)));
        assert_eq!(rate_period("rate(2 hours)"), Some(Duration::hours(2)));
        assert_eq!(rate_period("rate(0 hours)"), None);
        assert_eq!(rate_period("cron(0 9 * * ? *)"), None);
    }
}
