//! Partition and sort keys. Every clinic-owned item lives under `CLINIC#<clinic id>`.

pub fn clinic_pk(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}")
}

pub const CLINIC_SK: &str = "CLINIC";
/// `gsi1pk` of every clinic record: the admin command lists clinics from it.
pub const CLINICS_GSI: &str = "CLINICS";

pub fn api_key_pk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
pub const API_KEY_SK: &str = "APIKEY";
pub fn api_keys_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#APIKEYS")
}

pub const PRACTITIONER_PREFIX: &str = "PRACTITIONER#";
pub fn practitioner_sk(id: &str) -> String {
    format!("{PRACTITIONER_PREFIX}{id}")
}

pub const PATIENT_PREFIX: &str = "PATIENT#";
pub fn patient_sk(id: &str) -> String {
    format!("{PATIENT_PREFIX}{id}")
}
/// `gsi1pk` of a patient assigned to a practitioner: lists a practitioner's patients.
pub fn practitioner_patients_gsi(clinic_id: &str, practitioner_id: &str) -> String {
    format!("CLINIC#{clinic_id}#PRACTITIONER#{practitioner_id}")
}

/// The item that reserves an external id within a clinic.
pub fn external_id_sk(external_id: &str) -> String {
    format!("EXTERNAL_ID#{external_id}")
}

pub fn contacts_prefix(patient_id: &str) -> String {
    format!("CONTACT#{patient_id}#")
}
pub fn contact_sk(patient_id: &str, contact_id: &str) -> String {
    format!("CONTACT#{patient_id}#{contact_id}")
}

pub const TEMPLATE_PREFIX: &str = "TEMPLATE#";
pub fn template_sk(id: &str) -> String {
    format!("{TEMPLATE_PREFIX}{id}")
}

/// The sort key under `prefix` before every UUID v7 id made at or after `t` (its 48-bit
/// millisecond time): ids made in a period are one key range.
pub fn id_boundary(prefix: &str, t: chrono::DateTime<chrono::Utc>) -> String {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    format!("{prefix}{:08x}-{:04x}", ms >> 16, ms & 0xffff)
}

/// Messages sort by id, and ids start with a UUID v7: time order.
pub const MESSAGE_PREFIX: &str = "MESSAGE#";
pub fn message_sk(id: &str) -> String {
    format!("{MESSAGE_PREFIX}{id}")
}
/// `gsi1pk` of every message about a patient (to the patient or a contact): their history.
pub fn patient_messages_gsi(clinic_id: &str, patient_id: &str) -> String {
    format!("CLINIC#{clinic_id}#PATIENT#{patient_id}#MESSAGES")
}

/// A send request, under the hash of its idempotency key: claims the request once.
pub fn send_sk(request_key: &str) -> String {
    format!("SEND#{request_key}")
}

/// A batch of reminders paid for at once (see `store::reminder_batches`).
pub const REMINDER_BATCH_PREFIX: &str = "REMINDER_BATCH#";
pub fn reminder_batch_sk(id: &str) -> String {
    format!("{REMINDER_BATCH_PREFIX}{id}")
}
/// `gsi2pk` of a clinic's open batches (`gsi2sk` is the batch's id): the messages erasure must
/// reach before they are in anyone's history.
pub fn open_reminder_batches_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#OPEN_REMINDER_BATCHES")
}

/// Partitions of the open-send index (`gsi3`): a claimed send is on it until its function has
/// recorded every message, spread so that no index partition takes every send.
pub const OPEN_SEND_SHARDS: u8 = 8;
/// `gsi3pk` of a claimed send whose function has not finished it (`gsi3sk` is its claim time).
pub fn open_sends_gsi(shard: u8) -> String {
    format!("OPEN_SENDS#{shard}")
}
/// The open-send partition of the send `request_key`.
pub fn open_send_shard(request_key: &str) -> u8 {
    let sum = request_key
        .bytes()
        .fold(0u32, |acc, b| acc.wrapping_add(u32::from(b)));
    u8::try_from(sum % u32::from(OPEN_SEND_SHARDS)).unwrap_or(0)
}

/// The balance of a credit account.
pub fn credits_sk(account: &str) -> String {
    format!("CREDITS#{account}")
}
/// Every ledger entry of a clinic, whatever its account.
pub const LEDGER_PREFIX: &str = "LEDGER#";
pub fn ledger_prefix(account: &str) -> String {
    format!("LEDGER#{account}#")
}
pub fn ledger_sk(account: &str, entry_id: &str) -> String {
    format!("LEDGER#{account}#{entry_id}")
}

pub const APPOINTMENT_PREFIX: &str = "APPOINTMENT#";
pub fn appointment_sk(id: &str) -> String {
    format!("{APPOINTMENT_PREFIX}{id}")
}
/// `gsi1pk` of every appointment of a clinic; `gsi1sk` is [`appointment_time_sk`]: the
/// appointment book in time order.
pub fn appointments_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#APPOINTMENTS")
}
/// `gsi2pk` of a patient's visits (appointments neither cancelled nor missed); `gsi2sk` is
/// [`appointment_time_sk`]: whether they were seen since a date, without reading the book.
pub fn patient_appointments_gsi(clinic_id: &str, patient_id: &str) -> String {
    format!("CLINIC#{clinic_id}#PATIENT#{patient_id}#APPOINTMENTS")
}
/// The clinic's appointments are all on their patients' index (clinics created since, or
/// indexed by `tidings-admin appointments index`).
pub const APPOINTMENTS_INDEXED_SK: &str = "INDEXED#APPOINTMENTS";
/// A UTC time as it sorts in `gsi1sk` (fixed width), followed by the appointment id.
pub fn appointment_time_sk(start: &chrono::DateTime<chrono::Utc>, id: &str) -> String {
    format!("{}#{id}", time_key(start))
}
/// `gsi3pk` of the contacts linked to a patient (`contact_patient_id`): whose copies that
/// patient received as someone's contact.
pub fn linked_contacts_gsi(clinic_id: &str, patient_id: &str) -> String {
    format!("CLINIC#{clinic_id}#LINKED#{patient_id}")
}
/// A change message held in quiet hours: the appointment, the change and the appointment's
/// version it is about, all in the key (its index is keys only).
pub const HELD_CHANGE_PREFIX: &str = "HELD_CHANGE#";
pub fn held_change_sk(appointment_id: &str, change: &str, version: &str) -> String {
    format!("{HELD_CHANGE_PREFIX}{appointment_id}#{change}#{version}")
}
/// `gsi3pk` of the clinic's held change messages; `gsi3sk` is when each may go.
pub fn held_changes_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#HELD_CHANGES")
}
/// `gsi3pk` of the clinic's completed appointments; `gsi3sk` is [`appointment_time_sk`] of the
/// time each became completed: what the after-visit sweep reads.
pub fn completed_appointments_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#COMPLETED")
}
pub fn time_key(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub const REPORT_PREFIX: &str = "REPORT#";
pub fn report_sk(id: &str) -> String {
    format!("{REPORT_PREFIX}{id}")
}

pub const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";
pub fn campaign_sk(id: &str) -> String {
    format!("{CAMPAIGN_PREFIX}{id}")
}
/// One firing of a campaign.
pub fn run_sk(campaign_id: &str, run_id: &str) -> String {
    format!("RUN#{campaign_id}#{run_id}")
}
/// `gsi2pk` of a run while it is sending or paused (`gsi2sk` is the run's id): the runs whose
/// queued and held messages erasure must reach, without reading every run the clinic had.
pub fn open_runs_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#OPEN_RUNS")
}
/// The clinic's unfinished runs are all on [`open_runs_gsi`] (clinics created since, or
/// indexed by `tidings-admin runs index`).
pub const RUNS_INDEXED_SK: &str = "INDEXED#RUNS";

/// One page of a run's audience, named by where it starts (`None`: the beginning).
pub fn page_claim_sk(run_id: &str, start: Option<&str>) -> String {
    let at = tidings_domain::digest::sha256_hex(start.unwrap_or("").as_bytes());
    format!("{}{}", page_claims_prefix(run_id), &at[..16])
}
/// The sort keys of every page claim of run `run_id` start with this.
pub fn page_claims_prefix(run_id: &str) -> String {
    format!("PAGE#{run_id}#")
}

pub const REFERRER_PREFIX: &str = "REFERRER#";
pub fn referrer_sk(id: &str) -> String {
    format!("{REFERRER_PREFIX}{id}")
}
/// Referrals sort by date: a date range is one key-range query.
pub const REFERRAL_PREFIX: &str = "REFERRAL#";
pub fn referral_sk(date: &chrono::NaiveDate, id: &str) -> String {
    format!("{REFERRAL_PREFIX}{date}#{id}")
}

pub fn upload_sk(id: &str) -> String {
    format!("UPLOAD#{id}")
}
/// One chunk of an upload's rows: `kind` is `MATCHED` or `FAILED`.
pub fn upload_chunk_sk(id: &str, kind: &str, n: usize) -> String {
    format!("UPLOAD#{id}#{kind}#{n:05}")
}
/// That one of an upload's chunks has a row found by `reference` (see `store::uploads`):
/// `UPLOADREF#<reference>#<id>#<kind>#<nnnnn>`, the chunk's key after its `UPLOAD#`.
pub fn upload_ref_sk(reference: &str, id: &str, kind: &str, n: usize) -> String {
    format!(
        "{}{}",
        upload_refs_prefix(reference),
        &upload_chunk_sk(id, kind, n)[UPLOAD.len()..]
    )
}
/// Every chunk with a row found by `reference`.
pub fn upload_refs_prefix(reference: &str) -> String {
    format!("UPLOADREF#{reference}#")
}
/// The chunk a reference of [`upload_ref_sk`] names.
pub fn upload_chunk_of_ref(reference: &str, ref_sk: &str) -> Option<String> {
    ref_sk
        .strip_prefix(&upload_refs_prefix(reference))
        .map(|rest| format!("{UPLOAD}{rest}"))
}
const UPLOAD: &str = "UPLOAD#";
/// The clinic's upload rows are all referenced by who they name (clinics created since, or
/// indexed by `tidings-admin uploads index`).
pub const UPLOADS_INDEXED_SK: &str = "INDEXED#UPLOADS";

/// `gsi2pk` of a patient or contact with a mobile: who a number belongs to in a clinic.
pub fn mobile_gsi(clinic_id: &str, e164: &str) -> String {
    format!("CLINIC#{clinic_id}#MOBILE#{e164}")
}
/// `gsi2pk` of a sent message: finds it from the provider's id when a receipt arrives.
pub fn provider_message_gsi(provider_message_id: &str) -> String {
    format!("PROVIDER#{provider_message_id}")
}

/// The record that routes SMS sent to a clinic's reply number to the clinic.
pub fn sms_number_pk(e164: &str) -> String {
    format!("SMSNUMBER#{e164}")
}
pub const SMS_NUMBER_SK: &str = "SMSNUMBER";

/// An inbound message already stored, under its provider's id: a replay is stored once.
pub fn inbound_sk(provider: &str, provider_message_id: &str) -> String {
    format!("INBOUND#{provider}#{provider_message_id}")
}

/// The last consent change applied to a number (`at`: when the patient sent it): an older one
/// that arrives later is kept in the history but changes nothing.
pub fn sms_consent_sk(e164: &str) -> String {
    format!("CONSENT#SMS#{e164}")
}

/// An automatic answer (HELP, opt-out or opt-in confirmation) sent to a number: at most one
/// of each kind a day.
pub fn auto_answer_sk(e164: &str, kind: &str) -> String {
    format!("AUTOANSWER#{kind}#{e164}")
}

/// Addresses the clinic must not send to: `BLOCK#SMS#<number>` (it texted an opt-out
/// keyword) and `BLOCK#EMAIL#<address>` (it bounced or complained).
pub const BLOCK_PREFIX: &str = "BLOCK#";
pub fn sms_block_sk(e164: &str) -> String {
    format!("{BLOCK_PREFIX}SMS#{e164}")
}
pub fn email_block_sk(address: &str) -> String {
    format!("{BLOCK_PREFIX}EMAIL#{}", address.to_lowercase())
}

pub fn notification_sk(id: &str) -> String {
    format!("NOTIFICATION#{id}")
}
/// `gsi1pk` of a clinic's notifications; `gsi1sk` is `1#<id>` while unread and `0#<id>` once
/// read, so newest-first order lists the unread first.
pub fn notifications_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#NOTIFICATIONS")
}
/// `gsi2pk` of a notification about a patient: erasure finds the patient's notifications by
/// it (`gsi2sk` is the notification's sort key).
pub fn patient_notifications_gsi(clinic_id: &str, patient_id: &str) -> String {
    format!("CLINIC#{clinic_id}#PATIENT#{patient_id}#NOTIFICATIONS")
}
/// Under a clinic once every notification about a patient it has is in `gsi2` (a new clinic's
/// from its creation; an older one's once `tidings-admin notifications index` has run).
pub const NOTIFICATIONS_INDEXED_SK: &str = "INDEXED#NOTIFICATIONS";
pub fn notification_order(read: bool, id: &str) -> String {
    format!("{}#{id}", if read { 0 } else { 1 })
}

/// The clinic's Twilio auth token (for verifying Twilio's webhook signatures).
pub const TWILIO_TOKEN_SK: &str = "SECRET#TWILIO";

/// Reminder settings: the clinic's (`SETTINGS#REMINDERS#GROUP`) and each practitioner's own
/// (`SETTINGS#REMINDERS#PRACTITIONER#<id>`), all under one prefix so a sweep reads them at once.
pub const REMINDER_SETTINGS_PREFIX: &str = "SETTINGS#REMINDERS#";
pub fn reminder_settings_sk(scope: &str) -> String {
    format!("{REMINDER_SETTINGS_PREFIX}{scope}")
}
pub const GREETING_SETTINGS_SK: &str = "SETTINGS#GREETINGS";
/// How far a sweep has covered (reminders per settings scope; greetings per clinic).
pub fn sweep_sk(kind: &str, scope: &str) -> String {
    format!("SWEEP#{kind}#{scope}")
}

/// `gsi3pk` of a patient with a date of birth: the clinic's patients born on a month and day
/// (`MM-DD`), what the birthday greeting reads.
pub fn birthday_gsi(clinic_id: &str, month_day: &str) -> String {
    format!("CLINIC#{clinic_id}#BIRTHDAY#{month_day}")
}

/// A practitioner's own credit account (`ACCOUNT#practitioner:<id>`); its balance is
/// [`credits_sk`] of the same name.
pub const CREDIT_ACCOUNT_PREFIX: &str = "ACCOUNT#";
pub fn credit_account_sk(account: &str) -> String {
    format!("{CREDIT_ACCOUNT_PREFIX}{account}")
}

/// The Stripe payment method an account is charged with.
/// The Stripe Customer of one credit account: its cards are attached to it, its charges name it.
pub fn stripe_customer_sk(account: &str) -> String {
    format!("STRIPE_CUSTOMER#{account}")
}
/// Which clinic's purchase a Stripe PaymentIntent paid for (Stripe's events about charges and
/// disputes name only the PaymentIntent).
pub fn payment_intent_pk(payment_intent: &str) -> String {
    format!("STRIPE_PI#{payment_intent}")
}
pub const PAYMENT_INTENT_SK: &str = "STRIPE_PI";
/// A Stripe event applied to the clinic: each is applied once.
pub fn stripe_event_sk(event_id: &str) -> String {
    format!("STRIPE_EVENT#{event_id}")
}
pub fn payment_method_sk(account: &str) -> String {
    format!("PAYMENT_METHOD#{account}")
}
/// A purchase of credits, under the hash of its idempotency key: charged once.
pub fn purchase_sk(key: &str) -> String {
    format!("PURCHASE#{key}")
}

/// An account's automatic top-up settings; `topping_until` on it is the lease of the one
/// top-up in progress.
pub fn auto_top_up_sk(account: &str) -> String {
    format!("AUTO_TOPUP#{account}")
}

pub const WEBHOOK_ENDPOINT_PREFIX: &str = "WEBHOOK_ENDPOINT#";
pub fn webhook_endpoint_sk(id: &str) -> String {
    format!("{WEBHOOK_ENDPOINT_PREFIX}{id}")
}
/// One endpoint's deliveries, in the order of their (time-ordered) event ids.
pub fn webhook_deliveries_prefix(endpoint_id: &str) -> String {
    format!("WEBHOOK_DELIVERY#{endpoint_id}#")
}
pub fn webhook_delivery_sk(endpoint_id: &str, event_id: &str) -> String {
    format!("WEBHOOK_DELIVERY#{endpoint_id}#{event_id}")
}

/// A clinic's counters of one day (in its time zone), for statistics.
pub const DAY_COUNTS_PREFIX: &str = "STATS#";
pub fn day_counts_sk(date: chrono::NaiveDate) -> String {
    format!("{DAY_COUNTS_PREFIX}{}", date.format("%Y-%m-%d"))
}

/// The mark that a part of a stream batch was counted, by its first record's event id.
pub fn counted_pk(event_id: &str) -> String {
    format!("COUNTED#{event_id}")
}
pub const COUNTED_SK: &str = "COUNTED";
