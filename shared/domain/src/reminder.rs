//! Appointment reminders: the settings a clinic (or one practitioner) keeps, the rules that say
//! when a reminder is due, quiet hours, and the time windows a sweep reads.
//!
//! A sweep covers the due times in `(from, to]`. For each rule it turns that range into the
//! appointments to read: by start time (`hours_before`, `days_before`) or by creation time
//! (`at_creation`, `after_creation`). A reminder is identified by its appointment, its rule
//! and the appointment's start time, so moving an appointment produces new reminders and a
//! repeated sweep produces none.

use crate::appointment::AppointmentStatus;
use crate::local_time::{HourMinute, instant, midnight};
use crate::message_template::{Channel, MAX_SUBJECT, compile_parts};
use crate::template::{Caps, Placeholder, Values};
use crate::{FieldError, sms};
use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// At most this many rules per settings.
pub const MAX_RULES: usize = 10;
/// What an SMS reminder asks when the clinic wants a YES/NO answer.
/// It invites no opt-out word: a patient who answers CANCEL opts out of every SMS (carriers
/// require it), so the prompt asks for NO.
pub const REPLY_PROMPT: &str = "Reply YES to confirm or NO if you can't come.";
/// The statuses that get reminders unless the settings say otherwise.
pub const DEFAULT_STATUSES: [AppointmentStatus; 3] = [
    AppointmentStatus::Scheduled,
    AppointmentStatus::Confirmed,
    AppointmentStatus::OutOfReach,
];

/// When a reminder goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// When the appointment is booked.
    AtCreation,
    /// A delay after the appointment is booked.
    AfterCreation { minutes: u32 },
    /// A number of hours before the appointment starts.
    HoursBefore { hours: u32 },
    /// A number of days before the appointment's date, at a fixed local time.
    DaysBefore { days: u32, at: HourMinute },
}

/// The kinds of [`Rule`], as a client names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    AtCreation,
    AfterCreation,
    HoursBefore,
    DaysBefore,
}

impl RuleKind {
    fn name(self) -> &'static str {
        match self {
            RuleKind::AtCreation => "at_creation",
            RuleKind::AfterCreation => "after_creation",
            RuleKind::HoursBefore => "hours_before",
            RuleKind::DaysBefore => "days_before",
        }
    }
}

/// A rule as a client sends it: `{"kind": "days_before", "days": 2, "at": "09:00"}`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub kind: RuleKind,
    pub minutes: Option<u32>,
    pub hours: Option<u32>,
    pub days: Option<u32>,
    pub at: Option<String>,
}

impl RuleInput {
    fn validate(&self, i: usize) -> Result<Rule, FieldError> {
        let field = |name: &str| format!("rules[{i}].{name}");
        let number = |name: &str, v: Option<u32>, max: u32| {
            let v = v.ok_or_else(|| FieldError::required(&field(name)))?;
            if (1..=max).contains(&v) {
                Ok(v)
            } else {
                Err(FieldError::new(
                    field(name),
                    "out_of_range",
                    format!("{} must be from 1 to {max}", field(name)),
                ))
            }
        };
        let only = |allowed: &[&str]| {
            let given = [
                ("minutes", self.minutes.is_some()),
                ("hours", self.hours.is_some()),
                ("days", self.days.is_some()),
                ("at", self.at.is_some()),
            ];
            match given.iter().find(|(n, set)| *set && !allowed.contains(n)) {
                Some((n, _)) => Err(FieldError::new(
                    field(n),
                    "not_allowed",
                    format!("an {} rule has no {n}", self.kind.name()),
                )),
                None => Ok(()),
            }
        };
        Ok(match self.kind {
            RuleKind::AtCreation => {
                only(&[])?;
                Rule::AtCreation
            }
            RuleKind::AfterCreation => {
                only(&["minutes"])?;
                Rule::AfterCreation {
                    minutes: number("minutes", self.minutes, 10_080)?,
                }
            }
            RuleKind::HoursBefore => {
                only(&["hours"])?;
                Rule::HoursBefore {
                    hours: number("hours", self.hours, 720)?,
                }
            }
            RuleKind::DaysBefore => {
                only(&["days", "at"])?;
                let at = self
                    .at
                    .as_deref()
                    .ok_or_else(|| FieldError::required(&field("at")))?;
                Rule::DaysBefore {
                    days: number("days", self.days, 60)?,
                    at: HourMinute::parse(&field("at"), at)?,
                }
            }
        })
    }
}

/// Where a sweep reads the appointments one rule may remind of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// Appointments starting in `[from, to)`.
    Starts(DateTime<Utc>, DateTime<Utc>),
    /// Appointments created in `[from, to)`.
    Created(DateTime<Utc>, DateTime<Utc>),
}

impl Rule {
    /// A stable name: part of each reminder's identity, so re-saving the same rules never
    /// sends a reminder again.
    pub fn id(&self) -> String {
        match self {
            Rule::AtCreation => "at_creation".into(),
            Rule::AfterCreation { minutes } => format!("after_creation:{minutes}m"),
            Rule::HoursBefore { hours } => format!("hours_before:{hours}h"),
            Rule::DaysBefore { days, at } => format!("days_before:{days}d@{at}"),
        }
    }

    /// When this rule's reminder of an appointment is due.
    pub fn due(&self, start: DateTime<Utc>, created: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match *self {
            Rule::AtCreation => created,
            Rule::AfterCreation { minutes } => created + Duration::minutes(i64::from(minutes)),
            Rule::HoursBefore { hours } => start - Duration::hours(i64::from(hours)),
            Rule::DaysBefore { days, at } => {
                let date = start.with_timezone(&tz).date_naive();
                let day = date
                    .checked_sub_days(Days::new(u64::from(days)))
                    .unwrap_or(date);
                instant(tz, day, at.0)
            }
        }
    }

    /// The appointments to read for reminders due in `(from, to]`. Every appointment whose
    /// reminder is due then is in a window; a window may hold others (check with [`Rule::due`]).
    pub fn windows(&self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<Window> {
        // Keys hold whole seconds: (a, b] is [a + 1 s, b + 1 s).
        let sec = Duration::seconds(1);
        match *self {
            Rule::AtCreation => vec![Window::Created(from + sec, to + sec)],
            Rule::AfterCreation { minutes } => {
                let d = Duration::minutes(i64::from(minutes));
                vec![Window::Created(from - d + sec, to - d + sec)]
            }
            Rule::HoursBefore { hours } => {
                let d = Duration::hours(i64::from(hours));
                vec![Window::Starts(from + d + sec, to + d + sec)]
            }
            Rule::DaysBefore { days, at } => {
                let first = from.with_timezone(&tz).date_naive();
                let last = to.with_timezone(&tz).date_naive();
                let mut out = Vec::new();
                let mut day = first;
                while day <= last {
                    let due = instant(tz, day, at.0);
                    if due > from
                        && due <= to
                        && let Some(date) = day.checked_add_days(Days::new(u64::from(days)))
                    {
                        let next = date.succ_opt().unwrap_or(date);
                        out.push(Window::Starts(midnight(tz, date), midnight(tz, next)));
                    }
                    match day.succ_opt() {
                        Some(d) => day = d,
                        None => break,
                    }
                }
                out
            }
        }
    }
}

/// Hours in the clinic's time zone when no reminder is sent: one that falls inside them is
/// sent when they end, unless the appointment has started by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QuietHours {
    pub start: HourMinute,
    pub end: HourMinute,
}

impl QuietHours {
    /// The first end of the quiet hours after `at`: when a message held in them goes.
    pub fn end_after(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let today = at.with_timezone(&tz).date_naive();
        let end = instant(tz, today, self.end.0);
        if end > at {
            end
        } else {
            instant(tz, today + Days::new(1), self.end.0)
        }
    }

    /// Whether the local time of `at` is inside the quiet hours (which may span midnight).
    pub fn contains(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        let t = at.with_timezone(&tz).time();
        let (s, e) = (self.start.0, self.end.0);
        if s <= e {
            s <= t && t < e
        } else {
            t >= s || t < e
        }
    }
}

/// An appointment detail appended to a reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// Date and time, e.g. `Tue 24 Nov 09:30`.
    DateTime,
    Practitioner,
    Room,
}

impl Element {
    fn cap(self, caps: &Caps) -> usize {
        match self {
            Element::DateTime => caps.date_time,
            Element::Practitioner => caps.practitioner,
            Element::Room => caps.location,
        }
    }
}

/// The values of an appointment's elements (those it has).
#[derive(Debug, Clone, Default)]
pub struct Elements {
    pub date_time: Option<String>,
    pub practitioner: Option<String>,
    pub room: Option<String>,
}

impl Elements {
    fn get(&self, e: Element) -> Option<&str> {
        match e {
            Element::DateTime => self.date_time.as_deref(),
            Element::Practitioner => self.practitioner.as_deref(),
            Element::Room => self.room.as_deref(),
        }
    }
}

/// The words of a reminder on one channel: the clinic's body (a template, e.g. starting with
/// `{{ first_name }}`) followed by the appointment elements it lists, each cut to its cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReminderCopy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    #[serde(default)]
    pub append: Vec<Element>,
}

impl ReminderCopy {
    /// The text after the rendered body: each element the appointment has, then the reply
    /// prompt when asked for.
    pub fn suffix(&self, elements: &Elements, caps: &Caps, prompt: bool) -> String {
        let mut out = String::new();
        for &e in &self.append {
            if let Some(v) = elements.get(e) {
                let cut: String = v.trim().chars().take(e.cap(caps)).collect();
                out.push(' ');
                out.push_str(cut.trim_end());
            }
        }
        if prompt {
            out.push(' ');
            out.push_str(REPLY_PROMPT);
        }
        out
    }

    /// The longest this copy can be as an SMS: every placeholder and element at its cap.
    fn worst_sms_chars(
        &self,
        caps: &Caps,
        clinic: &Values,
        prompt: bool,
        at: &str,
    ) -> Result<usize, FieldError> {
        let compiled = compile_parts(Channel::Sms, None, &self.body, None)
            .map_err(|e| e.within(&format!("{at}.sms")))?;
        let mut values = clinic.clone();
        let long = "W".repeat(200);
        for p in compiled.body.placeholders() {
            if values.get(*p).is_none() {
                values.set(*p, long.clone());
            }
        }
        let body = compiled.body.render(&values, caps).map_err(|e| {
            FieldError::new(format!("{at}.sms.body"), "invalid_template", e.to_string())
        })?;
        let all = Elements {
            date_time: Some(long.clone()),
            practitioner: Some(long.clone()),
            room: Some(long),
        };
        Ok(sms::shape(&(body + &self.suffix(&all, caps, prompt))).characters)
    }
}

/// A reminder template per channel; a channel without one is not used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReminderChannels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<ReminderCopy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<ReminderCopy>,
}

impl ReminderChannels {
    pub fn get(&self, channel: Channel) -> Option<&ReminderCopy> {
        match channel {
            Channel::Sms => self.sms.as_ref(),
            Channel::Email => self.email.as_ref(),
        }
    }
}

/// Reminder settings as a client sends them (`PUT` replaces them whole).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettingsInput {
    pub enabled: Option<bool>,
    pub channels: Option<ReminderChannels>,
    pub rules: Option<Vec<RuleInput>>,
    pub statuses: Option<Vec<AppointmentStatus>>,
    pub quiet_hours: Option<QuietHours>,
    pub ask_for_reply: Option<bool>,
    pub on_change: Option<ReminderChannels>,
    pub on_cancel: Option<ReminderChannels>,
    pub on_missed: Option<ReminderChannels>,
    pub after_visit: Option<AfterVisitInput>,
}

/// The longest after-visit delay.
pub const MAX_AFTER_VISIT_HOURS: u32 = 720;
/// The longest link an after-visit message carries.
pub const MAX_LINK_CHARS: usize = 500;

/// `after_visit` as a client sends it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterVisitInput {
    pub hours: Option<u32>,
    pub link: Option<String>,
    pub sms: Option<ReminderCopy>,
    pub email: Option<ReminderCopy>,
}

/// A follow-up `hours` after an appointment becomes `completed` (a feedback form, say, as
/// `{{ link }}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AfterVisit {
    pub hours: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(flatten)]
    pub channels: ReminderChannels,
}

impl AfterVisitInput {
    fn validate(self, limits: &Limits<'_>) -> Result<AfterVisit, FieldError> {
        let hours = self
            .hours
            .ok_or_else(|| FieldError::required("after_visit.hours"))?;
        if !(1..=MAX_AFTER_VISIT_HOURS).contains(&hours) {
            return Err(FieldError::new(
                "after_visit.hours",
                "out_of_range",
                format!("after_visit.hours must be from 1 to {MAX_AFTER_VISIT_HOURS}"),
            ));
        }
        let link = self
            .link
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        if let Some(l) = &link {
            let ok = l.chars().count() <= MAX_LINK_CHARS
                && url::Url::parse(l).is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
            if !ok {
                return Err(FieldError::new(
                    "after_visit.link",
                    "invalid",
                    format!(
                        "after_visit.link must be an https URL of at most {MAX_LINK_CHARS} characters"
                    ),
                ));
            }
        }
        let channels = ReminderChannels {
            sms: self.sms,
            email: self.email,
        };
        if channels.sms.is_none() && channels.email.is_none() {
            return Err(FieldError::new(
                "after_visit",
                "required",
                "after_visit needs an sms or email template",
            ));
        }
        let uses_link = [&channels.sms, &channels.email]
            .into_iter()
            .flatten()
            .any(|c| {
                compile_parts(Channel::Sms, None, &c.body, None)
                    .is_ok_and(|m| m.body.placeholders().contains(&Placeholder::Link))
            });
        if uses_link && link.is_none() {
            return Err(FieldError::new(
                "after_visit.link",
                "required",
                "the message uses {{ link }}: give the link",
            ));
        }
        // Its SMS is measured with the link itself, not a worst-case value.
        let mut values = limits.clinic.clone();
        if let Some(l) = &link {
            values.set(Placeholder::Link, l.clone());
        }
        let limits = Limits {
            clinic: &values,
            ..*limits
        };
        check_channels(&channels, "after_visit", &limits, false, true)?;
        Ok(AfterVisit {
            hours,
            link,
            channels,
        })
    }
}

/// Validated reminder settings of a clinic or of one practitioner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReminderSettings {
    pub enabled: bool,
    pub channels: ReminderChannels,
    pub rules: Vec<Rule>,
    pub statuses: Vec<AppointmentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    pub ask_for_reply: bool,
    /// Messages of an appointment's changes (`on_change`, `on_cancel`, `on_missed`).
    #[serde(flatten, default)]
    pub lifecycle: Lifecycle,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_visit: Option<AfterVisit>,
}

impl Default for ReminderSettings {
    /// Off, until the clinic writes its reminder.
    fn default() -> Self {
        Self {
            enabled: false,
            channels: ReminderChannels::default(),
            rules: Vec::new(),
            statuses: DEFAULT_STATUSES.to_vec(),
            quiet_hours: None,
            ask_for_reply: false,
            lifecycle: Lifecycle::default(),
            after_visit: None,
        }
    }
}

/// What a clinic's settings bound a reminder by.
pub struct Limits<'a> {
    pub max_sms_length: usize,
    pub caps: &'a Caps,
    /// The clinic's own values (name, phone).
    pub clinic: &'a Values,
}

impl ReminderSettingsInput {
    pub fn validate(self, limits: &Limits<'_>) -> Result<ReminderSettings, FieldError> {
        let enabled = self.enabled.unwrap_or(true);
        let channels = self.channels.unwrap_or_default();
        let rules = self
            .rules
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, r)| r.validate(i))
            .collect::<Result<Vec<_>, _>>()?;
        let ask_for_reply = self.ask_for_reply.unwrap_or(false);
        let timed = !(rules.is_empty()
            && (self.on_change.is_some()
                || self.on_cancel.is_some()
                || self.on_missed.is_some()
                || self.after_visit.is_some()));
        if enabled && timed && channels.sms.is_none() && channels.email.is_none() {
            return Err(FieldError::new(
                "channels",
                "required",
                "enabled reminders need an sms or email template",
            ));
        }
        if enabled && timed && rules.is_empty() {
            return Err(FieldError::new(
                "rules",
                "required",
                "enabled reminders need at least one rule",
            ));
        }
        if rules.len() > MAX_RULES {
            return Err(FieldError::new(
                "rules",
                "too_many",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].contains(r) {
                return Err(FieldError::new(
                    format!("rules[{i}]"),
                    "duplicate",
                    "this rule is listed twice",
                ));
            }
        }
        let statuses = self.statuses.unwrap_or_else(|| DEFAULT_STATUSES.to_vec());
        if statuses.is_empty() {
            return Err(FieldError::new(
                "statuses",
                "required",
                "list at least one appointment status",
            ));
        }
        if let Some(q) = &self.quiet_hours
            && q.start == q.end
        {
            return Err(FieldError::new(
                "quiet_hours.end",
                "invalid",
                "quiet hours must end at another time than they start",
            ));
        }
        check_channels(&channels, "channels", limits, ask_for_reply, false)?;
        let lifecycle = Lifecycle {
            on_change: self.on_change,
            on_cancel: self.on_cancel,
            on_missed: self.on_missed,
        };
        for (name, copy) in lifecycle.all() {
            if copy.sms.is_none() && copy.email.is_none() {
                return Err(FieldError::new(
                    name,
                    "required",
                    format!("{name} needs an sms or email template"),
                ));
            }
            check_channels(copy, name, limits, false, false)?;
        }
        let after_visit = self.after_visit.map(|a| a.validate(limits)).transpose()?;
        Ok(ReminderSettings {
            enabled,
            channels,
            rules,
            statuses,
            quiet_hours: self.quiet_hours,
            ask_for_reply,
            lifecycle,
            after_visit,
        })
    }
}

/// Checks the copies of `channels`, naming fields under `at` (`channels`, `on_change`, …).
fn check_channels(
    channels: &ReminderChannels,
    at: &str,
    limits: &Limits<'_>,
    ask_for_reply: bool,
    link: bool,
) -> Result<(), FieldError> {
    if let Some(sms) = &channels.sms {
        check_copy(sms, at, "sms", link)?;
        let worst = sms.worst_sms_chars(limits.caps, limits.clinic, ask_for_reply, at)?;
        if worst > limits.max_sms_length {
            return Err(FieldError::new(
                format!("{at}.sms.body"),
                "too_long",
                format!(
                    "with every name and element at its length cap this SMS is {worst} characters; the clinic's max_sms_length is {}",
                    limits.max_sms_length
                ),
            ));
        }
    }
    if let Some(email) = &channels.email {
        check_copy(email, at, "email", link)?;
        if email.subject.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(FieldError::required(&format!("{at}.email.subject")));
        }
        compile_parts(Channel::Email, email.subject.as_deref(), &email.body, None)
            .map_err(|e| e.within(&format!("{at}.email")))?;
    }
    Ok(())
}

/// What happens to a booked appointment that its patient is told of at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its time, practitioner or location moved: the message carries the new details.
    Moved,
    /// The practice cancelled it.
    Cancelled,
    /// It was marked `no_show`.
    Missed,
}

impl Change {
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Moved, Self::Cancelled, Self::Missed]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moved => "on_change",
            Self::Cancelled => "on_cancel",
            Self::Missed => "on_missed",
        }
    }
}

/// The messages of an appointment's changes; a change without one sends nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_change: Option<ReminderChannels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_cancel: Option<ReminderChannels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_missed: Option<ReminderChannels>,
}

impl Lifecycle {
    pub fn get(&self, change: Change) -> Option<&ReminderChannels> {
        match change {
            Change::Moved => self.on_change.as_ref(),
            Change::Cancelled => self.on_cancel.as_ref(),
            Change::Missed => self.on_missed.as_ref(),
        }
    }

    /// Each message there is, with its field name.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &ReminderChannels)> {
        [Change::Moved, Change::Cancelled, Change::Missed]
            .into_iter()
            .filter_map(|c| self.get(c).map(|copy| (c.as_str(), copy)))
    }
}

/// The change from `before` to `after` its patient is told of, if any: a status that became
/// `cancelled` or `no_show`, or (for an appointment still to come, in a status reminders
/// cover) a new time, practitioner or location.
pub fn change_of(
    before: &crate::appointment::AppointmentFields,
    after: &crate::appointment::AppointmentFields,
    covered: &[AppointmentStatus],
) -> Option<Change> {
    if after.status != before.status {
        match after.status {
            AppointmentStatus::Cancelled => return Some(Change::Cancelled),
            AppointmentStatus::NoShow => return Some(Change::Missed),
            _ => {}
        }
    }
    let moved = after.start != before.start
        || after.practitioner_id != before.practitioner_id
        || after.location != before.location;
    (moved && covered.contains(&after.status)).then_some(Change::Moved)
}

fn check_copy(c: &ReminderCopy, at: &str, channel: &str, link: bool) -> Result<(), FieldError> {
    if c.body.trim().is_empty() {
        return Err(FieldError::required(&format!("{at}.{channel}.body")));
    }
    if c.subject
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SUBJECT)
    {
        return Err(FieldError::new(
            format!("{at}.{channel}.subject"),
            "too_long",
            format!("at most {MAX_SUBJECT} characters"),
        ));
    }
    // An email's subject is compiled with its body (without it, every email copy was refused
    // as having no subject).
    let (kind, subject) = if channel == "sms" {
        (Channel::Sms, None)
    } else {
        (Channel::Email, Some(c.subject.as_deref().unwrap_or("")))
    };
    let compiled = compile_parts(kind, subject, &c.body, None)
        .map_err(|e| e.within(&format!("{at}.{channel}")))?;
    if !link && compiled.body.placeholders().contains(&Placeholder::Link) {
        return Err(FieldError::new(
            format!("{at}.{channel}.body"),
            "unknown_placeholder",
            "reminders have no link to insert",
        ));
    }
    for (i, e) in c.append.iter().enumerate() {
        if c.append[..i].contains(e) {
            return Err(FieldError::new(
                format!("{at}.{channel}.append[{i}]"),
                "duplicate",
                "this element is listed twice",
            ));
        }
    }
    Ok(())
}

impl ReminderSettings {
    /// Whether a reminder under these settings goes to an appointment in `status`.
    pub fn covers(&self, status: AppointmentStatus) -> bool {
        self.enabled && self.statuses.contains(&status)
    }
}

/// What becomes of a due reminder when the sweep reaches it at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// It fell inside quiet hours and the appointment had started when they ended.
    SkipQuietHours,
    /// The appointment had started before the reminder could go out.
    SkipStarted,
}

/// Decides a reminder due at `due` (already `<= now`) for an appointment starting at `start`.
pub fn decide(
    due: DateTime<Utc>,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    quiet: Option<&QuietHours>,
    tz: Tz,
) -> Decision {
    if start > now {
        return Decision::Send;
    }
    if quiet.is_some_and(|q| q.contains(due, tz)) {
        Decision::SkipQuietHours
    } else {
        Decision::SkipStarted
    }
}

/// The local time a reminder's `HH:MM` elements are shown in: `Tue 24 Nov 09:30`.
pub fn date_time_element(start: DateTime<Utc>, tz: Tz) -> String {
    start
        .with_timezone(&tz)
        .format("%a %-d %b %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests;
