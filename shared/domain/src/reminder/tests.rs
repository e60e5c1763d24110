#![allow(clippy::unwrap_used)]
use super::*;
use chrono::TimeZone;

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day_before_at_nine() -> Rule {
    Rule::DaysBefore {
        days: 1,
        at: HourMinute::hm(9, 0).unwrap(),
    }
}

/// The windows of `rule` for dues in `(from, to]` contain `start` exactly when its due time
/// is in that range.
fn found(
    rule: Rule,
    start: DateTime<Utc>,
    created: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    z: Tz,
) -> bool {
    rule.windows(from, to, z).iter().any(|w| match *w {
        Window::Starts(a, b) => a <= start && start < b,
        Window::Created(a, b) => a <= created && created < b,
    })
}

#[test]
fn rule_ids_are_stable_names() {
    assert_eq!(Rule::AtCreation.id(), "at_creation");
    assert_eq!(
        Rule::AfterCreation { minutes: 30 }.id(),
        "after_creation:30m"
    );
    assert_eq!(Rule::HoursBefore { hours: 24 }.id(), "hours_before:24h");
    assert_eq!(
        Rule::DaysBefore {
            days: 2,
            at: HourMinute::hm(9, 0).unwrap()
        }
        .id(),
        "days_before:2d@09:00"
    );
    let json = serde_json::json!({"kind": "days_before", "days": 2, "at": "09:00"});
    let r: Rule = serde_json::from_value(json).unwrap();
    assert_eq!(r.id(), "days_before:2d@09:00");
}

#[test]
fn hours_before_windows_match_due_times() {
    let z = tz("Australia/Sydney");
    let rule = Rule::HoursBefore { hours: 24 };
    let start = utc("2026-12-02T09:00:00Z");
    let c = utc("2026-11-01T00:00:00Z");
    assert_eq!(rule.due(start, c, z), utc("2026-12-01T09:00:00Z"));
    assert!(found(
        rule,
        start,
        c,
        utc("2026-12-01T08:55:00Z"),
        utc("2026-12-01T09:00:00Z"),
        z
    ));
    assert!(!found(
        rule,
        start,
        c,
        utc("2026-12-01T09:00:00Z"),
        utc("2026-12-01T09:05:00Z"),
        z
    ));
    assert!(!found(
        rule,
        start,
        c,
        utc("2026-12-01T08:50:00Z"),
        utc("2026-12-01T08:55:00Z"),
        z
    ));
}

#[test]
fn creation_windows_follow_the_booking_time() {
    let z = tz("UTC");
    let c = utc("2026-12-01T10:00:00Z");
    let start = utc("2026-12-05T10:00:00Z");
    let after = Rule::AfterCreation { minutes: 30 };
    assert_eq!(after.due(start, c, z), utc("2026-12-01T10:30:00Z"));
    assert!(found(
        after,
        start,
        c,
        utc("2026-12-01T10:25:00Z"),
        utc("2026-12-01T10:30:00Z"),
        z
    ));
    assert!(!found(
        after,
        start,
        c,
        utc("2026-12-01T10:00:00Z"),
        utc("2026-12-01T10:25:00Z"),
        z
    ));
    assert!(found(
        Rule::AtCreation,
        start,
        c,
        utc("2026-12-01T09:55:00Z"),
        utc("2026-12-01T10:00:00Z"),
        z
    ));
}

/// "1 day before at 09:00" is due at 09:00 local on both sides of each daylight-saving change.
#[test]
fn day_before_at_nine_across_daylight_saving() {
    let cases = [
        // Sydney: clocks forward on 2027-10-03, back on 2027-04-04.
        (
            "Australia/Sydney",
            "2027-10-03T10:00:00+11:00",
            "2027-10-02T09:00:00+10:00",
        ),
        (
            "Australia/Sydney",
            "2027-10-04T10:00:00+11:00",
            "2027-10-03T09:00:00+11:00",
        ),
        (
            "Australia/Sydney",
            "2027-04-04T10:00:00+10:00",
            "2027-04-03T09:00:00+11:00",
        ),
        (
            "Australia/Sydney",
            "2027-04-05T10:00:00+10:00",
            "2027-04-04T09:00:00+10:00",
        ),
        // London: forward on 2027-03-28, back on 2027-10-31.
        (
            "Europe/London",
            "2027-03-28T10:00:00+01:00",
            "2027-03-27T09:00:00+00:00",
        ),
        (
            "Europe/London",
            "2027-03-29T10:00:00+01:00",
            "2027-03-28T09:00:00+01:00",
        ),
        (
            "Europe/London",
            "2027-10-31T10:00:00+00:00",
            "2027-10-30T09:00:00+01:00",
        ),
        (
            "Europe/London",
            "2027-11-01T10:00:00+00:00",
            "2027-10-31T09:00:00+00:00",
        ),
    ];
    let rule = day_before_at_nine();
    for (zone, start, due) in cases {
        let z = tz(zone);
        let (start, due) = (utc(start), utc(due));
        assert_eq!(rule.due(start, start, z), due, "{zone} {start}");
        assert_eq!(due.with_timezone(&z).format("%H:%M").to_string(), "09:00");
        let five = Duration::minutes(5);
        assert!(
            found(rule, start, start, due - five, due, z),
            "{zone} {start} at 09:00"
        );
        assert!(
            !found(rule, start, start, due - five - five, due - five, z),
            "{zone} {start} before"
        );
        assert!(
            !found(rule, start, start, due, due + five, z),
            "{zone} {start} after"
        );
    }
}

#[test]
fn quiet_hours_may_span_midnight() {
    let z = tz("Australia/Sydney");
    let q = QuietHours {
        start: HourMinute::hm(21, 0).unwrap(),
        end: HourMinute::hm(8, 0).unwrap(),
    };
    let at = |h, m| {
        z.with_ymd_and_hms(2026, 12, 1, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert!(q.contains(at(21, 0), z));
    assert!(q.contains(at(2, 0), z));
    assert!(q.contains(at(7, 59), z));
    assert!(!q.contains(at(8, 0), z));
    assert!(!q.contains(at(12, 0), z));
    let day = QuietHours {
        start: HourMinute::hm(12, 0).unwrap(),
        end: HourMinute::hm(13, 0).unwrap(),
    };
    assert!(day.contains(at(12, 30), z));
    assert!(!day.contains(at(13, 0), z));
    // A reminder due at 06:00 for a 07:30 appointment, reached when quiet hours end at 08:00.
    assert_eq!(
        decide(at(6, 0), at(7, 30), at(8, 0), Some(&q), z),
        Decision::SkipQuietHours
    );
    assert_eq!(
        decide(at(6, 0), at(9, 0), at(8, 0), Some(&q), z),
        Decision::Send
    );
    assert_eq!(
        decide(at(10, 0), at(10, 0), at(10, 5), Some(&q), z),
        Decision::SkipStarted
    );
}

fn copy(body: &str, append: Vec<Element>) -> ReminderCopy {
    ReminderCopy {
        subject: None,
        body: body.into(),
        append,
    }
}

fn limits(clinic: &Values) -> Limits<'_> {
    static CAPS: std::sync::LazyLock<Caps> = std::sync::LazyLock::new(Caps::default);
    Limits {
        max_sms_length: 133,
        caps: &CAPS,
        clinic,
    }
}

#[test]
fn suffix_cuts_each_element_to_its_cap() {
    let c = copy(
        "Hi",
        vec![Element::DateTime, Element::Practitioner, Element::Room],
    );
    let e = Elements {
        date_time: Some("Tue 24 Nov 09:30".into()),
        practitioner: Some("Dr Annabelle Fitzgerald-Smythe".into()),
        room: Some("Room 12".into()),
    };
    let s = c.suffix(&e, &Caps::default(), true);
    assert_eq!(
        s,
        " Tue 24 Nov 09:30 Dr Annabelle Fitzgeral Room Reply YES to confirm or NO if you can't come."
    );
    let none = c.suffix(&Elements::default(), &Caps::default(), false);
    assert_eq!(none, "");
}

fn rule(json: serde_json::Value) -> RuleInput {
    serde_json::from_value(json).unwrap()
}

#[test]
fn settings_validate_naming_the_field() {
    let clinic = Values::default().with(Placeholder::ClinicName, "Harbour Physio");
    let good = || ReminderSettingsInput {
        channels: Some(ReminderChannels {
            sms: Some(copy(
                "{{ first_name }}, see you at {{ clinic_name }}:",
                vec![Element::DateTime, Element::Practitioner, Element::Room],
            )),
            email: None,
        }),
        rules: Some(vec![rule(
            serde_json::json!({"kind": "hours_before", "hours": 24}),
        )]),
        ..Default::default()
    };
    let s = good().validate(&limits(&clinic)).unwrap();
    assert!(s.enabled);
    assert_eq!(s.statuses, DEFAULT_STATUSES.to_vec());
    let field = |i: ReminderSettingsInput| i.validate(&limits(&clinic)).unwrap_err().field;
    let mut i = good();
    i.rules = Some(vec![]);
    assert_eq!(field(i), "rules");
    let mut i = good();
    let at_creation = || rule(serde_json::json!({"kind": "at_creation"}));
    i.rules = Some(vec![
        at_creation(),
        rule(serde_json::json!({"kind": "hours_before", "hours": 0})),
    ]);
    assert_eq!(field(i), "rules[1].hours");
    let mut i = good();
    i.rules = Some(vec![at_creation(), at_creation()]);
    assert_eq!(field(i), "rules[1]");
    let mut i = good();
    i.rules = Some(vec![rule(
        serde_json::json!({"kind": "days_before", "days": 1, "at": "9am"}),
    )]);
    assert_eq!(field(i), "rules[0].at");
    let mut i = good();
    i.rules = Some(vec![rule(
        serde_json::json!({"kind": "days_before", "days": 1}),
    )]);
    assert_eq!(field(i), "rules[0].at");
    let mut i = good();
    i.rules = Some(vec![rule(
        serde_json::json!({"kind": "at_creation", "hours": 3}),
    )]);
    assert_eq!(field(i), "rules[0].hours");
    let mut i = good();
    i.statuses = Some(vec![]);
    assert_eq!(field(i), "statuses");
    let mut i = good();
    i.channels = None;
    assert_eq!(field(i), "channels");
    let mut i = good();
    i.channels.as_mut().unwrap().sms.as_mut().unwrap().body = "Hi {{ nickname }}".into();
    assert_eq!(field(i), "channels.sms.body");
    let mut i = good();
    i.channels.as_mut().unwrap().sms.as_mut().unwrap().body = "x".repeat(100);
    assert_eq!(field(i), "channels.sms.body");
    let mut i = good();
    i.ask_for_reply = Some(true);
    // 25 + 33 + 16 + 22 + 5 + separators + the prompt is over 133.
    assert_eq!(field(i), "channels.sms.body");
    let mut i = good();
    i.quiet_hours = Some(QuietHours {
        start: HourMinute::hm(8, 0).unwrap(),
        end: HourMinute::hm(8, 0).unwrap(),
    });
    assert_eq!(field(i), "quiet_hours.end");
    let mut i = good();
    i.channels.as_mut().unwrap().email = Some(copy("Hello", vec![]));
    assert_eq!(field(i), "channels.email.subject");
    let off = ReminderSettingsInput {
        enabled: Some(false),
        ..Default::default()
    };
    assert!(!off.validate(&limits(&clinic)).unwrap().enabled);
}

#[test]
fn the_reply_prompt_invites_no_opt_out_word() {
    use crate::reply::{Keyword, classify};
    for word in REPLY_PROMPT.split_whitespace() {
        assert_ne!(classify(word, &[]), Some(Keyword::OptOut), "{word}");
    }
    assert_eq!(classify("cancel", &[]), Some(Keyword::OptOut));
}

#[test]
fn the_changes_a_patient_is_told_of() {
    use crate::appointment::{AppointmentFields, AppointmentStatus as S};
    use crate::reminder::{Change, DEFAULT_STATUSES, change_of};
    let start: DateTime<Utc> = "2027-03-10T03:00:00Z".parse().unwrap();
    let a = AppointmentFields {
        patient_id: "p".into(),
        practitioner_id: Some("dr1".into()),
        start,
        end: start + Duration::minutes(30),
        location: Some("Room 2".into()),
        appointment_type: None,
        status: S::Scheduled,
    };
    let with = |f: &dyn Fn(&mut AppointmentFields)| {
        let mut b = a.clone();
        f(&mut b);
        change_of(&a, &b, &DEFAULT_STATUSES)
    };
    assert_eq!(
        with(&|b| b.start += Duration::hours(1)),
        Some(Change::Moved)
    );
    assert_eq!(
        with(&|b| b.practitioner_id = Some("dr2".into())),
        Some(Change::Moved)
    );
    assert_eq!(with(&|b| b.location = None), Some(Change::Moved));
    assert_eq!(with(&|b| b.status = S::Cancelled), Some(Change::Cancelled));
    assert_eq!(with(&|b| b.status = S::NoShow), Some(Change::Missed));
    assert_eq!(with(&|b| b.status = S::Confirmed), None);
    assert_eq!(
        with(&|b| b.appointment_type = Some("Check-up".into())),
        None
    );
    // Confirmed and moved at once: still moved.
    assert_eq!(
        with(&|b| {
            b.status = S::Confirmed;
            b.start += Duration::days(1);
        }),
        Some(Change::Moved)
    );
    // A completed appointment whose record is corrected is not news.
    let done = AppointmentFields {
        status: S::Completed,
        ..a.clone()
    };
    let moved = AppointmentFields {
        start: start + Duration::hours(1),
        ..done.clone()
    };
    assert_eq!(change_of(&done, &moved, &DEFAULT_STATUSES), None);
}

#[test]
fn an_email_reminder_with_a_subject_is_taken_and_one_without_is_refused_naming_it() {
    let caps = Caps::default();
    let clinic = Values::default();
    let limits = Limits {
        max_sms_length: 480,
        caps: &caps,
        clinic: &clinic,
    };
    let input = |subject: Option<&str>| ReminderSettingsInput {
        channels: Some(ReminderChannels {
            sms: None,
            email: Some(ReminderCopy {
                subject: subject.map(str::to_owned),
                body: "See you soon:".into(),
                append: vec![],
            }),
        }),
        rules: Some(vec![RuleInput {
            kind: RuleKind::HoursBefore,
            minutes: None,
            hours: Some(24),
            days: None,
            at: None,
        }]),
        ..Default::default()
    };
    assert!(input(Some("Your appointment")).validate(&limits).is_ok());
    let e = input(None).validate(&limits).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.code),
        ("channels.email.subject", "required")
    );
}

#[test]
fn a_message_held_in_quiet_hours_goes_when_they_end() {
    let q = QuietHours {
        start: crate::local_time::HourMinute(chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap()),
        end: crate::local_time::HourMinute(chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()),
    };
    let sydney = tz("Australia/Sydney");
    // 22:30 in Sydney (AEDT, +11) on 6 December: the end is 08:00 the next morning.
    let late = utc("2026-12-06T11:30:00Z");
    assert!(q.contains(late, sydney));
    assert_eq!(q.end_after(late, sydney), utc("2026-12-06T21:00:00Z"));
    // 06:00: the end is 08:00 the same morning.
    let early = utc("2026-12-06T19:00:00Z");
    assert_eq!(q.end_after(early, sydney), utc("2026-12-06T21:00:00Z"));
}
