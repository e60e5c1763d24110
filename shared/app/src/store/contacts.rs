//! Contacts, stored under their patient (`CONTACT#<patient id>#<contact id>`). Each contact
//! write also updates the patient's contact count, so the count bounds a patient's erase
//! transaction and a contact can never be added to a deleted patient.

use super::{Item, Query, Store, StoreError, TxError, from_item, keys, n, s, to_item, ts};
use tidings_domain::contact::{Contact, MAX_CONTACTS_PER_PATIENT};

/// What a failed contact write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactWrite {
    /// The patient is missing, deleted, or already has the most contacts allowed.
    PatientUnavailable,
    /// The contact changed or was deleted since it was read.
    ContactChanged,
    /// `contact_patient_id` names no live patient of the clinic.
    UnknownLinkedPatient,
}

fn contact_item(clinic_id: &str, c: &Contact) -> Result<Item, StoreError> {
    let mut item = to_item(c)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::contact_sk(&c.patient_id, &c.id)));
    if let Some(m) = &c.fields.mobile {
        item.insert("gsi2pk".into(), s(keys::mobile_gsi(clinic_id, m)));
        item.insert("gsi2sk".into(), s(keys::contact_sk(&c.patient_id, &c.id)));
    }
    if let Some(linked) = &c.fields.contact_patient_id {
        item.insert(
            "gsi3pk".into(),
            s(keys::linked_contacts_gsi(clinic_id, linked)),
        );
        item.insert("gsi3sk".into(), s(keys::contact_sk(&c.patient_id, &c.id)));
    }
    Ok(item)
}

/// A contact of `patient_id` (a dependant, say) that is another patient of the clinic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedContact {
    pub patient_id: String,
    pub contact_id: String,
}

impl Store {
    /// The contacts (of other patients) that are the patient `linked`.
    pub async fn contacts_linked_to(
        &self,
        clinic_id: &str,
        linked: &str,
    ) -> Result<Vec<LinkedContact>, StoreError> {
        let found: Vec<super::SortKey> = self
            .query_all(Query::under(
                Some(super::GSI3),
                keys::linked_contacts_gsi(clinic_id, linked),
                "",
            ))
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|k| {
                let rest = k.sk.strip_prefix("CONTACT#")?;
                let (patient_id, contact_id) = rest.split_once('#')?;
                Some(LinkedContact {
                    patient_id: patient_id.to_owned(),
                    contact_id: contact_id.to_owned(),
                })
            })
            .collect())
    }

    fn linked_patient_check(
        &self,
        clinic_id: &str,
        linked: &str,
    ) -> Result<(super::TransactWriteItem, ContactWrite), StoreError> {
        let check = self.tx_check(
            keys::clinic_pk(clinic_id),
            keys::patient_sk(linked),
            "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
        )?;
        Ok((check, ContactWrite::UnknownLinkedPatient))
    }

    pub async fn create_contact(
        &self,
        clinic_id: &str,
        c: &Contact,
    ) -> Result<(), TxError<ContactWrite>> {
        let values = Item::from([
            (":one".to_owned(), n(1)),
            (":max".to_owned(), n(MAX_CONTACTS_PER_PATIENT)),
        ]);
        let count = self.tx_update(
            keys::clinic_pk(clinic_id),
            keys::patient_sk(&c.patient_id),
            "SET contact_count = contact_count + :one",
            "attribute_exists(pk) AND attribute_not_exists(deleted_at) AND contact_count < :max",
            values,
        )?;
        let mut tx = vec![
            (count, ContactWrite::PatientUnavailable),
            (
                self.tx_put(
                    contact_item(clinic_id, c)?,
                    "attribute_not_exists(pk)",
                    None,
                )?,
                ContactWrite::ContactChanged,
            ),
        ];
        if let Some(linked) = &c.fields.contact_patient_id {
            tx.push(self.linked_patient_check(clinic_id, linked)?);
        }
        self.transact(tx).await
    }

    pub async fn get_contact(
        &self,
        clinic_id: &str,
        patient_id: &str,
        id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::contact_sk(patient_id, id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Every contact of a patient (at most `MAX_CONTACTS_PER_PATIENT`), oldest first.
    pub async fn list_contacts(
        &self,
        clinic_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Contact>, StoreError> {
        self.query_all(Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::contacts_prefix(patient_id),
        ))
        .await
    }

    pub async fn replace_contact(
        &self,
        clinic_id: &str,
        c: &Contact,
        prev: &Contact,
    ) -> Result<(), TxError<ContactWrite>> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        let mut tx = vec![(
            self.tx_put(
                contact_item(clinic_id, c)?,
                "updated_at = :prev",
                Some(values),
            )?,
            ContactWrite::ContactChanged,
        )];
        if let Some(linked) = &c.fields.contact_patient_id
            && prev.fields.contact_patient_id.as_ref() != Some(linked)
        {
            tx.push(self.linked_patient_check(clinic_id, linked)?);
        }
        self.transact(tx).await
    }

    pub async fn delete_contact(
        &self,
        clinic_id: &str,
        patient_id: &str,
        id: &str,
    ) -> Result<(), TxError<ContactWrite>> {
        let del = self.tx_delete(
            keys::clinic_pk(clinic_id),
            keys::contact_sk(patient_id, id),
            "attribute_exists(pk)",
            None,
        )?;
        let count = self.tx_update(
            keys::clinic_pk(clinic_id),
            keys::patient_sk(patient_id),
            "SET contact_count = contact_count - :one",
            "attribute_exists(pk) AND contact_count > :zero",
            Item::from([(":one".to_owned(), n(1)), (":zero".to_owned(), n(0))]),
        )?;
        self.transact(vec![
            (del, ContactWrite::ContactChanged),
            (count, ContactWrite::PatientUnavailable),
        ])
        .await
    }
}
