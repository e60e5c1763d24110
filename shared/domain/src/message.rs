//! Messages: what a send request asks for, who may be reached on which channel, and the record
//! kept of every message (sent, failed or skipped).

use crate::contact::ContactFields;
use crate::message_template::{Category, Channel};
use crate::patient::PatientFields;
use crate::{FieldError, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most patients one `POST /messages` may name (campaigns send to more).
pub const MAX_PATIENTS_PER_REQUEST: usize = 50;
/// The most messages (patients × channels, plus contact copies) one request may produce.
pub const MAX_MESSAGES_PER_REQUEST: usize = 96;

/// The channels a send asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendChannel {
    Sms,
    Email,
    Both,
}

impl SendChannel {
    pub fn channels(self) -> &'static [Channel] {
        match self {
            SendChannel::Sms => &[Channel::Sms],
            SendChannel::Email => &[Channel::Email],
            SendChannel::Both => &[Channel::Sms, Channel::Email],
        }
    }
}

/// `POST /messages` as a client sends it.
#[derive(Debug, Default, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    pub patient_ids: Option<Vec<String>>,
    pub channel: Option<SendChannel>,
    pub template_id: Option<String>,
    pub body: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    pub cc_contacts: Option<bool>,
    pub on_behalf_of: Option<String>,
    pub category: Option<Category>,
    /// The value of `{{ link }}`.
    pub link: Option<String>,
    /// The notification (a patient's reply) this message answers.
    pub in_reply_to: Option<String>,
}

/// Where the words come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Template(String),
    Inline { body: String },
}

/// A checked send request.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    /// Distinct, in the order given.
    pub patient_ids: Vec<String>,
    pub channel: SendChannel,
    pub content: Content,
    /// Overrides (or, for an SMS template sent by email, supplies) the email subject.
    pub subject: Option<String>,
    pub html_body: Option<String>,
    pub cc_contacts: bool,
    pub on_behalf_of: Option<String>,
    pub category: Option<Category>,
    pub link: Option<String>,
    pub in_reply_to: Option<String>,
}

impl SendInput {
    pub fn validate(self) -> Result<SendRequest, FieldError> {
        let ids = self
            .patient_ids
            .ok_or_else(|| FieldError::required("patient_ids"))?;
        if ids.is_empty() || ids.len() > MAX_PATIENTS_PER_REQUEST {
            return Err(FieldError::new(
                "patient_ids",
                "invalid",
                format!("patient_ids must list 1 to {MAX_PATIENTS_PER_REQUEST} patients"),
            ));
        }
        let mut patient_ids: Vec<String> = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let id = text::required(&format!("patient_ids[{i}]"), id, 64)?;
            if !patient_ids.contains(&id) {
                patient_ids.push(id);
            }
        }
        let channel = self
            .channel
            .ok_or_else(|| FieldError::required("channel"))?;
        let content = match (self.template_id, self.body) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "body",
                    "not_allowed",
                    "give template_id or body, not both",
                ));
            }
            (Some(id), None) => Content::Template(text::required("template_id", &id, 64)?),
            (None, Some(body)) if !body.trim().is_empty() => Content::Inline { body },
            (None, _) => {
                return Err(FieldError::new(
                    "template_id",
                    "required",
                    "give template_id or body",
                ));
            }
        };
        let cc_contacts = self.cc_contacts.unwrap_or(false);
        if cc_contacts && channel == SendChannel::Sms {
            return Err(FieldError::new(
                "cc_contacts",
                "not_allowed",
                "contacts receive copies by email: use channel email or both",
            ));
        }
        let link = text::optional("link", self.link.as_deref(), 500)?;
        if let Some(l) = &link
            && !(l.starts_with("https://") || l.starts_with("http://"))
        {
            return Err(FieldError::new(
                "link",
                "invalid",
                "link must be an http or https URL",
            ));
        }
        let in_reply_to = text::optional("in_reply_to", self.in_reply_to.as_deref(), 64)?;
        Ok(SendRequest {
            in_reply_to,
            patient_ids,
            channel,
            content,
            subject: self.subject.filter(|s| !s.trim().is_empty()),
            html_body: self.html_body.filter(|s| !s.trim().is_empty()),
            cc_contacts,
            on_behalf_of: text::optional("on_behalf_of", self.on_behalf_of.as_deref(), 64)?,
            category: self.category,
            link,
        })
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Claimed and paid for; the provider has not yet accepted it.
    Queued,
    Sent,
    Delivered,
    Failed,
    /// Never sent: `reason` says why.
    Skipped,
    /// An SMS the patient (or contact) sent to the clinic.
    Received,
    /// Planned by a campaign run that ran out of credits: waits for a top-up, unpaid.
    Held,
    /// A held message whose run ended without it (no top-up in time, or cancelled).
    NotSent,
    /// Its outcome is unknown: the copy that claimed it stopped (or lost the provider's answer)
    /// after it may have handed it to the provider. It keeps its credits and is never sent
    /// again by Tidings on its own; a receipt naming it settles it, and the practice may resend
    /// it once (`POST /campaigns/{id}/resend-unconfirmed`). `reason` says what happened.
    Unconfirmed,
}

/// Who a message went to: the patient, or one of the patient's contacts (a copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    Patient,
    Contact,
    /// A referrer reached by a referral-report campaign (`patient_id` holds the referrer's id).
    Referrer,
}

/// Why a recipient was not sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    NoMobile,
    NoEmail,
    /// The recipient turned this channel off for every kind of message.
    OptedOut,
    /// The recipient's preferences exclude this category on this channel.
    CategoryExcluded,
    /// The contact does not receive the patient's communications.
    ContactNotReceiving,
    /// The template uses a value this recipient does not have (the reason names it).
    MissingValue,
    /// Rendered for this recipient, the SMS is longer than the clinic's `max_sms_length`.
    TooLong,
    /// The address bounced permanently or its owner complained: the clinic no longer emails it.
    Suppressed,
    /// A reminder fell inside quiet hours and the appointment had started when they ended.
    QuietHours,
    /// The appointment had started before its reminder could go out.
    AppointmentStarted,
    /// The paying account had too few credits for an automatic message.
    InsufficientCredits,
    /// A dependant is not messaged: their reminders go to their contacts.
    Dependant,
    /// A contact-only profile is never messaged as a patient.
    ContactOnly,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoMobile => "no_mobile",
            SkipReason::NoEmail => "no_email",
            SkipReason::OptedOut => "opted_out",
            SkipReason::Suppressed => "suppressed",
            SkipReason::CategoryExcluded => "category_excluded",
            SkipReason::ContactNotReceiving => "contact_not_receiving",
            SkipReason::MissingValue => "missing_value",
            SkipReason::TooLong => "too_long",
            SkipReason::QuietHours => "quiet_hours",
            SkipReason::AppointmentStarted => "appointment_started",
            SkipReason::InsufficientCredits => "insufficient_credits",
            SkipReason::Dependant => "dependant",
            SkipReason::ContactOnly => "contact_only",
        }
    }
}

/// The address of a patient on `channel` for a message of `category`, or why they may not be
/// sent to. Appointment and general (practice) messages follow `receive_reminders`; recalls,
/// marketing and greetings follow `receive_campaigns`.
pub fn reach_patient(
    p: &PatientFields,
    channel: Channel,
    category: Category,
) -> Result<String, SkipReason> {
    match p.profile_type {
        crate::patient::ProfileType::Patient => {}
        crate::patient::ProfileType::Dependant => return Err(SkipReason::Dependant),
        crate::patient::ProfileType::ContactOnly => return Err(SkipReason::ContactOnly),
    }
    let wants = |prefs: &crate::patient::ChannelPrefs| match channel {
        Channel::Sms => prefs.sms,
        Channel::Email => prefs.email,
    };
    let prefs = match category {
        Category::Appointment | Category::General => &p.receive_reminders,
        Category::Recall | Category::Marketing | Category::Greeting => &p.receive_campaigns,
    };
    if !wants(&p.receive_reminders) && !wants(&p.receive_campaigns) {
        return Err(SkipReason::OptedOut);
    }
    if !wants(prefs) {
        return Err(SkipReason::CategoryExcluded);
    }
    let address = match channel {
        Channel::Sms => p.mobile.clone().ok_or(SkipReason::NoMobile),
        Channel::Email => p.email.clone().ok_or(SkipReason::NoEmail),
    }?;
    Ok(address)
}

/// The email address a contact's copy goes to: the contact's own, else that of the patient
/// the contact is linked to.
pub fn reach_contact(c: &ContactFields, linked_email: Option<&str>) -> Result<String, SkipReason> {
    if !c.receive_reminders_and_campaigns {
        return Err(SkipReason::ContactNotReceiving);
    }
    c.email
        .clone()
        .or_else(|| linked_email.map(str::to_owned))
        .ok_or(SkipReason::NoEmail)
}

/// Where a contact's copy goes on `channel`: the contact's own number or address, else that of
/// the patient the contact is linked to (`linked`).
pub fn reach_contact_on(
    c: &ContactFields,
    channel: Channel,
    linked: Option<&PatientFields>,
) -> Result<String, SkipReason> {
    if !c.receive_reminders_and_campaigns {
        return Err(SkipReason::ContactNotReceiving);
    }
    match channel {
        Channel::Sms => c
            .mobile
            .clone()
            .or_else(|| linked.and_then(|p| p.mobile.clone()))
            .ok_or(SkipReason::NoMobile),
        Channel::Email => c
            .email
            .clone()
            .or_else(|| linked.and_then(|p| p.email.clone()))
            .ok_or(SkipReason::NoEmail),
    }
}

/// The credits one message costs: one per SMS segment; `email_cost` per email.
pub fn credits(channel: Channel, segments: usize, email_cost: u32) -> u32 {
    match channel {
        Channel::Sms => u32::try_from(segments).unwrap_or(u32::MAX),
        Channel::Email => email_cost,
    }
}

/// What became of a message: the fields of its record that count it and settle its credits,
/// without its text, so a run of 100,000 emails is counted without reading their bodies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub patient_id: String,
    pub channel: Channel,
    pub credits: u32,
    pub status: Status,
    pub provider_message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// See [`Message::lease_until`].
    pub lease_until: Option<DateTime<Utc>>,
}

impl Outcome {
    /// The names of the fields, as a [`Message`] is stored: what a read of outcomes asks for.
    pub const FIELDS: [&str; 8] = [
        "id",
        "patient_id",
        "channel",
        "credits",
        "status",
        "provider_message_id",
        "sent_at",
        "lease_until",
    ];

    /// Whether the message's credits stay spent: it is queued or was handed to the provider,
    /// including when the provider later reports it failed (a carrier's failure is not
    /// refunded). Skipped, held and not-sent messages were never paid for, and a message the
    /// provider refused outright (failed, never sent) was refunded; one that was unconfirmed
    /// and then reported failed was handed over (its `sent_at` is the report's time).
    pub fn keeps_its_credits(&self) -> bool {
        self.was_paid()
            && (self.status != Status::Failed
                || self.provider_message_id.is_some()
                || self.sent_at.is_some())
    }

    /// Whether the message's credits were taken when it was claimed: it was queued, whatever
    /// became of it since (a refund of a failure is its own ledger entry).
    pub fn was_paid(&self) -> bool {
        matches!(
            self.status,
            Status::Queued
                | Status::Sent
                | Status::Delivered
                | Status::Failed
                | Status::Unconfirmed
        )
    }
}

/// The record kept of every message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub id: String,
    /// The send (request or campaign run) that produced it.
    pub request_id: String,
    pub channel: Channel,
    pub category: Category,
    /// The patient the message is about; for a contact's copy, the patient's id.
    pub patient_id: String,
    pub recipient: RecipientKind,
    pub contact_id: Option<String>,
    /// The E.164 number or email address it went to.
    pub to: Option<String>,
    pub template_id: Option<String>,
    pub on_behalf_of: Option<String>,
    /// Email only: the sender's display name and the reply-to address.
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html_body: Option<String>,
    pub encoding: Option<crate::sms::Encoding>,
    pub segments: Option<u32>,
    pub credits: u32,
    pub status: Status,
    pub reason: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Until when the copy that claimed a queued message owns it. A queued message whose lease
    /// has run out belonged to a copy that died, perhaps after handing it to the provider: it
    /// becomes [`Status::Unconfirmed`], never sent by another copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// A received message: the number it came from (`to` is the clinic's number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The appointment a reminder is about: a YES or NO reply answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<String>,
    /// What providers reported after the send (receipts, bounces, delays), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<StatusEvent>,
    /// When the practice resent it after it was unconfirmed (at most once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_at: Option<DateTime<Utc>>,
    /// The credit account that paid, when not the group's: a refund goes back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// What its credits were spent on; a refund is recorded against the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_on: Option<crate::credits::Spend>,
    /// Who caused it: the key that sent it or made its campaign, the reminder or greeting
    /// schedule, or a patient's text answered automatically. None for a received message (and
    /// for messages stored before it was recorded).
    #[serde(default)]
    pub sent_by: Option<crate::actor::Actor>,
}

/// One step of a message's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusEvent {
    pub at: DateTime<Utc>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Message {
    /// What became of the message: whether its credits were paid and stay spent.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            id: self.id.clone(),
            patient_id: self.patient_id.clone(),
            channel: self.channel,
            credits: self.credits,
            status: self.status,
            provider_message_id: self.provider_message_id.clone(),
            sent_at: self.sent_at,
            lease_until: self.lease_until,
        }
    }

    /// The message's status history, oldest first: created (queued, skipped or received),
    /// handed to the provider, then what the provider reported.
    pub fn history(&self) -> Vec<StatusEvent> {
        let first = match self.status {
            Status::Skipped | Status::Received | Status::Held => self.status,
            Status::NotSent => Status::Held,
            _ => Status::Queued,
        };
        let mut out = vec![StatusEvent {
            at: self.created_at,
            status: first,
            reason: (first == Status::Skipped)
                .then(|| self.reason.clone())
                .flatten(),
        }];
        if let Some(at) = self.sent_at.filter(|_| self.status != Status::Received) {
            out.push(StatusEvent {
                at,
                status: Status::Sent,
                reason: None,
            });
        }
        if self.status == Status::NotSent {
            out.push(StatusEvent {
                at: self.updated_at,
                status: Status::NotSent,
                reason: self.reason.clone(),
            });
        }
        if self.events.is_empty() && self.status == Status::Failed && self.reason.is_some() {
            // Refused by the provider at send time.
            out.push(StatusEvent {
                at: self.updated_at,
                status: Status::Failed,
                reason: self.reason.clone(),
            });
        }
        out.extend(self.events.iter().cloned());
        // In time order: an unconfirmed message a receipt settled was sent as of the receipt.
        out.sort_by_key(|e| e.at);
        out
    }
}

impl Message {
    /// A message before planning decides it: `skipped` with no address or words yet.
    pub fn planned(
        id: String,
        request_id: &str,
        channel: Channel,
        category: Category,
        patient_id: &str,
        recipient: RecipientKind,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            request_id: request_id.to_owned(),
            channel,
            category,
            patient_id: patient_id.to_owned(),
            recipient,
            contact_id: None,
            to: None,
            template_id: None,
            on_behalf_of: None,
            from_name: None,
            reply_to: None,
            subject: None,
            body: None,
            html_body: None,
            encoding: None,
            segments: None,
            credits: 0,
            status: Status::Skipped,
            reason: None,
            provider_message_id: None,
            created_at: now,
            updated_at: now,
            sent_at: None,
            lease_until: None,
            resent_at: None,
            from: None,
            appointment_id: None,
            events: Vec::new(),
            account: None,
            spent_on: None,
            sent_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patient::{ChannelPrefs, ProfileType};

    fn patient() -> PatientFields {
        PatientFields {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            date_of_birth: None,
            gender: None,
            mobile: Some("+61412345678".into()),
            email: None,
            profile_type: ProfileType::Patient,
            external_id: None,
            practitioner_id: None,
            receive_reminders: ChannelPrefs::default(),
            receive_campaigns: ChannelPrefs {
                sms: false,
                email: true,
            },
        }
    }

    /// A message's record as it is stored, read for [`Outcome::FIELDS`] only, is its outcome.
    #[test]
    fn an_outcome_is_read_from_its_fields_alone() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc();
        let stored = serde_json::json!({
            "id": "r-1", "request_id": "r", "channel": "email", "category": "marketing",
            "patient_id": "p", "recipient": "patient", "contact_id": null, "to": "a@b.test",
            "template_id": "t", "on_behalf_of": null, "from_name": null, "reply_to": null,
            "subject": "Hi", "body": "Hello", "html_body": "<p>Hello</p>", "encoding": null,
            "segments": null, "credits": 3, "status": "sent", "reason": null,
            "provider_message_id": "pm", "created_at": at, "updated_at": at, "sent_at": at,
            "lease_until": at,
        });
        let message: Message = serde_json::from_value(stored.clone()).unwrap();
        let mut fields = stored.as_object().unwrap().clone();
        fields.retain(|name, _| Outcome::FIELDS.contains(&name.as_str()));
        let read: Outcome = serde_json::from_value(fields.into()).unwrap();
        assert_eq!(read, message.outcome());
    }

    #[test]
    fn consent_follows_category_and_channel() {
        let p = patient();
        assert_eq!(
            reach_patient(&p, Channel::Sms, Category::Appointment).unwrap(),
            "+61412345678"
        );
        assert_eq!(
            reach_patient(&p, Channel::Sms, Category::Marketing),
            Err(SkipReason::CategoryExcluded)
        );
        assert_eq!(
            reach_patient(&p, Channel::Email, Category::General),
            Err(SkipReason::NoEmail)
        );
        let mut off = p.clone();
        off.receive_reminders.sms = false;
        assert_eq!(
            reach_patient(&off, Channel::Sms, Category::Appointment),
            Err(SkipReason::OptedOut)
        );
    }

    #[test]
    fn send_input_is_checked() {
        let ok = || SendInput {
            patient_ids: Some(vec!["a".into(), "b".into(), "a".into()]),
            channel: Some(SendChannel::Both),
            body: Some("Hi {{ first_name }}".into()),
            ..Default::default()
        };
        assert_eq!(ok().validate().unwrap().patient_ids, ["a", "b"]);
        type Mutation = fn(&mut SendInput);
        let cases: [(Mutation, &str); 7] = [
            (|i| i.patient_ids = Some(vec![]), "patient_ids"),
            (|i| i.patient_ids = Some(vec![" ".into()]), "patient_ids[0]"),
            (|i| i.channel = None, "channel"),
            (|i| i.template_id = Some("t".into()), "body"),
            (|i| i.body = None, "template_id"),
            (|i| i.link = Some("ftp://x".into()), "link"),
            (
                |i| {
                    i.cc_contacts = Some(true);
                    i.channel = Some(SendChannel::Sms);
                },
                "cc_contacts",
            ),
        ];
        for (mutate, field) in cases {
            let mut i = ok();
            mutate(&mut i);
            assert_eq!(i.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn costs() {
        assert_eq!(credits(Channel::Sms, 3, 0), 3);
        assert_eq!(credits(Channel::Email, 0, 2), 2);
    }

    #[test]
    fn failures_the_provider_reports_later_keep_their_credits() {
        let mut m = Message::planned(
            "m".into(),
            "r",
            Channel::Sms,
            Category::Recall,
            "p",
            RecipientKind::Patient,
            Utc::now(),
        );
        m.credits = 2;
        let keeps = |status: Status, provider: Option<&str>| {
            let mut m = m.clone();
            m.status = status;
            m.provider_message_id = provider.map(str::to_owned);
            m.outcome().keeps_its_credits()
        };
        assert!(keeps(Status::Queued, None));
        assert!(keeps(Status::Sent, Some("x")));
        assert!(keeps(Status::Delivered, Some("x")));
        assert!(keeps(Status::Failed, Some("x")), "failed after the send");
        assert!(
            !keeps(Status::Failed, None),
            "refused by the provider: refunded"
        );
        let mut refunded = m.clone();
        refunded.status = Status::Failed;
        assert!(refunded.outcome().was_paid(), "paid, then refunded");
        assert!(!keeps(Status::Skipped, None));
        assert!(!keeps(Status::Held, None));
        assert!(!keeps(Status::NotSent, None));
    }
}
