//! Clinic records.

use super::{Item, Query, Store, StoreError, TxError, from_item, keys, s, to_item, ts};

/// Why a clinic change did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicWrite {
    /// Someone changed the clinic since it was read.
    Changed,
    /// Another clinic receives replies at the new reply number.
    NumberTaken,
}
use tidings_domain::clinic::Clinic;

fn clinic_item(c: &Clinic) -> Result<Item, StoreError> {
    let mut item = to_item(c)?;
    item.insert("pk".into(), s(keys::clinic_pk(&c.id)));
    item.insert("sk".into(), s(keys::CLINIC_SK));
    item.insert("gsi1pk".into(), s(keys::CLINICS_GSI));
    item.insert("gsi1sk".into(), s(&c.id));
    Ok(item)
}

impl Store {
    /// Creates the clinic, and marks its notifications and appointments as indexed by patient,
    /// its uploads as referenced by who they name and its unfinished runs as on their index
    /// (it has none that are not). `Ok(false)`: the id was taken.
    pub async fn create_clinic(&self, c: &Clinic) -> Result<bool, StoreError> {
        let created = self
            .put_if(clinic_item(c)?, "attribute_not_exists(pk)", None)
            .await?;
        if created {
            for index in [
                keys::NOTIFICATIONS_INDEXED_SK,
                keys::UPLOADS_INDEXED_SK,
                keys::APPOINTMENTS_INDEXED_SK,
                keys::RUNS_INDEXED_SK,
            ] {
                self.mark_indexed(&c.id, index).await?;
            }
        }
        Ok(created)
    }

    pub async fn get_clinic(&self, id: &str) -> Result<Option<Clinic>, StoreError> {
        self.get(keys::clinic_pk(id), keys::CLINIC_SK.into())
            .await?
            .map(from_item)
            .transpose()
    }

    /// Replaces the clinic if nobody changed it since `prev` was read; `Ok(false)` otherwise.
    pub async fn replace_clinic(&self, c: &Clinic, prev: &Clinic) -> Result<bool, StoreError> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        self.put_if(clinic_item(c)?, "updated_at = :prev", Some(values))
            .await
    }

    /// [`Store::replace_clinic`] with the reply numbers it gained claimed and those it lost
    /// released, in the same transaction.
    pub async fn replace_clinic_and_numbers(
        &self,
        c: &Clinic,
        prev: &Clinic,
    ) -> Result<(), TxError<ClinicWrite>> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        let mut tx = vec![(
            self.tx_put(clinic_item(c)?, "updated_at = :prev", Some(values))?,
            ClinicWrite::Changed,
        )];
        for n in &c.sms_reply_numbers {
            if !prev.sms_reply_numbers.contains(n) {
                tx.push((self.tx_claim_number(n, &c.id)?, ClinicWrite::NumberTaken));
            }
        }
        for old in &prev.sms_reply_numbers {
            if !c.sms_reply_numbers.contains(old) {
                tx.push((self.tx_release_number(old, &c.id)?, ClinicWrite::Changed));
            }
        }
        self.transact(tx).await
    }

    /// Every clinic's id, without reading its settings: a clinic whose stored settings no
    /// longer parse is still listed (its own sweep fails, not everyone's).
    pub async fn list_clinic_ids(&self) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let ids: Vec<Id> = self
            .query_all(Query::under(
                Some(super::GSI1),
                keys::CLINICS_GSI.into(),
                "",
            ))
            .await?;
        Ok(ids.into_iter().map(|c| c.id).collect())
    }

    /// Every clinic (for ops; there are few), and the ids of those whose stored record no
    /// longer reads, with why: one such clinic does not hide the others.
    pub async fn list_clinics(
        &self,
    ) -> Result<(Vec<Clinic>, Vec<(String, StoreError)>), StoreError> {
        let q = Query::under(Some(super::GSI1), keys::CLINICS_GSI.into(), "");
        let (mut clinics, mut unreadable) = (Vec::new(), Vec::new());
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                let id = item
                    .get("id")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                match from_item::<Clinic>(item) {
                    Ok(c) => clinics.push(c),
                    Err(e) => unreadable.push((id, e)),
                }
            }
            start = page.last_key;
            if start.is_none() {
                return Ok((clinics, unreadable));
            }
        }
    }
}

/// A clinic's own Twilio auth token, kept apart from its settings so that no read of the
/// clinic returns it.
impl Store {
    pub async fn twilio_token(&self, clinic_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(keys::clinic_pk(clinic_id), keys::TWILIO_TOKEN_SK.into())
            .await?
            .and_then(|i| i.get("token").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// Sets (or, with `None`, removes) the clinic's Twilio auth token.
    pub async fn set_twilio_token(
        &self,
        clinic_id: &str,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        match token {
            Some(t) => {
                let item = Item::from([
                    ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                    ("sk".to_owned(), s(keys::TWILIO_TOKEN_SK)),
                    ("token".to_owned(), s(t)),
                ]);
                self.put(item).await
            }
            None => {
                self.delete(keys::clinic_pk(clinic_id), keys::TWILIO_TOKEN_SK.into())
                    .await
            }
        }
    }
}
