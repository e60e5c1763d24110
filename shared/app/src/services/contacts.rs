//! A patient's contacts.

use super::{concurrent_update, condition, load_clinic};
use crate::store::{ContactWrite, Store, TxError};
use crate::{ServiceError, ids, json};
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::actor::Actor;
use tidings_domain::contact::{Contact, ContactInput, MAX_CONTACTS_PER_PATIENT};

fn linked_error() -> ServiceError {
    FieldError::new(
        "contact_patient_id",
        "unknown_patient",
        "contact_patient_id names no patient of this clinic",
    )
    .into()
}

fn write_error(e: TxError<ContactWrite>) -> ServiceError {
    match condition(e) {
        Ok(ContactWrite::UnknownLinkedPatient) => linked_error(),
        Ok(ContactWrite::PatientUnavailable) => ServiceError::NotFound("patient"),
        Ok(ContactWrite::ContactChanged) => concurrent_update(),
        Err(store) => store.into(),
    }
}

fn check_link(patient_id: &str, input: &ContactInput) -> Result<(), ServiceError> {
    if input.contact_patient_id.as_deref().map(str::trim) == Some(patient_id) {
        return Err(FieldError::new(
            "contact_patient_id",
            "self_reference",
            "a patient cannot be their own contact",
        )
        .into());
    }
    Ok(())
}

pub async fn create(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    input: ContactInput,
    by: &Actor,
) -> Result<Contact, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let patient = super::patients::record(store, clinic_id, patient_id).await?;
    check_link(patient_id, &input)?;
    let fields = input.validate(clinic.fields.default_country()?)?;
    if patient.contact_count >= MAX_CONTACTS_PER_PATIENT {
        return Err(ServiceError::conflict(
            "too_many_contacts",
            None,
            format!("a patient can have at most {MAX_CONTACTS_PER_PATIENT} contacts"),
        ));
    }
    let now = store.now();
    let contact = Contact {
        id: ids::new_id(),
        patient_id: patient_id.to_owned(),
        fields,
        created_at: now,
        updated_at: now,
        consent_changed_by: Some(by.clone()),
        consent_changed_at: Some(now),
    };
    store
        .create_contact(clinic_id, &contact)
        .await
        .map_err(write_error)?;
    Ok(contact)
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
) -> Result<Vec<Contact>, ServiceError> {
    super::patients::record(store, clinic_id, patient_id).await?;
    Ok(store.list_contacts(clinic_id, patient_id).await?)
}

async fn get(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    id: &str,
) -> Result<Contact, ServiceError> {
    store
        .get_contact(clinic_id, patient_id, id)
        .await?
        .ok_or(ServiceError::NotFound("contact"))
}

pub async fn update(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    id: &str,
    patch: &Value,
    by: &Actor,
) -> Result<Contact, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let prev = get(store, clinic_id, patient_id, id).await?;
    let mut merged = serde_json::to_value(&prev.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let input = json::from_value::<ContactInput>(merged)?;
    check_link(patient_id, &input)?;
    let fields = input.validate(clinic.fields.default_country()?)?;
    if fields == prev.fields {
        return Ok(prev);
    }
    let now = store.now();
    let consent_changed =
        fields.receive_reminders_and_campaigns != prev.fields.receive_reminders_and_campaigns;
    let mut contact = Contact {
        fields,
        updated_at: now,
        ..prev.clone()
    };
    if consent_changed {
        contact.consent_changed_by = Some(by.clone());
        contact.consent_changed_at = Some(now);
    }
    store
        .replace_contact(clinic_id, &contact, &prev)
        .await
        .map_err(write_error)?;
    Ok(contact)
}

pub async fn delete(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    id: &str,
) -> Result<(), ServiceError> {
    store
        .delete_contact(clinic_id, patient_id, id)
        .await
        .map_err(|e| match condition(e) {
            Ok(_) => ServiceError::NotFound("contact"),
            Err(store) => store.into(),
        })
}
