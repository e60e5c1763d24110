//! The counters the statistics read (docs/data-model.md, day counters): one set per clinic
//! and day, each a named number. A message adds its figures to its category's counters of the
//! day it was created; a debit or refund adds the credits it spent to its notification type's.
//! A change to a stored message adds what it counts now less what it counted before, so the
//! counters always equal what the messages and the ledger say.

use crate::credits::{EntryKind, LedgerEntry, Spend};
use crate::message::{Message, Status};
use crate::message_template::Category;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// Every category, in the order the statistics list them (by name).
pub const CATEGORIES: [Category; 5] = [
    Category::Appointment,
    Category::General,
    Category::Greeting,
    Category::Marketing,
    Category::Recall,
];

/// What messages of one category and day add up to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MessageFigures {
    /// Messages handed to a provider (or waiting to be), unconfirmed ones included.
    pub messages: i64,
    pub failed: i64,
    pub skipped: i64,
    pub unconfirmed: i64,
    /// SMS segments of the messages sent.
    pub segments: i64,
    /// Credits used, after refunds.
    pub credits: i64,
}

impl MessageFigures {
    const FIELDS: [&'static str; 6] = [
        "messages",
        "failed",
        "skipped",
        "unconfirmed",
        "segments",
        "credits",
    ];

    /// What one message counts for.
    pub fn of(m: &Message) -> Self {
        let mut f = Self::default();
        match m.status {
            Status::Skipped | Status::Held | Status::NotSent => f.skipped = 1,
            Status::Failed => {
                f.failed = 1;
                // A carrier's failure reported after the send is not refunded.
                if m.outcome().keeps_its_credits() {
                    f.credits = i64::from(m.credits);
                }
            }
            // Replies are not sent messages.
            Status::Received => {}
            Status::Queued | Status::Sent | Status::Delivered | Status::Unconfirmed => {
                f.unconfirmed = i64::from(m.status == Status::Unconfirmed);
                f.messages = 1;
                f.segments = i64::from(m.segments.unwrap_or(0));
                f.credits = i64::from(m.credits);
            }
        }
        f
    }

    fn values(&self) -> [i64; 6] {
        [
            self.messages,
            self.failed,
            self.skipped,
            self.unconfirmed,
            self.segments,
            self.credits,
        ]
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// The name a spend's counter goes by.
fn spend_name(s: Spend) -> &'static str {
    match s {
        Spend::Reminder => "reminder",
        Spend::Campaign => "campaign",
        Spend::Greeting => "greeting",
        Spend::OneOff => "one_off",
        Spend::Reply => "reply",
    }
}

fn spent_counter(s: Spend) -> String {
    format!("spent_{}", spend_name(s))
}

fn message_counter(c: Category, field: &str) -> String {
    format!("{}_{field}", c.as_str())
}

/// One day's counters (or a change to them): counter name to number. Names are ASCII letters
/// and underscores; zeros are left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DayCounts(BTreeMap<String, i64>);

impl DayCounts {
    /// What a stored message counts for.
    pub fn of_message(m: &Message) -> Self {
        let mut out = Self::default();
        let f = MessageFigures::of(m);
        for (field, v) in MessageFigures::FIELDS.iter().zip(f.values()) {
            out.add_to(message_counter(m.category, field), v);
        }
        out
    }

    /// What a ledger entry counts for: the credits a debit took or a refund gave back, as
    /// credits spent on what they paid for. Other entries count for nothing.
    pub fn of_ledger_entry(e: &LedgerEntry) -> Self {
        let mut out = Self::default();
        if let (Some(on), EntryKind::Debit | EntryKind::Refund) = (e.spent_on, e.kind) {
            out.add_to(spent_counter(on), e.credits.saturating_neg());
        }
        out
    }

    /// The counters as stored, from (name, number) pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut out = Self::default();
        for (k, v) in pairs {
            out.add_to(k, v);
        }
        out
    }

    fn add_to(&mut self, name: String, v: i64) {
        match self.0.entry(name) {
            Entry::Occupied(mut e) => match e.get().saturating_add(v) {
                0 => {
                    e.remove();
                }
                sum => *e.get_mut() = sum,
            },
            Entry::Vacant(e) if v != 0 => {
                e.insert(v);
            }
            Entry::Vacant(_) => {}
        }
    }

    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &DayCounts) {
        for (k, v) in &other.0 {
            self.add_to(k.clone(), *v);
        }
    }

    /// Takes `other` from these counters.
    pub fn subtract(&mut self, other: &DayCounts) {
        for (k, v) in &other.0 {
            self.add_to(k.clone(), v.saturating_neg());
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The counters that are not zero, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The figures of one category's messages.
    pub fn messages(&self, c: Category) -> MessageFigures {
        let get = |field| self.0.get(&message_counter(c, field)).copied().unwrap_or(0);
        MessageFigures {
            messages: get("messages"),
            failed: get("failed"),
            skipped: get("skipped"),
            unconfirmed: get("unconfirmed"),
            segments: get("segments"),
            credits: get("credits"),
        }
    }

    /// The credits spent on one notification type, net of refunds.
    pub fn spent(&self, on: Spend) -> i64 {
        self.0.get(&spent_counter(on)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message_template::Channel;
    use chrono::Utc;

    fn message(status: Status) -> Message {
        let now = Utc::now();
        serde_json::from_value(serde_json::json!({
            "id": "m", "request_id": "r", "channel": "sms", "category": "marketing",
            "patient_id": "p", "recipient": "patient", "contact_id": null, "to": null,
            "template_id": null, "on_behalf_of": null, "from_name": null, "reply_to": null,
            "subject": null, "body": null, "html_body": null, "encoding": null,
            "segments": 2, "credits": 2, "status": status, "reason": null,
            "provider_message_id": null, "created_at": now, "updated_at": now, "sent_at": null,
        }))
        .unwrap()
    }

    #[test]
    fn a_change_adds_what_it_counts_now_less_what_it_counted() {
        let queued = message(Status::Queued);
        // Refused outright: no longer a message, failed, and refunded (the refund is the
        // ledger's; the message's credits are no longer counted).
        let mut refused = queued.clone();
        refused.status = Status::Failed;
        let mut day = DayCounts::of_message(&queued);
        day.add(&DayCounts::of_message(&refused));
        day.subtract(&DayCounts::of_message(&queued));
        assert_eq!(day, DayCounts::of_message(&refused));
        let f = day.messages(Category::Marketing);
        assert_eq!((f.messages, f.failed, f.credits), (0, 1, 0));
        // Reported failed after the send: the credits stay spent.
        let mut late = refused.clone();
        late.sent_at = Some(Utc::now());
        let f = DayCounts::of_message(&late).messages(Category::Marketing);
        assert_eq!((f.failed, f.credits), (1, 2));
        assert_eq!(late.channel, Channel::Sms);
        // Counters that come back to zero are left out.
        let mut none = DayCounts::of_message(&queued);
        none.subtract(&DayCounts::of_message(&queued));
        assert!(none.is_zero());
    }

    #[test]
    fn debits_and_refunds_count_as_spent() {
        let entry = |kind, credits| LedgerEntry {
            id: "e".into(),
            account: "group".into(),
            kind,
            credits,
            reference: None,
            note: None,
            created_at: Utc::now(),
            spent_on: Some(Spend::OneOff),
        };
        let mut day = DayCounts::of_ledger_entry(&entry(EntryKind::Debit, -3));
        day.add(&DayCounts::of_ledger_entry(&entry(EntryKind::Refund, 1)));
        day.add(&DayCounts::of_ledger_entry(&entry(
            EntryKind::Purchase,
            100,
        )));
        assert_eq!(day.spent(Spend::OneOff), 2);
        assert_eq!(day.iter().count(), 1);
    }
}
