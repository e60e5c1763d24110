//! Campaigns: what to send to a report's (or an uploaded list's) audience, when, and how often.
//!
//! A campaign's schedule becomes an EventBridge Scheduler expression in the clinic's time zone.
//! Each firing is a run, named by the campaign and the firing's scheduled time, so every copy of
//! the same firing (Scheduler delivers at least once) works on the same run, and every message
//! of a run has an id derived from who it is for: one person, one channel, one message.

use crate::digest::sha256_hex;
use crate::message_template::Channel;
use crate::schedule_expression::{CronFields, rate_period};
use crate::{FieldError, text};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// How far in the past `send_at` may be and still mean "now".
pub const SEND_AT_GRACE_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Scheduled,
    Sending,
    Sent,
    Paused,
    Cancelled,
    Failed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        [
            Self::Scheduled,
            Self::Sending,
            Self::Sent,
            Self::Paused,
            Self::Cancelled,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value.trim())
        .ok_or_else(|| {
            FieldError::new(
                field,
                "invalid",
                format!(
                    "{field} must be one of scheduled, sending, sent, paused, cancelled, failed"
                ),
            )
        })
    }

    /// Whether the campaign may still fire (and so may be cancelled).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Scheduled | Self::Sending | Self::Paused)
    }
}

/// How often a campaign repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    Daily,
    Weekly,
    Monthly,
    /// An EventBridge Scheduler `cron(...)` or `rate(...)` expression.
    Expression(String),
}

impl Repeat {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let v = value.trim();
        match v {
            "daily" => return Ok(Self::Daily),
            "weekly" => return Ok(Self::Weekly),
            "monthly" => return Ok(Self::Monthly),
            _ => {}
        }
        let bad = |why: &str| {
            FieldError::new(
                "repeat",
                "invalid",
                format!(
                    "repeat must be daily, weekly, monthly, cron(min hour day-of-month month day-of-week year) or rate(N minutes|hours|days): {why}"
                ),
            )
        };
        if let Some(inner) = v.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
            let fields: Vec<&str> = inner.split_whitespace().collect();
            if fields.len() != 6 {
                return Err(bad("a cron expression has 6 fields"));
            }
            if !fields.iter().all(|f| {
                f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ",-*/?#L".contains(c))
            }) {
                return Err(bad("unexpected character"));
            }
            if (fields[2] == "?") == (fields[4] == "?") {
                return Err(bad("exactly one of day-of-month and day-of-week must be ?"));
            }
            CronFields::parse(&fields.join(" ")).map_err(|e| bad(&e))?;
            return Ok(Self::Expression(format!("cron({})", fields.join(" "))));
        }
        if let Some(inner) = v.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            let mut parts = inner.split_whitespace();
            let n: u32 = parts
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("rate needs a whole number from 1"))?;
            let unit = parts.next().unwrap_or_default();
            let ok_unit = if n == 1 {
                ["minute", "hour", "day"].contains(&unit)
            } else {
                ["minutes", "hours", "days"].contains(&unit)
            };
            if !ok_unit || parts.next().is_some() {
                return Err(bad("rate unit must be minute(s), hour(s) or day(s)"));
            }
            return Ok(Self::Expression(format!("rate({n} {unit})")));
        }
        Err(bad("unknown form"))
    }

    /// How often a `rate()` expression fires: from its first firing, in elapsed time.
    pub fn rate_period(&self) -> Option<Duration> {
        match self {
            Repeat::Expression(e) => rate_period(e),
            _ => None,
        }
    }

    /// The Scheduler expression, evaluated in the clinic's time zone, repeating at the local
    /// time of the first send. A monthly campaign first sent after the 28th runs on the last
    /// day of each month.
    pub fn expression(&self, first_local: NaiveDateTime) -> String {
        let (m, h) = (first_local.minute(), first_local.hour());
        match self {
            Repeat::Daily => format!("cron({m} {h} * * ? *)"),
            Repeat::Weekly => {
                let dow = first_local.weekday().number_from_sunday();
                format!("cron({m} {h} ? * {dow} *)")
            }
            Repeat::Monthly => {
                let d = first_local.day();
                let dom = if d > 28 {
                    "L".to_owned()
                } else {
                    d.to_string()
                };
                format!("cron({m} {h} {dom} * ? *)")
            }
            Repeat::Expression(e) => e.clone(),
        }
    }

    /// The next local firing time strictly after `after_local`, and at or after `first_local`
    /// (the first firing of a named repeat, the start of an expression's schedule); `None` for
    /// a `rate()` (see [`Repeat::rate_period`]) or a cron expression that names no later time.
    pub fn next_after(
        &self,
        first_local: NaiveDateTime,
        after_local: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        if let Repeat::Expression(e) = self {
            let fields = e.strip_prefix("cron(")?.strip_suffix(')')?;
            let from = after_local.max(first_local - Duration::seconds(1));
            return CronFields::parse(fields).ok()?.next_after(from);
        }
        let mut t = first_local;
        let step = |t: NaiveDateTime| -> Option<NaiveDateTime> {
            match self {
                Repeat::Daily => Some(t + Duration::days(1)),
                Repeat::Weekly => Some(t + Duration::days(7)),
                Repeat::Monthly => {
                    let d = first_local.day();
                    let next = t.checked_add_months(chrono::Months::new(1))?;
                    if d > 28 {
                        // last day of next's month
                        let first_next = next.with_day(1)?;
                        let last = first_next.checked_add_months(chrono::Months::new(1))?
                            - Duration::days(1);
                        Some(last)
                    } else {
                        Some(next)
                    }
                }
                Repeat::Expression(_) => None,
            }
        };
        if t > after_local {
            return Some(t);
        }
        // Jump close first so that a years-old daily campaign does not loop for long.
        if matches!(self, Repeat::Daily | Repeat::Weekly) {
            let period = if *self == Repeat::Daily { 1 } else { 7 };
            let behind = (after_local - t).num_days() / period;
            t += Duration::days(behind.saturating_sub(1) * period);
        }
        for _ in 0..2000 {
            t = step(t)?;
            if t > after_local {
                return Some(t);
            }
        }
        None
    }
}

/// The templates a campaign sends, per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignChannels {
    pub sms: Option<String>,
    pub email: Option<String>,
}

impl CampaignChannels {
    /// The channels in use with their template ids.
    pub fn used(&self) -> Vec<(Channel, &str)> {
        let mut out = Vec::new();
        if let Some(t) = &self.sms {
            out.push((Channel::Sms, t.as_str()));
        }
        if let Some(t) = &self.email {
            out.push((Channel::Email, t.as_str()));
        }
        out
    }
}

/// Who a campaign goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceSource {
    Report(String),
    Upload(String),
}

/// `POST /campaigns` as a client sends it.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: Option<String>,
    pub report_id: Option<String>,
    pub upload_id: Option<String>,
    pub channels: Option<CampaignChannels>,
    pub send_at: Option<String>,
    pub repeat: Option<String>,
    pub notify_contacts: Option<bool>,
    pub on_behalf_of: Option<String>,
}

/// A validated campaign request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignFields {
    pub name: String,
    pub audience: AudienceSource,
    pub channels: CampaignChannels,
    /// The first (or only) send.
    pub send_at: DateTime<Utc>,
    pub repeat: Option<Repeat>,
    pub notify_contacts: bool,
    pub on_behalf_of: Option<String>,
}

impl CampaignInput {
    /// Validates the request made at `now`.
    pub fn validate(self, now: DateTime<Utc>) -> Result<CampaignFields, FieldError> {
        let name = text::required("name", self.name.as_deref().unwrap_or_default(), 200)?;
        let audience = match (self.report_id, self.upload_id) {
            (Some(r), None) => AudienceSource::Report(text::required("report_id", &r, 64)?),
            (None, Some(u)) => AudienceSource::Upload(text::required("upload_id", &u, 64)?),
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "upload_id",
                    "not_allowed",
                    "give report_id or upload_id, not both",
                ));
            }
            (None, None) => {
                return Err(FieldError::new(
                    "report_id",
                    "required",
                    "give report_id or upload_id",
                ));
            }
        };
        let channels = self
            .channels
            .ok_or_else(|| FieldError::required("channels"))?;
        let channels = CampaignChannels {
            sms: text::optional("channels.sms", channels.sms.as_deref(), 64)?,
            email: text::optional("channels.email", channels.email.as_deref(), 64)?,
        };
        if channels.used().is_empty() {
            return Err(FieldError::new(
                "channels",
                "required",
                "channels must name an sms and/or an email template",
            ));
        }
        let send_at = match self.send_at.as_deref().map(str::trim) {
            None | Some("") => now,
            Some(v) => {
                let t = crate::appointment::parse_time("send_at", v)?;
                if t < now - Duration::seconds(SEND_AT_GRACE_SECS) {
                    return Err(FieldError::new(
                        "send_at",
                        "in_the_past",
                        "send_at must not be in the past",
                    ));
                }
                if t > now + Duration::days(366 * 2) {
                    return Err(FieldError::new(
                        "send_at",
                        "out_of_range",
                        "send_at must be within two years",
                    ));
                }
                t.max(now)
            }
        };
        let repeat = self.repeat.as_deref().map(Repeat::parse).transpose()?;
        if let Some(r @ Repeat::Expression(_)) = &repeat
            && r.rate_period().is_none()
        {
            let from = send_at.naive_utc();
            if r.next_after(from, from).is_none() {
                return Err(FieldError::new(
                    "repeat",
                    "never",
                    "the cron expression names no time from send_at on",
                ));
            }
        }
        Ok(CampaignFields {
            name,
            audience,
            channels,
            send_at,
            repeat,
            notify_contacts: self.notify_contacts.unwrap_or(false),
            on_behalf_of: text::optional("on_behalf_of", self.on_behalf_of.as_deref(), 64)?,
        })
    }
}

/// What a run (or the last run of a campaign) did.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Messages planned (one per person and channel, plus contact copies).
    pub recipients: u64,
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Waiting for credits while the run is paused.
    #[serde(default)]
    pub held: u64,
    /// Held, then never sent (no top-up within [`PAUSE_LIMIT_HOURS`], or cancelled).
    #[serde(default)]
    pub not_sent: u64,
    /// Claimed by a copy that stopped after it may have handed them over: outcome unknown.
    /// Shown when there are any.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unconfirmed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Campaign {
    pub id: String,
    #[serde(flatten)]
    pub fields: CampaignFields,
    pub status: CampaignStatus,
    /// Why the campaign failed or paused.
    pub status_reason: Option<String>,
    /// The Scheduler schedule that fires it and its expression.
    pub schedule_name: String,
    pub schedule_expression: String,
    /// The clinic's zone when the campaign was made: its schedule runs in it.
    #[schemars(with = "String")]
    pub time_zone: chrono_tz::Tz,
    pub runs: u32,
    pub last_run_id: Option<String>,
    /// Counts of the last run.
    pub counts: Counts,
    /// Credits used by every run, net of refunds.
    pub credits_used: i64,
    /// The key that made it (its content and schedule cannot change after): its messages
    /// record it as their `sent_by`. None for campaigns made before it was recorded.
    #[serde(default)]
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Campaign {
    /// When it will next fire, if it will.
    pub fn next_send_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !matches!(
            self.status,
            CampaignStatus::Scheduled | CampaignStatus::Sending
        ) {
            return None;
        }
        let tz = self.time_zone;
        match &self.fields.repeat {
            None => (self.runs == 0).then_some(self.fields.send_at),
            Some(r) => {
                if let Some(period) = r.rate_period() {
                    let first = self.fields.send_at;
                    if first > now {
                        return Some(first);
                    }
                    let periods = (now - first).num_seconds() / period.num_seconds().max(1) + 1;
                    return Some(first + period * i32::try_from(periods).ok()?);
                }
                let first = self.fields.send_at.with_timezone(&tz).naive_local();
                let after = now.with_timezone(&tz).naive_local();
                let next = r.next_after(first, after)?;
                tz.from_local_datetime(&next)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Sending,
    /// Out of credits, with the rest of its messages held until a top-up.
    Paused,
    Sent,
    Cancelled,
    Failed,
}

/// Why a run ended without sending to the rest of its audience. Its code (`Display`) is what
/// the run, its campaign (`status_reason`) and each message it did not send (`reason`) record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The campaign was cancelled.
    Cancelled,
    /// A run paused for credits reached its limit ([`PAUSE_LIMIT_HOURS`]) without a top-up.
    InsufficientCredits,
    /// The report the audience comes from was deleted.
    ReportDeleted,
    /// The upload the audience comes from was deleted.
    UploadDeleted,
    /// The clinic could not be read.
    ClinicUnavailable,
    /// The practitioner the campaign is sent on behalf of was deleted.
    PractitionerDeleted,
    /// A channel's template was deleted.
    TemplateUnavailable(Channel),
    /// A channel's template no longer compiles.
    TemplateInvalid(Channel),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Cancelled => f.write_str("cancelled"),
            StopReason::InsufficientCredits => f.write_str("insufficient_credits"),
            StopReason::ReportDeleted => f.write_str("report_deleted"),
            StopReason::UploadDeleted => f.write_str("upload_deleted"),
            StopReason::ClinicUnavailable => f.write_str("clinic_unavailable"),
            StopReason::PractitionerDeleted => f.write_str("practitioner_deleted"),
            StopReason::TemplateUnavailable(c) => write!(f, "template_unavailable: {}", c.as_str()),
            StopReason::TemplateInvalid(c) => write!(f, "template_invalid: {}", c.as_str()),
        }
    }
}

impl Serialize for StopReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One firing of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignRun {
    pub id: String,
    pub campaign_id: String,
    pub scheduled_time: DateTime<Utc>,
    pub status: RunStatus,
    pub reason: Option<String>,
    /// The audience position every person before which has been claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// How many times the run continued itself before its time ran out.
    pub continuations: u32,
    pub counts: Counts,
    pub credits: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Every person of the audience has been planned (sent, skipped or held).
    #[serde(default)]
    pub audience_done: bool,
    /// When the run last paused for credits; its held messages wait [`PAUSE_LIMIT_HOURS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// How many times the run paused for credits.
    #[serde(default)]
    pub pauses: u32,
    /// Credits reserved for the run's messages, by every copy of the run.
    #[serde(default)]
    pub reserved: i64,
    /// Credits of those reservations given back: for messages a copy did not claim, and when
    /// the run was settled.
    #[serde(default)]
    pub returned: i64,
    /// When the ended run gave back what was reserved and never used; no reservation or
    /// return is taken after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    /// The credit account the run's reservations were taken from, which a settlement pays
    /// back (set by each reservation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// How long a run paused for credits waits for a top-up before its held messages are
/// `not_sent`.
pub const PAUSE_LIMIT_HOURS: i64 = 24;

impl CampaignRun {
    /// The run `id` of `campaign_id` fired for `scheduled_time`, as it starts `now`: sending,
    /// nothing counted, checkpointed or reserved yet.
    pub fn start(
        id: String,
        campaign_id: String,
        scheduled_time: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            campaign_id,
            scheduled_time,
            status: RunStatus::Sending,
            reason: None,
            checkpoint: None,
            continuations: 0,
            counts: Counts::default(),
            credits: 0,
            started_at: now,
            finished_at: None,
            audience_done: false,
            paused_at: None,
            pauses: 0,
            reserved: 0,
            returned: 0,
            settled_at: None,
            account: None,
        }
    }

    /// Whether a paused run's wait for credits is over at `now`.
    pub fn pause_expired(&self, now: DateTime<Utc>) -> bool {
        self.paused_at
            .is_some_and(|at| now >= at + chrono::Duration::hours(PAUSE_LIMIT_HOURS))
    }
}

/// The id of the run of `campaign_id` fired for `scheduled_time`: a UUID v7 at that time (so
/// its messages sort by when they were sent), the same for every copy of the same firing.
pub fn run_id(campaign_id: &str, scheduled_time: DateTime<Utc>) -> String {
    let digest = sha2::Sha256::digest(format!("{campaign_id}|{}", scheduled_time.timestamp()));
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&digest[..10]);
    let ms = u64::try_from(scheduled_time.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes)
        .into_uuid()
        .to_string()
}

/// The id of the message of run `run_id` for one person on one channel: the same however
/// often the audience lists them, so a second claim of it fails.
pub fn message_id(
    run_id: &str,
    patient_id: &str,
    contact_id: Option<&str>,
    channel: Channel,
) -> String {
    let who = format!(
        "{patient_id}|{}|{}",
        contact_id.unwrap_or("-"),
        channel.as_str()
    );
    format!("{run_id}-{}", &sha256_hex(who.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stop_reasons_keep_the_codes_runs_and_messages_record() {
        let codes: Vec<String> = [
            StopReason::Cancelled,
            StopReason::InsufficientCredits,
            StopReason::ReportDeleted,
            StopReason::UploadDeleted,
            StopReason::ClinicUnavailable,
            StopReason::PractitionerDeleted,
            StopReason::TemplateUnavailable(Channel::Sms),
            StopReason::TemplateInvalid(Channel::Email),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            codes,
            [
                "cancelled",
                "insufficient_credits",
                "report_deleted",
                "upload_deleted",
                "clinic_unavailable",
                "practitioner_deleted",
                "template_unavailable: sms",
                "template_invalid: email"
            ]
        );
        assert_eq!(
            serde_json::to_value(StopReason::ReportDeleted).ok(),
            Some(serde_json::json!("report_deleted"))
        );
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn repeats_become_scheduler_expressions() {
        let first = local("2026-12-03 09:30"); // a Thursday
        assert_eq!(Repeat::Daily.expression(first), "cron(30 9 * * ? *)");
        assert_eq!(Repeat::Weekly.expression(first), "cron(30 9 ? * 5 *)");
        assert_eq!(Repeat::Monthly.expression(first), "cron(30 9 3 * ? *)");
        assert_eq!(
            Repeat::Monthly.expression(local("2026-01-31 08:00")),
            "cron(0 8 L * ? *)"
        );
        assert_eq!(
            Repeat::parse("cron(0 9 ? * MON-FRI *)").unwrap(),
            Repeat::Expression("cron(0 9 ? * MON-FRI *)".into())
        );
        assert_eq!(
            Repeat::parse("rate(2 hours)").unwrap(),
            Repeat::Expression("rate(2 hours)".into())
        );
        for bad in [
            "hourly",
            "cron(0 9 * * * *)",
            "cron(0 9 * *)",
            "rate(0 days)",
            "rate(2 weeks)",
            "cron(0 9 ? * MON;rm *)",
        ] {
            assert_eq!(Repeat::parse(bad).unwrap_err().field, "repeat", "{bad}");
        }
    }

    #[test]
    fn next_firing_of_named_repeats() {
        let first = local("2026-01-31 08:00");
        assert_eq!(
            Repeat::Monthly.next_after(first, local("2026-02-01 00:00")),
            Some(local("2026-02-28 08:00"))
        );
        assert_eq!(
            Repeat::Daily.next_after(first, local("2026-11-24 09:00")),
            Some(local("2026-11-25 08:00"))
        );
        assert_eq!(
            Repeat::Weekly.next_after(first, local("2026-01-31 07:00")),
            Some(first)
        );
    }

    #[test]
    fn next_send_of_cron_and_rate_expressions() {
        let send_at: DateTime<Utc> = "2026-11-26T01:00:00Z".parse().unwrap();
        let campaign = |repeat: &str| Campaign {
            id: "c".into(),
            fields: CampaignFields {
                name: "Recall".into(),
                audience: AudienceSource::Report("r".into()),
                channels: CampaignChannels::default(),
                send_at,
                repeat: Some(Repeat::parse(repeat).unwrap()),
                notify_contacts: false,
                on_behalf_of: None,
            },
            status: CampaignStatus::Scheduled,
            status_reason: None,
            schedule_name: "campaign-c".into(),
            schedule_expression: repeat.into(),
            time_zone: chrono_tz::Australia::Sydney,
            runs: 0,
            last_run_id: None,
            counts: Counts::default(),
            credits_used: 0,
            created_by: None,
            created_at: send_at,
            updated_at: send_at,
        };
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Mondays at 09:00 in Sydney (UTC+11 in summer): Sunday 22:00 UTC.
        let mondays = campaign("cron(0 9 ? * 2 *)");
        let next = mondays.next_send_at(at("2026-11-26T02:00:00Z"));
        assert_eq!(next, Some(at("2026-11-29T22:00:00Z")));
        // Not before the schedule starts, even when the expression names an earlier time.
        let hourly = campaign("cron(0 * * * ? *)");
        assert_eq!(
            hourly.next_send_at(at("2026-11-25T00:00:00Z")),
            Some(send_at)
        );
        // A rate counts from the first firing.
        let rate = campaign("rate(3 hours)");
        assert_eq!(rate.next_send_at(at("2026-11-25T00:00:00Z")), Some(send_at));
        assert_eq!(
            rate.next_send_at(at("2026-11-26T07:00:00Z")),
            Some(at("2026-11-26T10:00:00Z"))
        );
        let mut cancelled = rate.clone();
        cancelled.status = CampaignStatus::Cancelled;
        assert_eq!(cancelled.next_send_at(send_at), None);
    }

    #[test]
    fn run_and_message_ids_are_stable_and_distinct() {
        let t: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        let r = run_id("c1", t);
        assert_eq!(r, run_id("c1", t));
        assert_ne!(r, run_id("c2", t));
        assert_ne!(r, run_id("c1", t + Duration::days(1)));
        assert!(r < run_id("c1", t + Duration::seconds(1)));
        assert_eq!(r.len(), 36);
        assert_eq!(&r[14..15], "7");
        let a = message_id(&r, "p1", None, Channel::Sms);
        assert_eq!(a, message_id(&r, "p1", None, Channel::Sms));
        assert_ne!(a, message_id(&r, "p1", None, Channel::Email));
        assert_ne!(a, message_id(&r, "p1", Some("c"), Channel::Sms));
        assert!(a.len() <= 64);
    }

    #[test]
    fn input_is_checked() {
        let now: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        let ok = || CampaignInput {
            name: Some("Recall".into()),
            report_id: Some("r".into()),
            channels: Some(CampaignChannels {
                sms: Some("t".into()),
                email: None,
            }),
            ..Default::default()
        };
        assert_eq!(ok().validate(now).unwrap().send_at, now);
        let mut i = ok();
        i.send_at = Some("2026-11-24T09:00:00Z".into());
        assert_eq!(i.validate(now).unwrap_err().field, "send_at");
        let mut i = ok();
        i.channels = Some(CampaignChannels::default());
        assert_eq!(i.validate(now).unwrap_err().field, "channels");
        let mut i = ok();
        i.upload_id = Some("u".into());
        assert_eq!(i.validate(now).unwrap_err().field, "upload_id");
        let mut i = ok();
        i.repeat = Some("fortnightly".into());
        assert_eq!(i.validate(now).unwrap_err().field, "repeat");
        // Well formed, but no time to come: 31 February, a year gone by.
        for never in ["cron(0 9 31 2 ? *)", "cron(0 9 1 1 ? 2025)"] {
            let mut i = ok();
            i.repeat = Some(never.into());
            let e = i.validate(now).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("repeat", "never"), "{never}");
        }
        let mut i = ok();
        i.repeat = Some("cron(0 9 1 1 ? 2027)".into());
        assert!(i.validate(now).is_ok());
    }
}
