//! Referrers and the referrals they made.

use super::{clinic_today, concurrent_update, condition, load_clinic};
use crate::store::{ReferralWrite, Store};
use crate::{ServiceError, ids, json};
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::referrer::{Referral, ReferralInput, Referrer, ReferrerInput};

pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: ReferrerInput,
) -> Result<Referrer, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let now = store.now();
    let r = Referrer {
        id: ids::new_id(),
        fields: input.validate(clinic.fields.default_country()?)?,
        created_at: now,
        updated_at: now,
    };
    if !store.create_referrer(clinic_id, &r).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a referrer with this id exists",
        ));
    }
    Ok(r)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<Referrer, ServiceError> {
    store
        .get_referrer(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("referrer"))
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Referrer>, Option<String>), ServiceError> {
    Ok(store.list_referrers(clinic_id, after, limit).await?)
}

pub async fn update(
    store: &Store,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<Referrer, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let prev = get(store, clinic_id, id).await?;
    let mut merged = serde_json::to_value(&prev.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let fields =
        json::from_value::<ReferrerInput>(merged)?.validate(clinic.fields.default_country()?)?;
    if fields == prev.fields {
        return Ok(prev);
    }
    let r = Referrer {
        fields,
        updated_at: store.now(),
        ..prev.clone()
    };
    if !store.replace_referrer(clinic_id, &r, &prev).await? {
        return Err(match store.get_referrer(clinic_id, id).await? {
            None => ServiceError::NotFound("referrer"),
            Some(_) => concurrent_update(),
        });
    }
    Ok(r)
}

/// Deletes a referrer. Their referrals stay (they are the patient's history) but no longer
/// put anyone in a referral report.
pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    if !store.delete_referrer(clinic_id, id).await? {
        return Err(ServiceError::NotFound("referrer"));
    }
    Ok(())
}

/// `POST /patients/{id}/referrals`.
pub async fn refer(
    store: &Store,
    clinic_id: &str,
    patient_id: &str,
    input: ReferralInput,
) -> Result<Referral, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let (referrer_id, date) = input.validate(clinic_today(&clinic, store.now()))?;
    let r = Referral {
        id: ids::new_id(),
        patient_id: patient_id.to_owned(),
        referrer_id,
        date,
        created_at: store.now(),
    };
    if let Err(e) = store.create_referral(clinic_id, &r).await {
        return Err(match condition(e)? {
            ReferralWrite::UnknownPatient => ServiceError::NotFound("patient"),
            ReferralWrite::UnknownReferrer => {
                FieldError::new("referrer_id", "not_found", "referrer not found").into()
            }
        });
    }
    Ok(r)
}
