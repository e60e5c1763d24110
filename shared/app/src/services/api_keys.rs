//! API keys: made for ops by the admin command, checked on every request.

use crate::ServiceError;
use crate::store::{ApiKeyRecord, Store};
use rand::RngCore;
use tidings_domain::api_key::{self, Role};
use tidings_domain::text;

/// A new key: the record stored, and the key string, shown once and never stored.
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    pub key: String,
}

pub async fn issue(
    store: &Store,
    clinic_id: &str,
    role: Role,
    label: &str,
) -> Result<IssuedKey, ServiceError> {
    let label = text::required("label", label, 80)?;
    super::load_clinic(store, clinic_id).await?;
    let mut id_bytes = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id_bytes);
    rand::rng().fill_bytes(&mut secret);
    let new = api_key::format(id_bytes, secret);
    let record = ApiKeyRecord {
        key_id: new.key_id,
        clinic_id: clinic_id.to_owned(),
        role,
        label,
        secret_hash: new.secret_hash,
        created_at: store.now(),
        revoked_at: None,
    };
    if !store.create_api_key(&record).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "key id collision; try again",
        ));
    }
    Ok(IssuedKey {
        record,
        key: new.key,
    })
}

pub async fn revoke(store: &Store, clinic_id: &str, key_id: &str) -> Result<(), ServiceError> {
    if store.revoke_api_key(clinic_id, key_id, store.now()).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound("key"))
    }
}
