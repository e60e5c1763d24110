//! Business metrics in CloudWatch Embedded Metric Format: each emission is one JSON line on
//! stdout, which CloudWatch Logs turns into metrics in the `Tidings` namespace, by `Stage` (and
//! `Channel` for messages, `Reason` for refused webhooks). Counts only: never an id or a word of
//! patient data.

use crate::App;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tidings_domain::message::{Message, Outcome, Status};
use tidings_domain::message_template::Channel;

/// The CloudWatch namespace of every Tidings metric.
pub const NAMESPACE: &str = "Tidings";

/// One EMF line: `metrics` (name, value, unit) under `dimensions` (name, value).
pub fn line(
    at: DateTime<Utc>,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
) -> String {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).to_owned(), Value::from(*v));
    }
    for (name, value, _) in metrics {
        doc.insert((*name).to_owned(), json!(value));
    }
    Value::Object(doc).to_string()
}

/// Writes one EMF line to stdout, under the app's `Stage`, stamped by its clock.
pub fn emit(app: &App, extra: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    let mut dimensions = vec![("Stage", app.config.stage.as_str())];
    dimensions.extend_from_slice(extra);
    println!("{}", line(app.now(), &dimensions, metrics));
}

/// What became of messages, per channel: sent (or delivered), failed, skipped (or held, not
/// sent) and unconfirmed, and the credits they were debited and refunded.
#[derive(Debug, Default)]
pub struct MessageCounts {
    by: BTreeMap<&'static str, [f64; 6]>,
}

impl MessageCounts {
    const NAMES: [&'static str; 6] = [
        "MessagesSent",
        "MessagesFailed",
        "MessagesSkipped",
        "MessagesUnconfirmed",
        "CreditsDebited",
        "CreditsRefunded",
    ];

    pub fn add(&mut self, m: &Outcome) {
        let slot = match m.status {
            Status::Sent | Status::Delivered => 0,
            Status::Failed => 1,
            Status::Skipped | Status::Held | Status::NotSent => 2,
            Status::Unconfirmed => 3,
            Status::Queued | Status::Received => return,
        };
        let c = self.by.entry(channel_name(m.channel)).or_default();
        c[slot] += 1.0;
        if m.was_paid() {
            c[4] += f64::from(m.credits);
            if !m.keeps_its_credits() {
                c[5] += f64::from(m.credits);
            }
        }
    }

    /// One line per channel that had any.
    pub fn emit(&self, app: &App) {
        for (channel, c) in &self.by {
            let metrics: Vec<(&str, f64, &str)> = Self::NAMES
                .iter()
                .zip(c)
                .map(|(name, v)| (*name, *v, "Count"))
                .collect();
            emit(app, &[("Channel", channel)], &metrics);
        }
    }
}

/// [`MessageCounts`] of `messages`, emitted at once.
pub fn messages(app: &App, messages: &[Message]) {
    let mut counts = MessageCounts::default();
    messages.iter().for_each(|m| counts.add(&m.outcome()));
    counts.emit(app);
}

/// A webhook post refused for its signature or source (`reason`: the error code).
pub fn webhook_refused(app: &App, reason: &str) {
    emit(
        app,
        &[("Reason", reason)],
        &[("WebhookSignatureFailures", 1.0, "Count")],
    );
}

/// Reminders and greetings a sweep left for its continuation or retry: its time ran out before
/// their turn in the account's send rate (they go out late).
pub fn sends_deferred(app: &App, count: usize) {
    emit(app, &[], &[("SweepSendsDeferred", count as f64, "Count")]);
}

/// How long a campaign run took, from its start to its end.
pub fn run_duration(app: &App, seconds: f64) {
    emit(app, &[], &[("CampaignRunSeconds", seconds, "Seconds")]);
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "sms",
        Channel::Email => "email",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_its_metrics_and_carries_their_values() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        let v: Value = serde_json::from_str(&line(
            at,
            &[("Stage", "prod"), ("Channel", "sms")],
            &[("MessagesSent", 3.0, "Count")],
        ))
        .unwrap_or_default();
        assert_eq!(v["_aws"]["Timestamp"], 1_796_515_200_000_i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Tidings");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage", "Channel"]])
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "MessagesSent", "Unit": "Count"}])
        );
        assert_eq!(
            (v["Stage"].as_str(), v["MessagesSent"].as_f64()),
            (Some("prod"), Some(3.0))
        );
    }
}
