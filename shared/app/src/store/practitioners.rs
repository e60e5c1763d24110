//! Practitioner records.

use super::{Item, Page, Query, Store, StoreError, from_item, keys, s, to_item, ts};
use tidings_domain::practitioner::Practitioner;

fn practitioner_item(clinic_id: &str, p: &Practitioner) -> Result<Item, StoreError> {
    let mut item = to_item(p)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::practitioner_sk(&p.id)));
    Ok(item)
}

impl Store {
    pub async fn create_practitioner(
        &self,
        clinic_id: &str,
        p: &Practitioner,
    ) -> Result<bool, StoreError> {
        self.put_if(
            practitioner_item(clinic_id, p)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_practitioner(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Practitioner>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::practitioner_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Replaces the practitioner if unchanged since `prev` was read; `Ok(false)` otherwise.
    pub async fn replace_practitioner(
        &self,
        clinic_id: &str,
        p: &Practitioner,
        prev: &Practitioner,
    ) -> Result<bool, StoreError> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        self.put_if(
            practitioner_item(clinic_id, p)?,
            "updated_at = :prev",
            Some(values),
        )
        .await
    }

    pub async fn delete_practitioner(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::practitioner_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// A page of the clinic's practitioners, oldest first, after the practitioner `after_id`.
    pub async fn list_practitioners(
        &self,
        clinic_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Practitioner>, Option<String>), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), keys::PRACTITIONER_PREFIX);
        let Page { items, next_after } = self
            .page(&q, after_id.map(keys::practitioner_sk), limit)
            .await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            list,
            next_after.and_then(|sk| {
                sk.strip_prefix(keys::PRACTITIONER_PREFIX)
                    .map(str::to_owned)
            }),
        ))
    }

    /// Whether any (not deleted) patient of the clinic is assigned to the practitioner.
    pub async fn practitioner_has_patients(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut q = Query::under(
            Some(super::GSI1),
            keys::practitioner_patients_gsi(clinic_id, id),
            keys::PATIENT_PREFIX,
        );
        q.limit = 1;
        Ok(!self.query(&q, None).await?.items.is_empty())
    }
}
