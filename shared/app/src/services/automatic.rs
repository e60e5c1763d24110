//! Sending what Tidings sends by itself (reminders, birthday greetings): each is claimed once
//! under a key that names what it is for, paid from the account [`super::credits::paying_account`]
//! chose, and delivered through [`super::sending::deliver`].

use super::pacing::Pacer;
use super::sending::{self, Rendered, deliver, fill, skip, skip_blocked};
use crate::store::{Blocked, SendClaim, SendRecord, TxError};
use crate::{App, ServiceError};
use chrono::{DateTime, Utc};
use tidings_domain::actor::Actor;
use tidings_domain::clinic::Clinic;
use tidings_domain::contact::Contact;
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry, Spend};
use tidings_domain::digest::sha256_hex;
use tidings_domain::message::{
    Message, RecipientKind, SkipReason, Status, reach_contact_on, reach_patient,
};
use tidings_domain::message_template::{Category, Channel, compile_parts};
use tidings_domain::patient::{Patient, PatientFields, ProfileType};
use tidings_domain::template::Values;

/// What became of one automatic send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Messages handed to the provider.
    pub sent: usize,
    /// Messages recorded as skipped (or failed at the provider).
    pub skipped: usize,
    /// Sends found already claimed: nothing was sent again.
    pub already: usize,
    /// Sends left for a later invocation: the sweep's time ran out before their turn in the
    /// account's rate (nothing was claimed or sent).
    pub deferred: usize,
}

impl Tally {
    /// One send left for a later invocation.
    pub const DEFERRED: Self = Self {
        sent: 0,
        skipped: 0,
        already: 0,
        deferred: 1,
    };
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.skipped += o.skipped;
        self.already += o.already;
        self.deferred += o.deferred;
    }
}

/// One channel's words for a patient: a template and the plain text to append after it.
pub struct Words<'a> {
    pub channel: Channel,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub suffix: String,
}

/// Everything one automatic send needs.
pub struct Automatic<'a> {
    pub clinic: &'a Clinic,
    /// What the send is for, e.g. `reminder|<appointment>|<rule>|<start>`: claimed once.
    pub purpose: String,
    pub category: Category,
    pub patient: &'a Patient,
    pub values: &'a Values,
    pub words: Vec<Words<'a>>,
    pub appointment_id: Option<&'a str>,
    /// Record every message as skipped for this reason instead of sending.
    pub skip_all: Option<SkipReason>,
    pub account: String,
    pub blocked: &'a Blocked,
    /// A sweep's share of the account's rate: each message waits for its turn before it is
    /// claimed. `None` for a send a request makes, which goes at once.
    pub(crate) pacer: Option<&'a Pacer>,
    pub now: DateTime<Utc>,
    /// The schedule that sends it, recorded as the messages' `sent_by`.
    pub sent_by: Actor,
    /// A dependant's contacts, who receive it instead (empty for anyone else).
    pub contacts: &'a [ContactCopy],
    /// When it fell due (a reminder): its ids then follow from its purpose and this time, so
    /// that every sweep plans the same messages and the first message is its claim (see
    /// [`super::reminder_batches`]). `None`: new ids, claimed under the send record alone.
    pub due: Option<DateTime<Utc>>,
    /// Where a sweep collects its reminders to send them as one batch; `None`: sent at once.
    pub(crate) batch: Option<&'a super::reminder_batches::Collector>,
}

/// A contact who may receive a dependant's automatic messages, with the patient the contact is
/// linked to (whose number and address serve when the contact has none).
#[derive(Debug, Clone)]
pub struct ContactCopy {
    pub contact: Contact,
    pub linked: Option<PatientFields>,
}

/// The contacts of `patient` when the patient is a dependant (their messages go to them).
pub async fn contacts_of(
    app: &App,
    clinic_id: &str,
    patient: &Patient,
) -> Result<Vec<ContactCopy>, ServiceError> {
    if patient.fields.profile_type != ProfileType::Dependant {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for contact in app.store.list_contacts(clinic_id, &patient.id).await? {
        let linked = match &contact.fields.contact_patient_id {
            Some(id) => app
                .store
                .get_patient(clinic_id, id)
                .await?
                .map(|r| r.patient.fields),
            None => None,
        };
        out.push(ContactCopy { contact, linked });
    }
    Ok(out)
}

/// Whether the send for `purpose` was claimed before (a cheap read before planning it): its
/// send record, or, for one with a due time, its first message.
pub async fn already_claimed(
    app: &App,
    clinic_id: &str,
    purpose: &str,
    due: Option<DateTime<Utc>>,
) -> Result<bool, ServiceError> {
    let store = &app.store;
    if let Some(due) = due {
        let first = message_id(&request_id(purpose, Some(due)), 0);
        if store.get_message(clinic_id, &first).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(store
        .get_send(clinic_id, &sha256_hex(purpose.as_bytes()))
        .await?
        .is_some())
}

/// The request id of a send: for one with a due time, a UUID v7 of that time whose other bits
/// are the purpose's digest (the same for every sweep); otherwise a new id.
fn request_id(purpose: &str, due: Option<DateTime<Utc>>) -> String {
    let Some(due) = due else {
        return crate::ids::new_id();
    };
    use sha2::Digest;
    let digest = sha2::Sha256::digest(purpose.as_bytes());
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(due.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

/// The id of a send's `n`th message.
fn message_id(request_id: &str, n: usize) -> String {
    format!("{request_id}-{n:03}")
}

/// Birthday greetings are greetings; every other automatic message is a reminder.
fn spent_on(category: Category) -> Spend {
    match category {
        Category::Greeting => Spend::Greeting,
        _ => Spend::Reminder,
    }
}

/// Who one automatic message goes to: the patient, or (for a dependant) one of their contacts.
enum Recipient<'r> {
    Patient,
    Contact(&'r ContactCopy),
}

impl Recipient<'_> {
    fn kind(&self) -> RecipientKind {
        match self {
            Self::Patient => RecipientKind::Patient,
            Self::Contact(_) => RecipientKind::Contact,
        }
    }

    fn contact_id(&self) -> Option<String> {
        match self {
            Self::Patient => None,
            Self::Contact(c) => Some(c.contact.id.clone()),
        }
    }

    /// The number or address on `channel`, or why there is none.
    fn reach(&self, a: &Automatic<'_>, channel: Channel) -> Result<String, SkipReason> {
        match self {
            Self::Patient => reach_patient(&a.patient.fields, channel, a.category),
            Self::Contact(c) => reach_contact_on(&c.contact.fields, channel, c.linked.as_ref()),
        }
    }

    /// What a contact's copy starts with, so it names the dependant it is about.
    fn prefix(&self, a: &Automatic<'_>) -> String {
        let name = &a.patient.fields.first_name;
        match (self, a.category) {
            (Self::Patient, _) => String::new(),
            (Self::Contact(_), Category::Appointment) => format!("{name}'s appointment: "),
            (Self::Contact(_), _) => format!("For {name}: "),
        }
    }
}

/// The patient; for a dependant, each of their contacts instead (or, with none, the dependant,
/// recorded as skipped `dependant`).
fn recipients<'r>(a: &'r Automatic<'_>) -> Vec<Recipient<'r>> {
    if a.patient.fields.profile_type != ProfileType::Dependant || a.contacts.is_empty() {
        return vec![Recipient::Patient];
    }
    a.contacts.iter().map(Recipient::Contact).collect()
}

/// Plans, claims once and delivers one automatic send (or, in a sweep's batch, plans it and
/// leaves it to the batch: an empty tally).
pub async fn send(app: &App, a: Automatic<'_>) -> Result<Tally, ServiceError> {
    let request_id = request_id(&a.purpose, a.due);
    let mut messages = Vec::with_capacity(a.words.len());
    for r in recipients(&a) {
        for w in &a.words {
            let mut m = Message::planned(
                message_id(&request_id, messages.len()),
                &request_id,
                w.channel,
                a.category,
                &a.patient.id,
                r.kind(),
                a.now,
            );
            m.contact_id = r.contact_id();
            m.appointment_id = a.appointment_id.map(str::to_owned);
            m.account = (a.account != GROUP_ACCOUNT).then(|| a.account.clone());
            m.spent_on = Some(spent_on(a.category));
            m.sent_by = Some(a.sent_by.clone());
            plan_one(app, &a, w, r.reach(&a, w.channel), &r.prefix(&a), &mut m)?;
            messages.push(m);
        }
    }
    skip_blocked(&mut messages, a.blocked);
    let planned = PlannedSend {
        purpose: a.purpose,
        account: a.account,
        category: a.category,
        request_id,
        messages,
        now: a.now,
    };
    match a.batch {
        Some(batch) => {
            batch.collect(planned);
            Ok(Tally::default())
        }
        None => send_planned(app, a.clinic, planned, a.pacer).await,
    }
}

/// One automatic send, planned: what it is for, who pays, and its messages.
pub(crate) struct PlannedSend {
    pub purpose: String,
    pub account: String,
    pub category: Category,
    pub request_id: String,
    pub messages: Vec<Message>,
    pub now: DateTime<Utc>,
}

/// Claims a planned send once (its record, debit and messages in one transaction) and
/// delivers it; with a `pacer`, each message waits for its turn in the account's rate first.
pub(crate) async fn send_planned(
    app: &App,
    clinic: &Clinic,
    p: PlannedSend,
    pacer: Option<&Pacer>,
) -> Result<Tally, ServiceError> {
    // Waited for before the claim, so that a claimed message goes to the provider at once
    // (the open-send sweep does not find it waiting).
    if let Some(pacer) = pacer {
        for m in p.messages.iter().filter(|m| m.status == Status::Queued) {
            if !pacer.turn(m.channel).await {
                return Ok(Tally::DEFERRED);
            }
        }
    }
    let send_key = sha256_hex(p.purpose.as_bytes());
    match claim(app, clinic, &p, &send_key).await? {
        None => Ok(Tally {
            already: 1,
            ..Tally::default()
        }),
        Some(messages) => {
            let paid = paid(&messages);
            let (t, ()) = tokio::join!(
                deliver_all(app, clinic, messages),
                top_up_if(paid, app, clinic, &p.account)
            );
            // Every message is recorded: the send leaves the open-send index.
            if let Err(e) = app.store.close_send(&clinic.id, &send_key).await {
                let request_id = &p.request_id;
                tracing::warn!(request_id, error = %e, "send not closed: the sweep will");
            }
            Ok(t)
        }
    }
}

/// Hands claimed messages to their providers one after another and records each; what became
/// of them.
pub(crate) async fn deliver_all(app: &App, clinic: &Clinic, messages: Vec<Message>) -> Tally {
    let mut t = Tally::default();
    let mut counts = crate::metrics::MessageCounts::default();
    for m in messages {
        let m = deliver(app, clinic, m).await;
        counts.add(&m.outcome());
        match m.status {
            Status::Sent | Status::Delivered | Status::Queued | Status::Unconfirmed => t.sent += 1,
            _ => t.skipped += 1,
        }
    }
    counts.emit(app);
    t
}

/// Whether any of `messages` was paid for.
pub(crate) fn paid(messages: &[Message]) -> bool {
    messages
        .iter()
        .any(|m| m.status == Status::Queued && m.credits > 0)
}

/// The auto top-up a debit may call for (when `paid`). As with `POST /messages`, delivery does
/// not wait for it.
pub(crate) async fn top_up_if(paid: bool, app: &App, clinic: &Clinic, account: &str) {
    if paid {
        Box::pin(super::auto_top_up::after_debit(app, &clinic.id, account)).await;
    }
}

fn plan_one(
    app: &App,
    a: &Automatic<'_>,
    w: &Words<'_>,
    reach: Result<String, SkipReason>,
    prefix: &str,
    m: &mut Message,
) -> Result<(), ServiceError> {
    if let Some(reason) = a.skip_all {
        skip(m, reason, None);
        return Ok(());
    }
    let to = match reach {
        Ok(to) => to,
        Err(reason) => {
            skip(m, reason, None);
            return Ok(());
        }
    };
    let compiled = compile_parts(w.channel, w.subject, w.body, None)?;
    match sending::render(&compiled, a.values, a.clinic) {
        Err((reason, detail)) => skip(m, reason, detail.as_deref()),
        Ok(words) => {
            let words = Rendered {
                body: format!("{prefix}{}{}", words.body, w.suffix),
                ..words
            };
            if let Err(n) = fill(m, to, words, a.clinic, app.config.email_credit_cost) {
                let detail = format!("{n} characters");
                skip(m, SkipReason::TooLong, Some(&detail));
            }
        }
    }
    Ok(())
}

/// Claims the send: `None` when it was claimed before. An account that cannot pay gets the
/// messages recorded as skipped (`insufficient_credits`), still once.
async fn claim(
    app: &App,
    clinic: &Clinic,
    p: &PlannedSend,
    send_key: &str,
) -> Result<Option<Vec<Message>>, ServiceError> {
    let (messages, request_id) = (&p.messages, p.request_id.as_str());
    let total: i64 = messages
        .iter()
        .filter(|m| m.status == Status::Queued)
        .map(|m| i64::from(m.credits))
        .sum();
    let record = SendRecord {
        request_id: request_id.to_owned(),
        body_hash: sha256_hex(p.purpose.as_bytes()),
        message_count: messages.len(),
        credits: total,
        created_at: p.now,
    };
    let debit = (total > 0).then(|| LedgerEntry {
        id: crate::ids::new_id(),
        account: p.account.clone(),
        kind: EntryKind::Debit,
        credits: -total,
        reference: Some(request_id.to_owned()),
        note: Some(format!("{} {}", messages.len(), p.category.as_str())),
        created_at: p.now,
        spent_on: Some(spent_on(p.category)),
    });
    let store = &app.store;
    match store
        .claim_send(&clinic.id, send_key, &record, debit.as_ref(), messages)
        .await
    {
        Ok(()) => Ok(Some(messages.to_vec())),
        Err(TxError::Condition(SendClaim::AlreadyClaimed)) => Ok(None),
        Err(TxError::Condition(SendClaim::InsufficientCredits)) => {
            let mut unpaid = messages.to_vec();
            for m in unpaid.iter_mut().filter(|m| m.status == Status::Queued) {
                skip(m, SkipReason::InsufficientCredits, Some(&p.account));
                m.credits = 0;
            }
            let record = SendRecord {
                credits: 0,
                ..record
            };
            tracing::warn!(
                clinic_id = clinic.id,
                request_id,
                account = p.account,
                "automatic send skipped: not enough credits"
            );
            match store
                .claim_send(&clinic.id, send_key, &record, None, &unpaid)
                .await
            {
                Ok(()) => Ok(Some(unpaid)),
                Err(TxError::Condition(_)) => Ok(None),
                Err(TxError::Store(e)) => Err(e.into()),
            }
        }
        Err(TxError::Store(e)) => Err(e.into()),
    }
}
