//! Clinics: created by ops (admin command); read by any key, changed by admin keys.
//!
//! What identifies a clinic to the outside (the numbers its replies arrive at, the SES
//! identities it sends email as) is assigned by ops, never claimed through the API: a clinic
//! picks its `email_sender` only inside the identities it was given.

use super::{concurrent_update, load_clinic};
use crate::store::{ClinicWrite, Store, TxError};
use crate::{ServiceError, ids, json};
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::clinic::{Clinic, ClinicInput, parse_identity, sending_identity};
use tidings_domain::phone;

/// Fields only ops set (`tidings-admin clinic assign-number` / `assign-identity`).
const ASSIGNED_BY_OPS: [&str; 3] = ["sms_reply_number", "sms_reply_numbers", "email_identities"];

/// Creates a clinic that sends email as one of `email_identities` (checked to exist in SES
/// by the caller).
pub async fn create(
    store: &Store,
    input: ClinicInput,
    email_identities: &[String],
) -> Result<Clinic, ServiceError> {
    let now = store.now();
    let email_identities = email_identities
        .iter()
        .map(|i| parse_identity("email_identity", i))
        .collect::<Result<Vec<_>, _>>()?;
    let clinic = Clinic {
        id: ids::new_id(),
        fields: input.validate()?,
        sms_reply_numbers: Vec::new(),
        email_identities,
        created_at: now,
        updated_at: now,
    };
    sender_inside(&clinic)?;
    if !store.create_clinic(&clinic).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a clinic with this id exists",
        ));
    }
    Ok(clinic)
}

pub async fn get(store: &Store, clinic_id: &str) -> Result<Clinic, ServiceError> {
    load_clinic(store, clinic_id).await
}

/// Applies a JSON merge patch to the clinic's settings.
///
/// `twilio_auth_token` (a string, or `null` to remove it) is stored apart from the settings
/// and never returned.
pub async fn update(store: &Store, clinic_id: &str, patch: &Value) -> Result<Clinic, ServiceError> {
    if let Some(field) = ASSIGNED_BY_OPS.iter().find(|f| patch.get(**f).is_some()) {
        return Err(FieldError::new(
            *field,
            "assigned_by_ops",
            format!("{field} is assigned by ops (tidings-admin), not through the API"),
        )
        .into());
    }
    let mut patch = patch.clone();
    let token = match patch
        .as_object_mut()
        .and_then(|o| o.remove("twilio_auth_token"))
    {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(t))
            if !t.trim().is_empty()
                && t.len() <= 128
                && t.chars().all(|c| c.is_ascii_graphic()) =>
        {
            Some(Some(t))
        }
        Some(_) => {
            return Err(FieldError::new(
                "twilio_auth_token",
                "invalid",
                "twilio_auth_token must be the account's auth token (visible ASCII, at most 128 characters) or null",
            )
            .into());
        }
    };
    let clinic = update_settings(store, clinic_id, &patch).await?;
    if let Some(t) = token {
        store.set_twilio_token(clinic_id, t.as_deref()).await?;
    }
    Ok(clinic)
}

async fn update_settings(
    store: &Store,
    clinic_id: &str,
    patch: &Value,
) -> Result<Clinic, ServiceError> {
    let prev = load_clinic(store, clinic_id).await?;
    let mut merged = serde_json::to_value(&prev.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let fields = json::from_value::<ClinicInput>(merged)?.validate()?;
    if fields == prev.fields {
        return Ok(prev);
    }
    let clinic = Clinic {
        fields,
        updated_at: store.now(),
        ..prev.clone()
    };
    if clinic.fields.email_sender != prev.fields.email_sender {
        sender_inside(&clinic)?;
    }
    if !store.replace_clinic(&clinic, &prev).await? {
        return Err(concurrent_update());
    }
    Ok(clinic)
}

/// A 400 on `email_sender` unless it is inside one of the clinic's identities.
fn sender_inside(clinic: &Clinic) -> Result<(), FieldError> {
    match sending_identity(&clinic.email_identities, &clinic.fields.email_sender) {
        Some(_) => Ok(()),
        None => Err(FieldError::new(
            "email_sender",
            "not_assigned",
            "email_sender must be an address inside the domains or addresses ops assigned to this clinic",
        )),
    }
}

/// What ops change about a clinic's identities.
#[derive(Debug, Clone)]
pub enum Assignment {
    AssignNumber(String),
    ReleaseNumber(String),
    AssignIdentity(String),
    ReleaseIdentity(String),
}

/// Ops: gives a clinic a reply number or an SES identity, or takes one back. A number routes
/// to one clinic only (`number_taken` otherwise); an identity may be shared by clinics ops
/// trust with it (a group of practices under one domain). An identity whose release would
/// leave `email_sender` outside every identity is refused.
pub async fn assign(
    store: &Store,
    clinic_id: &str,
    change: Assignment,
) -> Result<Clinic, ServiceError> {
    let prev = load_clinic(store, clinic_id).await?;
    let mut next = Clinic {
        updated_at: store.now(),
        ..prev.clone()
    };
    match &change {
        Assignment::AssignNumber(n) | Assignment::ReleaseNumber(n) => {
            let e164 = phone::e164(n).ok_or_else(|| {
                FieldError::new("number", "invalid", "number must be an E.164 phone number")
            })?;
            next.sms_reply_numbers.retain(|x| *x != e164);
            if matches!(change, Assignment::AssignNumber(_)) {
                next.sms_reply_numbers.push(e164);
            }
        }
        Assignment::AssignIdentity(i) | Assignment::ReleaseIdentity(i) => {
            let identity = parse_identity("identity", i)?;
            next.email_identities.retain(|x| *x != identity);
            if matches!(change, Assignment::AssignIdentity(_)) {
                next.email_identities.push(identity);
            }
            sender_inside(&next)?;
        }
    }
    if next.sms_reply_numbers == prev.sms_reply_numbers
        && next.email_identities == prev.email_identities
    {
        return Ok(prev);
    }
    match store.replace_clinic_and_numbers(&next, &prev).await {
        Ok(()) => Ok(next),
        Err(TxError::Condition(ClinicWrite::Changed)) => Err(concurrent_update()),
        Err(TxError::Condition(ClinicWrite::NumberTaken)) => Err(ServiceError::conflict(
            "number_taken",
            Some("number"),
            "another clinic receives replies at this number",
        )),
        Err(TxError::Store(e)) => Err(e.into()),
    }
}
