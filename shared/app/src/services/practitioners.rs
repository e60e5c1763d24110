//! Practitioners of a clinic.

use super::concurrent_update;
use crate::{ServiceError, ids, json, store::Store};
use serde_json::Value;
use tidings_domain::practitioner::{Practitioner, PractitionerInput};

pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: PractitionerInput,
) -> Result<Practitioner, ServiceError> {
    let now = store.now();
    let p = Practitioner {
        id: ids::new_id(),
        fields: input.validate()?,
        created_at: now,
        updated_at: now,
    };
    if !store.create_practitioner(clinic_id, &p).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a practitioner with this id exists",
        ));
    }
    Ok(p)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<Practitioner, ServiceError> {
    store
        .get_practitioner(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("practitioner"))
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Practitioner>, Option<String>), ServiceError> {
    Ok(store.list_practitioners(clinic_id, after, limit).await?)
}

pub async fn update(
    store: &Store,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<Practitioner, ServiceError> {
    let prev = get(store, clinic_id, id).await?;
    let mut merged = serde_json::to_value(&prev.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let fields = json::from_value::<PractitionerInput>(merged)?.validate()?;
    if fields == prev.fields {
        return Ok(prev);
    }
    let p = Practitioner {
        fields,
        updated_at: store.now(),
        ..prev.clone()
    };
    if !store.replace_practitioner(clinic_id, &p, &prev).await? {
        return Err(match store.get_practitioner(clinic_id, id).await? {
            None => ServiceError::NotFound("practitioner"),
            Some(_) => concurrent_update(),
        });
    }
    Ok(p)
}

/// Deletes a practitioner no patient is assigned to; otherwise 409, so that patients never
/// point at a practitioner who is gone (set `active: false` to retire one who has patients).
pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    get(store, clinic_id, id).await?;
    if store.practitioner_has_patients(clinic_id, id).await? {
        return Err(ServiceError::conflict(
            "practitioner_in_use",
            None,
            "patients are assigned to this practitioner; reassign them or set active to false",
        ));
    }
    if !store.delete_practitioner(clinic_id, id).await? {
        return Err(ServiceError::NotFound("practitioner"));
    }
    // Their own reminder settings go with them.
    store
        .delete_reminder_settings(clinic_id, &crate::store::Scope::Practitioner(id.to_owned()))
        .await?;
    Ok(())
}
