//! Clinics: created by ops (admin command); read by any key, changed by admin keys.

use super::{concurrent_update, load_clinic};
use crate::store::{ClinicWrite, Store, TxError};
use crate::{ServiceError, ids, json};
use chrono::Utc;
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::clinic::{Clinic, ClinicInput};

pub async fn create(store: &Store, input: ClinicInput) -> Result<Clinic, ServiceError> {
    let now = Utc::now();
    let clinic = Clinic {
        id: ids::new_id(),
        fields: input.validate()?,
        created_at: now,
        updated_at: now,
    };
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
        updated_at: Utc::now(),
        ..prev.clone()
    };
    if clinic.fields.sms_reply_number == prev.fields.sms_reply_number {
        if !store.replace_clinic(&clinic, &prev).await? {
            return Err(concurrent_update());
        }
        return Ok(clinic);
    }
    match store.replace_clinic_and_number(&clinic, &prev).await {
        Ok(()) => Ok(clinic),
        Err(TxError::Condition(ClinicWrite::Changed)) => Err(concurrent_update()),
        Err(TxError::Condition(ClinicWrite::NumberTaken)) => Err(ServiceError::conflict(
            "number_taken",
            Some("sms_reply_number"),
            "another clinic receives replies at this number",
        )),
        Err(TxError::Store(e)) => Err(e.into()),
    }
}
