//! Uploaded lists: the summary (`UPLOAD#<id>`, written last, so a half-written upload is
//! never seen) and the rows in chunks (`UPLOAD#<id>#MATCHED#<n>`, `UPLOAD#<id>#FAILED#<n>`).

use super::{Item, Store, StoreError, from_item, keys, s, to_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::message_template::Channel;
use tidings_domain::upload::{RowFailure, UploadRow};

/// What an upload matched, as `GET /uploads/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UploadSummary {
    pub id: String,
    pub channel: Channel,
    pub rows: usize,
    pub matched: usize,
    pub unmatched: usize,
    /// How many chunks of matched and of failed rows are stored.
    pub matched_chunks: usize,
    pub failed_chunks: usize,
    pub created_at: DateTime<Utc>,
}

/// A row matched to a patient, with the contact details the list gave (they take precedence
/// over the patient's for campaigns sent to this list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedRow {
    pub line: u64,
    pub patient_id: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRow {
    #[serde(flatten)]
    pub row: UploadRow,
    pub reason: RowFailure,
}

#[derive(Serialize, Deserialize)]
struct Chunk<T> {
    rows: Vec<T>,
}

impl Store {
    /// The patient that holds an external id in the clinic.
    pub async fn patient_id_by_external_id(
        &self,
        clinic_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::external_id_sk(external_id),
            )
            .await?
            .and_then(|i| i.get("patient_id").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// Stores one chunk of rows (`kind` `MATCHED` or `FAILED`).
    pub async fn put_upload_chunk<T: Serialize>(
        &self,
        clinic_id: &str,
        upload_id: &str,
        kind: &str,
        n: usize,
        rows: &[T],
    ) -> Result<(), StoreError> {
        let mut item: Item = to_item(&Chunk {
            rows: rows.iter().collect::<Vec<_>>(),
        })?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::upload_chunk_sk(upload_id, kind, n)));
        self.put_if(item, "attribute_not_exists(pk)", None).await?;
        Ok(())
    }

    /// Removes one chunk (of an upload whose summary was never written).
    pub async fn delete_upload_chunk(
        &self,
        clinic_id: &str,
        upload_id: &str,
        kind: &str,
        n: usize,
    ) -> Result<(), StoreError> {
        self.delete(
            keys::clinic_pk(clinic_id),
            keys::upload_chunk_sk(upload_id, kind, n),
        )
        .await
    }

    pub async fn put_upload_summary(
        &self,
        clinic_id: &str,
        u: &UploadSummary,
    ) -> Result<bool, StoreError> {
        let mut item = to_item(u)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::upload_sk(&u.id)));
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    pub async fn get_upload(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<UploadSummary>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::upload_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn matched_chunk(
        &self,
        clinic_id: &str,
        id: &str,
        n: usize,
    ) -> Result<Vec<MatchedRow>, StoreError> {
        self.chunk(clinic_id, id, "MATCHED", n).await
    }

    pub async fn failed_chunk(
        &self,
        clinic_id: &str,
        id: &str,
        n: usize,
    ) -> Result<Vec<FailedRow>, StoreError> {
        self.chunk(clinic_id, id, "FAILED", n).await
    }

    async fn chunk<T: serde::de::DeserializeOwned>(
        &self,
        clinic_id: &str,
        id: &str,
        kind: &str,
        n: usize,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::upload_chunk_sk(id, kind, n),
            )
            .await?
            .map(from_item::<Chunk<T>>)
            .transpose()?
            .map(|c| c.rows)
            .unwrap_or_default())
    }
}
