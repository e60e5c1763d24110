//! API keys: issued by a clinic's admins (`/keys`) or by ops (the admin command), checked on
//! every request.

use crate::ServiceError;
use crate::store::{ApiKeyRecord, Revoked, Store};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tidings_domain::api_key::{self, Role};
use tidings_domain::{FieldError, text};

/// Live keys a clinic may hold at once.
pub const MAX_LIVE_KEYS: usize = 100;

/// `POST /keys`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub role: Option<Role>,
    pub label: Option<String>,
}

/// A key as the API shows it: never the key itself, nor its hash.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct KeyView {
    pub id: String,
    pub role: Role,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

impl From<&ApiKeyRecord> for KeyView {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.key_id.clone(),
            role: k.role,
            label: k.label.clone(),
            created_at: k.created_at,
        }
    }
}

/// A key just issued: the only answer that carries the key.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: KeyView,
    pub key: String,
}

/// The clinic's live keys, oldest first.
pub async fn list(store: &Store, clinic_id: &str) -> Result<Vec<KeyView>, ServiceError> {
    let mut keys: Vec<ApiKeyRecord> = store
        .list_api_keys(clinic_id)
        .await?
        .into_iter()
        .filter(|k| k.revoked_at.is_none())
        .collect();
    keys.sort_by_key(|k| k.created_at);
    Ok(keys.iter().map(KeyView::from).collect())
}

/// Issues a key for the clinic (`POST /keys`), up to [`MAX_LIVE_KEYS`] live at once.
pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: NewKey,
) -> Result<CreatedKey, ServiceError> {
    let role = input.role.ok_or_else(|| FieldError::required("role"))?;
    let label = text::required("label", input.label.as_deref().unwrap_or_default(), 80)?;
    if list(store, clinic_id).await?.len() >= MAX_LIVE_KEYS {
        return Err(ServiceError::conflict(
            "too_many_keys",
            None,
            format!("a clinic holds at most {MAX_LIVE_KEYS} live keys: revoke one first"),
        ));
    }
    let issued = issue(store, clinic_id, role, &label).await?;
    Ok(CreatedKey {
        view: KeyView::from(&issued.record),
        key: issued.key,
    })
}

/// Revokes a key of the clinic (`DELETE /keys/{id}`), unless it is the clinic's last live
/// admin key: a clinic always keeps a key that can manage its keys. An admin key is revoked in
/// one transaction with a check that another admin key is live, so admins revoking each
/// other's keys at the same instant cannot both succeed when only two are left.
pub async fn revoke_by_admin(
    store: &Store,
    clinic_id: &str,
    key_id: &str,
) -> Result<(), ServiceError> {
    let last_admin = || {
        ServiceError::conflict(
            "last_admin_key",
            None,
            "this is the clinic's last admin key: issue another admin key before revoking it",
        )
    };
    // Another admin key may be revoked meanwhile: the live keys are read again.
    for _ in 0..3 {
        let live = list(store, clinic_id).await?;
        let target = live
            .iter()
            .find(|k| k.id == key_id)
            .ok_or(ServiceError::NotFound("key"))?;
        if target.role != Role::Admin {
            return revoke(store, clinic_id, key_id).await;
        }
        let Some(keeping) = live
            .iter()
            .find(|k| k.role == Role::Admin && k.id != key_id)
        else {
            return Err(last_admin());
        };
        match store
            .revoke_admin_key_keeping(clinic_id, key_id, &keeping.id, store.now())
            .await?
        {
            Revoked::Done => return Ok(()),
            Revoked::NotLive => return Err(ServiceError::NotFound("key")),
            Revoked::KeptKeyGone => {}
        }
    }
    Err(last_admin())
}

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
