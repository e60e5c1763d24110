//! API key records: looked up by key id, listed per clinic through the index.

use super::{Query, Store, StoreError, TxError, from_item, keys, s, to_item, ts};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::api_key::Role;

/// A stored API key. The secret itself is never stored, only its hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub clinic_id: String,
    pub role: Role,
    /// Who or what the key is for, e.g. "front desk".
    pub label: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A live key of the clinic `:clinic` (`:null` = "NULL": an unrevoked key stores a null).
const LIVE: &str = "clinic_id = :clinic AND (attribute_not_exists(revoked_at) OR attribute_type(revoked_at, :null))";

impl Store {
    pub async fn create_api_key(&self, k: &ApiKeyRecord) -> Result<bool, StoreError> {
        let mut item = to_item(k)?;
        item.insert("pk".into(), s(keys::api_key_pk(&k.key_id)));
        item.insert("sk".into(), s(keys::API_KEY_SK));
        item.insert("gsi1pk".into(), s(keys::api_keys_gsi(&k.clinic_id)));
        item.insert("gsi1sk".into(), s(&k.key_id));
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    pub async fn get_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get(keys::api_key_pk(key_id), keys::API_KEY_SK.into())
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn list_api_keys(&self, clinic_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query_all(Query::under(
            Some(super::GSI1),
            keys::api_keys_gsi(clinic_id),
            "",
        ))
        .await
    }

    /// Revokes a key of `clinic_id`; `Ok(false)` if there is no such live key in that clinic.
    pub async fn revoke_api_key(
        &self,
        clinic_id: &str,
        key_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::api_key_pk(key_id)))
            .key("sk", s(keys::API_KEY_SK))
            .update_expression("SET revoked_at = :at")
            .condition_expression(LIVE)
            .expression_attribute_values(":at", ts(&at))
            .expression_attribute_values(":clinic", s(clinic_id))
            .expression_attribute_values(":null", s("NULL"))
            .send()
            .await;
        super::conditional(
            "UpdateItem",
            res,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }

    /// Revokes the admin key `key_id` of `clinic_id` while `keeping`, another of its admin
    /// keys, stays live: both conditions hold in one transaction, so two admins revoking each
    /// other's keys at the same instant cannot leave the clinic without an admin key.
    pub async fn revoke_admin_key_keeping(
        &self,
        clinic_id: &str,
        key_id: &str,
        keeping: &str,
        at: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let values = |more: Option<(&str, aws_sdk_dynamodb::types::AttributeValue)>| {
            let mut v = super::Item::from([
                (":clinic".to_owned(), s(clinic_id)),
                (":null".to_owned(), s("NULL")),
            ]);
            v.extend(more.map(|(k, val)| (k.to_owned(), val)));
            v
        };
        let revoke = self.tx_update(
            keys::api_key_pk(key_id),
            keys::API_KEY_SK.into(),
            "SET revoked_at = :at",
            LIVE,
            values(Some((":at", ts(&at)))),
        )?;
        // A key's role never changes: `keeping` was chosen as an admin key.
        let kept = self.tx_check_values(
            keys::api_key_pk(keeping),
            keys::API_KEY_SK.into(),
            LIVE,
            Some(values(None)),
        )?;
        match self
            .transact(vec![
                (revoke, Revoked::NotLive),
                (kept, Revoked::KeptKeyGone),
            ])
            .await
        {
            Ok(()) => Ok(Revoked::Done),
            Err(TxError::Condition(why)) => Ok(why),
            Err(TxError::Store(e)) => Err(e),
        }
    }
}

/// What came of revoking an admin key while keeping another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Done,
    /// The key is not a live key of the clinic.
    NotLive,
    /// The key to keep was revoked meanwhile.
    KeptKeyGone,
}
