//! Uploaded lists: the summary (`UPLOAD#<id>`, written last, so a half-written upload is
//! never seen) and the rows in chunks (`UPLOAD#<id>#MATCHED#<n>`, `UPLOAD#<id>#FAILED#<n>`).
//!
//! Each chunk is referenced by who its rows name (`UPLOADREF#<reference>#<id>#<kind>#<n>`,
//! written before the chunk): a matched row by its patient, a failed row by its external id,
//! mobile and email (hashed). Erasing a person reads their references, not every upload.

use super::{BATCH_WRITE, Item, Store, StoreError, from_item, keys, s, to_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tidings_domain::digest::sha256_hex;
use tidings_domain::message_template::Channel;
use tidings_domain::phone::{Country, optional_mobile};
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
pub(crate) struct Chunk<T> {
    pub rows: Vec<T>,
}

/// The reference of a patient's matched rows.
pub(crate) fn patient_ref(patient_id: &str) -> String {
    format!("P{patient_id}")
}

/// The reference of failed rows whose `field` is `value` (any ASCII case, as erasure compares
/// them); a hash, so the key holds no number or address.
pub(crate) fn value_ref(field: &str, value: &str) -> String {
    format!(
        "H{}",
        sha256_hex(format!("{field}:{}", value.trim().to_ascii_lowercase()).as_bytes())
    )
}

/// A failed row's mobile as the patient record holds numbers (E.164, read as the clinic
/// dials), or as written when it is not a mobile number: `0412 345 678` names `+61412345678`.
pub(crate) fn failed_row_mobile(raw: &str, country: Country) -> String {
    optional_mobile("mobile", Some(raw), country)
        .ok()
        .flatten()
        .unwrap_or_else(|| raw.trim().to_owned())
}

/// The keys of the references of one chunk's rows, each once.
pub fn upload_ref_keys<T: Referenced>(
    upload_id: &str,
    (kind, n): (&str, usize),
    rows: &[T],
    country: Country,
) -> Vec<String> {
    rows.iter()
        .flat_map(|r| r.references(country))
        .collect::<BTreeSet<_>>()
        .iter()
        .map(|r| keys::upload_ref_sk(r, upload_id, kind, n))
        .collect()
}

/// A stored upload row: what erasure finds it by (`country`: the clinic's, for numbers).
pub trait Referenced {
    fn references(&self, country: Country) -> Vec<String>;
}

impl Referenced for MatchedRow {
    fn references(&self, _: Country) -> Vec<String> {
        vec![patient_ref(&self.patient_id)]
    }
}

impl Referenced for FailedRow {
    fn references(&self, country: Country) -> Vec<String> {
        let r = &self.row;
        [
            ("external_id", r.external_id.clone()),
            ("mobile", failed_row_mobile(&r.mobile, country)),
            ("email", r.email.clone()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(field, v)| value_ref(field, &v))
        .collect()
    }
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

    /// Stores one chunk of rows (`kind` `MATCHED` or `FAILED`), its references (`refs`, from
    /// [`upload_ref_keys`]) first, so that no chunk is ever stored unreferenced.
    pub async fn put_upload_chunk<T: Serialize>(
        &self,
        clinic_id: &str,
        upload_id: &str,
        (kind, n): (&str, usize),
        rows: &[T],
        refs: &[String],
    ) -> Result<(), StoreError> {
        self.put_upload_refs(clinic_id, refs).await?;
        let mut item: Item = to_item(&Chunk {
            rows: rows.iter().collect::<Vec<_>>(),
        })?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::upload_chunk_sk(upload_id, kind, n)));
        self.put_if(item, "attribute_not_exists(pk)", None).await?;
        Ok(())
    }

    /// Writes references (their keys), up to 25 to a call.
    pub(crate) async fn put_upload_refs(
        &self,
        clinic_id: &str,
        refs: &[String],
    ) -> Result<(), StoreError> {
        for batch in refs.chunks(BATCH_WRITE) {
            let items = batch
                .iter()
                .map(|sk| {
                    Item::from([
                        ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                        ("sk".to_owned(), s(sk)),
                    ])
                })
                .collect();
            self.put_batch(items).await?;
        }
        Ok(())
    }

    /// Removes one chunk and its references (those there are) of an upload whose summary was
    /// never written.
    pub async fn delete_upload_chunk(
        &self,
        clinic_id: &str,
        upload_id: &str,
        (kind, n): (&str, usize),
        refs: &[String],
    ) -> Result<(), StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        self.delete(pk.clone(), keys::upload_chunk_sk(upload_id, kind, n))
            .await?;
        for sk in refs {
            self.delete(pk.clone(), sk.clone()).await?;
        }
        Ok(())
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
