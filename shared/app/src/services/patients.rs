//! The patient directory: create, read, list, change, erase and export.

use super::{clinic_today, concurrent_update, condition, load_clinic};
use crate::store::{PatientPage, PatientRecord, PatientWrite, Person, Store};
use crate::{ServiceError, ids, json};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::actor::Actor;
use tidings_domain::campaign;
use tidings_domain::export::Column;
use tidings_domain::message_template::Channel;
use tidings_domain::patient::{Patient, PatientFields, PatientFilter, PatientInput};

fn write_error(e: crate::store::TxError<PatientWrite>) -> ServiceError {
    match condition(e) {
        Ok(PatientWrite::ExternalIdTaken) => ServiceError::conflict(
            "duplicate_external_id",
            Some("external_id"),
            "another patient of the clinic has this external_id",
        ),
        Ok(PatientWrite::UnknownPractitioner) => FieldError::new(
            "practitioner_id",
            "unknown_practitioner",
            "practitioner_id names no practitioner of this clinic",
        )
        .into(),
        Ok(PatientWrite::PatientChanged) => concurrent_update(),
        Err(store) => store.into(),
    }
}

pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: PatientInput,
    by: &Actor,
) -> Result<Patient, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let fields = input.validate(
        clinic.fields.default_country()?,
        clinic_today(&clinic, store.now()),
    )?;
    let now = store.now();
    let patient = Patient {
        id: ids::new_id(),
        fields,
        created_at: now,
        updated_at: now,
        consent_changed_by: Some(by.clone()),
        consent_changed_at: Some(now),
    };
    store
        .create_patient(clinic_id, &patient)
        .await
        .map_err(write_error)?;
    Ok(patient)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<Patient, ServiceError> {
    Ok(record(store, clinic_id, id).await?.patient)
}

pub(crate) async fn record(
    store: &Store,
    clinic_id: &str,
    id: &str,
) -> Result<PatientRecord, ServiceError> {
    store
        .get_patient(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("patient"))
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    filter: &PatientFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<PatientPage, ServiceError> {
    Ok(store.list_patients(clinic_id, filter, after, limit).await?)
}

/// Applies a JSON merge patch; the result is validated as a whole, like a new patient. A
/// change of consent records `by`.
pub async fn update(
    store: &Store,
    clinic_id: &str,
    id: &str,
    patch: &Value,
    by: &Actor,
) -> Result<Patient, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let prev = record(store, clinic_id, id).await?;
    let mut merged = serde_json::to_value(&prev.patient.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let fields: PatientFields = json::from_value::<PatientInput>(merged)?.validate(
        clinic.fields.default_country()?,
        clinic_today(&clinic, store.now()),
    )?;
    if fields == prev.patient.fields {
        return Ok(prev.patient);
    }
    let now = store.now();
    let old = &prev.patient.fields;
    let consent_changed = (fields.receive_reminders, fields.receive_campaigns)
        != (old.receive_reminders, old.receive_campaigns);
    let mut patient = Patient {
        fields,
        updated_at: now,
        ..prev.patient.clone()
    };
    if consent_changed {
        patient.consent_changed_by = Some(by.clone());
        patient.consent_changed_at = Some(now);
    }
    match store.replace_patient(clinic_id, &patient, &prev).await {
        Ok(()) => Ok(patient),
        Err(e) => Err(gone_or(store, clinic_id, id, write_error(e)).await),
    }
}

/// Erases the patient: the personal parts of their messages (and their contacts'), of the
/// notifications about their replies and of the upload rows that named them, then their record
/// and contacts (an anonymised record remains, so counts, statuses, credits and dates still
/// add up). The record goes last: a retry after a failure or a timeout finds the patient and
/// erases again what is left.
pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    let prev = record(store, clinic_id, id).await?;
    let contacts = store.list_contacts(clinic_id, id).await?;
    let fields = &prev.patient.fields;
    let country = load_clinic(store, clinic_id)
        .await?
        .fields
        .default_country()?;
    let person = Person {
        country,
        patient_id: id.to_owned(),
        external_id: fields.external_id.clone(),
        mobiles: fields
            .mobile
            .iter()
            .chain(contacts.iter().filter_map(|c| c.fields.mobile.as_ref()))
            .cloned()
            .collect(),
        emails: fields
            .email
            .iter()
            .chain(contacts.iter().filter_map(|c| c.fields.email.as_ref()))
            .cloned()
            .collect(),
    };
    let mut messages = store.history_ids(clinic_id, id).await?;
    // And what they received as another patient's contact (a linked contact): those copies
    // are in the other patient's history, with this patient's number or address.
    let links = store.contacts_linked_to(clinic_id, id).await?;
    for l in &links {
        messages.extend(
            store
                .contact_copy_ids(clinic_id, &l.patient_id, &l.contact_id)
                .await?,
        );
    }
    futures::stream::iter(messages)
        .map(|m| async move { store.scrub_message(clinic_id, &m).await })
        .buffer_unordered(ERASE_CONCURRENCY)
        .try_collect::<()>()
        .await?;
    // Messages a running campaign holds or has queued for them are in no history yet: their
    // ids follow from the run and the person.
    let mut queued = Vec::new();
    for run in store.unfinished_run_ids(clinic_id).await? {
        for contact in std::iter::once(None).chain(contacts.iter().map(|c| Some(c.id.as_str()))) {
            for channel in [Channel::Sms, Channel::Email] {
                queued.push(campaign::message_id(&run, id, contact, channel));
            }
        }
    }
    let mut queued: Vec<(String, String)> =
        queued.into_iter().map(|m| (m, id.to_owned())).collect();
    // So are the reminders a sweep's batch is sending: its item names each message and whom
    // it is for (the patient, or the patient a contact of theirs is linked to).
    for batch in store.open_batch_ids(clinic_id).await? {
        let Some(batch) = store.get_batch(clinic_id, &batch).await? else {
            continue;
        };
        queued.extend(
            batch
                .planned
                .into_iter()
                .filter(|p| {
                    p.patient_id == id
                        || links.iter().any(|l| {
                            l.patient_id == p.patient_id
                                && p.contact_id.as_deref() == Some(l.contact_id.as_str())
                        })
                })
                .map(|p| (p.id, p.patient_id)),
        );
    }
    futures::stream::iter(queued)
        .map(
            |(m, patient)| async move { store.erase_unsent_message(clinic_id, &m, &patient).await },
        )
        .buffer_unordered(ERASE_CONCURRENCY)
        .try_collect::<()>()
        .await?;
    let notes = store.notification_ids_of(clinic_id, id).await?;
    futures::stream::iter(notes)
        .map(|n| async move { store.scrub_notification(clinic_id, &n).await })
        .buffer_unordered(ERASE_CONCURRENCY)
        .try_collect::<()>()
        .await?;
    store.scrub_upload_rows(clinic_id, &person).await?;
    for m in &person.mobiles {
        store.forget_auto_answers(clinic_id, m).await?;
    }
    let contact_ids: Vec<String> = contacts.into_iter().map(|c| c.id).collect();
    tracing::info!(
        clinic_id,
        patient_id = id,
        "patient's messages, notifications and upload rows erased"
    );
    match store
        .erase_patient(clinic_id, &prev, &contact_ids, store.now())
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => Err(gone_or(store, clinic_id, id, write_error(e)).await),
    }
}

/// Writes an erasure makes at once.
const ERASE_CONCURRENCY: usize = 16;

/// After a failed write: 404 if the patient has gone meanwhile, else the write's own error.
async fn gone_or(store: &Store, clinic_id: &str, id: &str, err: ServiceError) -> ServiceError {
    match store.get_patient(clinic_id, id).await {
        Ok(None) => ServiceError::NotFound("patient"),
        _ => err,
    }
}

/// One chunk of the CSV export: the header, then rows read page by page until the chunk
/// reaches `max_bytes`; and the id to continue after when more patients remain.
pub async fn export(
    store: &Store,
    clinic_id: &str,
    columns: &[Column],
    filter: &PatientFilter,
    mut after: Option<String>,
    (max_bytes, max_reads): (usize, usize),
) -> Result<(Vec<u8>, Option<String>), ServiceError> {
    let mut out = crate::csv_out::CsvOut::new();
    out.row(columns.iter().map(|c| c.name()))?;
    let mut reads = 0;
    let next = 'pages: loop {
        let page = store
            .list_patients(clinic_id, filter, after.as_deref(), 200)
            .await?;
        reads += 1;
        let last = page.patients.len().saturating_sub(1);
        for (i, p) in page.patients.iter().enumerate() {
            out.row(columns.iter().map(|c| c.value(p)))?;
            let more = i < last || page.next_after.is_some();
            if more && out.len()? >= max_bytes {
                break 'pages Some(p.id.clone());
            }
        }
        match page.next_after {
            // A sparse filter can read a whole clinic for a few rows: past its budget of
            // reads the answer goes out with what it has and a cursor, well inside the
            // function's time limit.
            Some(next) if reads >= max_reads => break Some(next),
            Some(next) => after = Some(next),
            None => break None,
        }
    };
    Ok((out.finish()?, next))
}
