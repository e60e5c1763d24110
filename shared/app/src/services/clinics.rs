//! Clinics: created by ops (admin command); read by any key, changed by admin keys.

use super::{concurrent_update, load_clinic};
use crate::{ServiceError, ids, json, store::Store};
use chrono::Utc;
use serde_json::Value;
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
pub async fn update(store: &Store, clinic_id: &str, patch: &Value) -> Result<Clinic, ServiceError> {
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
    if !store.replace_clinic(&clinic, &prev).await? {
        return Err(concurrent_update());
    }
    Ok(clinic)
}
