//! Saved message templates of a clinic.

use super::concurrent_update;
use crate::{ServiceError, ids, json, store::Store};
use serde_json::Value;
use tidings_domain::message_template::{SavedTemplate, TemplateInput};

pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: TemplateInput,
) -> Result<SavedTemplate, ServiceError> {
    let now = store.now();
    let fields = input.validate()?;
    fields.check_sms_length(
        super::load_clinic(store, clinic_id)
            .await?
            .fields
            .max_sms_length,
    )?;
    let t = SavedTemplate {
        id: ids::new_id(),
        fields,
        created_at: now,
        updated_at: now,
    };
    if !store.create_template(clinic_id, &t).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a template with this id exists",
        ));
    }
    Ok(t)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<SavedTemplate, ServiceError> {
    store
        .get_template(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("template"))
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<SavedTemplate>, Option<String>), ServiceError> {
    Ok(store.list_templates(clinic_id, after, limit).await?)
}

/// Applies a JSON merge patch; the merged template is checked like a new one.
pub async fn update(
    store: &Store,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<SavedTemplate, ServiceError> {
    let prev = get(store, clinic_id, id).await?;
    let mut merged = serde_json::to_value(&prev.fields).map_err(|_| concurrent_update())?;
    json::merge_patch(&mut merged, patch)?;
    let fields = json::from_value::<TemplateInput>(merged)?.validate()?;
    fields.check_sms_length(
        super::load_clinic(store, clinic_id)
            .await?
            .fields
            .max_sms_length,
    )?;
    if fields == prev.fields {
        return Ok(prev);
    }
    let t = SavedTemplate {
        fields,
        updated_at: store.now(),
        ..prev.clone()
    };
    if !store.replace_template(clinic_id, &t, &prev).await? {
        return Err(match store.get_template(clinic_id, id).await? {
            None => ServiceError::NotFound("template"),
            Some(_) => concurrent_update(),
        });
    }
    Ok(t)
}

/// Deletes a template. Messages already sent keep their rendered text and the template id.
pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    if !store.delete_template(clinic_id, id).await? {
        return Err(ServiceError::NotFound("template"));
    }
    Ok(())
}
