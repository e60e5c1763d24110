//! Patient records, the external-id reservations that keep external ids unique in a clinic,
//! and the anonymised record a deleted patient leaves behind.

use super::{
    Item, Page, Query, Store, StoreError, TxError, attr, from_item, keys, n, s, to_item, ts,
};
use chrono::{DateTime, Datelike, Utc};
use tidings_domain::greeting::birthday_key;
use tidings_domain::patient::{Patient, PatientFilter};

/// A stored patient with the bookkeeping the API does not show.
#[derive(Debug, Clone)]
pub struct PatientRecord {
    pub patient: Patient,
    /// How many contacts the patient has (bounded by `MAX_CONTACTS_PER_PATIENT`).
    pub contact_count: u32,
}

/// What a failed patient write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientWrite {
    /// The patient changed (or was deleted) since it was read.
    PatientChanged,
    ExternalIdTaken,
    UnknownPractitioner,
}

/// A page of patients and the id to continue after.
pub struct PatientPage {
    pub patients: Vec<Patient>,
    pub next_after: Option<String>,
}

const LIVE_AND_UNCHANGED: &str =
    "updated_at = :prev AND contact_count = :count AND attribute_not_exists(deleted_at)";

fn patient_item(clinic_id: &str, p: &Patient, contact_count: u32) -> Result<Item, StoreError> {
    let mut item = to_item(p)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::patient_sk(&p.id)));
    item.insert("name_search".into(), s(p.fields.search_name()));
    item.insert("contact_count".into(), n(contact_count));
    if let Some(dob) = p.fields.date_of_birth {
        item.insert("birth_month".into(), n(dob.month()));
        item.insert(
            "gsi3pk".into(),
            s(keys::birthday_gsi(clinic_id, &birthday_key(dob))),
        );
        item.insert("gsi3sk".into(), s(keys::patient_sk(&p.id)));
    }
    if let Some(pr) = &p.fields.practitioner_id {
        item.insert(
            "gsi1pk".into(),
            s(keys::practitioner_patients_gsi(clinic_id, pr)),
        );
        item.insert("gsi1sk".into(), s(keys::patient_sk(&p.id)));
    }
    if let Some(m) = &p.fields.mobile {
        item.insert("gsi2pk".into(), s(keys::mobile_gsi(clinic_id, m)));
        item.insert("gsi2sk".into(), s(keys::patient_sk(&p.id)));
    }
    Ok(item)
}

fn unchanged_values(prev: &PatientRecord) -> Item {
    Item::from([
        (":prev".to_owned(), ts(&prev.patient.updated_at)),
        (":count".to_owned(), n(prev.contact_count)),
    ])
}

impl Store {
    fn external_id_put(
        &self,
        clinic_id: &str,
        external_id: &str,
        patient_id: &str,
    ) -> Result<(super::TransactWriteItem, PatientWrite), StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::external_id_sk(external_id))),
            ("patient_id".to_owned(), s(patient_id)),
        ]);
        Ok((
            self.tx_put(item, "attribute_not_exists(pk)", None)?,
            PatientWrite::ExternalIdTaken,
        ))
    }

    fn external_id_delete(
        &self,
        clinic_id: &str,
        external_id: &str,
        patient_id: &str,
    ) -> Result<(super::TransactWriteItem, PatientWrite), StoreError> {
        let values = Item::from([(":id".to_owned(), s(patient_id))]);
        let del = self.tx_delete(
            keys::clinic_pk(clinic_id),
            keys::external_id_sk(external_id),
            "patient_id = :id",
            Some(values),
        )?;
        Ok((del, PatientWrite::PatientChanged))
    }

    fn practitioner_check(
        &self,
        clinic_id: &str,
        practitioner_id: &str,
    ) -> Result<(super::TransactWriteItem, PatientWrite), StoreError> {
        let check = self.tx_check(
            keys::clinic_pk(clinic_id),
            keys::practitioner_sk(practitioner_id),
            "attribute_exists(pk)",
        )?;
        Ok((check, PatientWrite::UnknownPractitioner))
    }

    /// Creates a patient, reserving its external id and checking its practitioner, atomically.
    pub async fn create_patient(
        &self,
        clinic_id: &str,
        p: &Patient,
    ) -> Result<(), TxError<PatientWrite>> {
        let mut tx = vec![(
            self.tx_put(
                patient_item(clinic_id, p, 0)?,
                "attribute_not_exists(pk)",
                None,
            )?,
            PatientWrite::PatientChanged,
        )];
        if let Some(ext) = &p.fields.external_id {
            tx.push(self.external_id_put(clinic_id, ext, &p.id)?);
        }
        if let Some(pr) = &p.fields.practitioner_id {
            tx.push(self.practitioner_check(clinic_id, pr)?);
        }
        self.transact(tx).await
    }

    /// A live patient; `None` when missing or deleted.
    pub async fn get_patient(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<PatientRecord>, StoreError> {
        let Some(item) = self
            .get(keys::clinic_pk(clinic_id), keys::patient_sk(id))
            .await?
        else {
            return Ok(None);
        };
        record_from_item(item)
    }

    /// Replaces a patient read as `prev`, moving its external-id reservation when it changed.
    pub async fn replace_patient(
        &self,
        clinic_id: &str,
        p: &Patient,
        prev: &PatientRecord,
    ) -> Result<(), TxError<PatientWrite>> {
        let item = patient_item(clinic_id, p, prev.contact_count)?;
        let mut tx = vec![(
            self.tx_put(item, LIVE_AND_UNCHANGED, Some(unchanged_values(prev)))?,
            PatientWrite::PatientChanged,
        )];
        let (old_ext, new_ext) = (&prev.patient.fields.external_id, &p.fields.external_id);
        if old_ext != new_ext {
            if let Some(old) = old_ext {
                tx.push(self.external_id_delete(clinic_id, old, &p.id)?);
            }
            if let Some(new) = new_ext {
                tx.push(self.external_id_put(clinic_id, new, &p.id)?);
            }
        }
        if let Some(pr) = &p.fields.practitioner_id
            && prev.patient.fields.practitioner_id.as_ref() != Some(pr)
        {
            tx.push(self.practitioner_check(clinic_id, pr)?);
        }
        self.transact(tx).await
    }

    /// Erases a patient's personal data, their external-id reservation and their contacts,
    /// leaving an anonymised record (id and dates) so message statistics keep adding up.
    pub async fn erase_patient(
        &self,
        clinic_id: &str,
        prev: &PatientRecord,
        contact_ids: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), TxError<PatientWrite>> {
        let id = &prev.patient.id;
        let anonymised = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::patient_sk(id))),
            ("id".to_owned(), s(id)),
            ("created_at".to_owned(), ts(&prev.patient.created_at)),
            ("updated_at".to_owned(), ts(&at)),
            ("deleted_at".to_owned(), ts(&at)),
            ("contact_count".to_owned(), n(0)),
        ]);
        let mut tx = vec![(
            self.tx_put(anonymised, LIVE_AND_UNCHANGED, Some(unchanged_values(prev)))?,
            PatientWrite::PatientChanged,
        )];
        if let Some(ext) = &prev.patient.fields.external_id {
            tx.push(self.external_id_delete(clinic_id, ext, id)?);
        }
        for contact_id in contact_ids {
            let del = self.tx_delete(
                keys::clinic_pk(clinic_id),
                keys::contact_sk(id, contact_id),
                "attribute_exists(pk)",
                None,
            )?;
            tx.push((del, PatientWrite::PatientChanged));
        }
        self.transact(tx).await
    }

    /// A page of live patients passing `filter`, oldest first, after the patient `after_id`.
    pub async fn list_patients(
        &self,
        clinic_id: &str,
        filter: &PatientFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<PatientPage, StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), keys::PATIENT_PREFIX);
        let mut conditions = vec!["attribute_not_exists(deleted_at)"];
        if let Some(text) = &filter.q {
            conditions.push("contains(name_search, :q)");
            q.values.insert(":q".into(), s(text));
        }
        if let Some(g) = filter.gender {
            conditions.push("gender = :gender");
            q.values.insert(":gender".into(), attr(&g)?);
        }
        if let Some(m) = filter.birth_month {
            conditions.push("birth_month = :month");
            q.values.insert(":month".into(), n(m));
        }
        if let Some(pr) = &filter.practitioner_id {
            conditions.push("practitioner_id = :practitioner");
            q.values.insert(":practitioner".into(), s(pr));
        }
        let filter_expr = conditions.join(" AND ");
        q.filter = Some(&filter_expr);
        let Page { items, next_after } =
            self.page(&q, after_id.map(keys::patient_sk), limit).await?;
        let mut patients = Vec::with_capacity(items.len());
        for item in items {
            if let Some(r) = record_from_item(item)? {
                patients.push(r.patient);
            }
        }
        let next_after =
            next_after.and_then(|sk| sk.strip_prefix(keys::PATIENT_PREFIX).map(str::to_owned));
        Ok(PatientPage {
            patients,
            next_after,
        })
    }
}

fn record_from_item(item: Item) -> Result<Option<PatientRecord>, StoreError> {
    if item.contains_key("deleted_at") {
        return Ok(None);
    }
    let contact_count = item
        .get("contact_count")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Some(PatientRecord {
        patient: from_item(item)?,
        contact_count,
    }))
}
