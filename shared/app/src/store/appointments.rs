//! Appointments (`APPOINTMENT#<id>`), the appointment book in time order on the index
//! (`CLINIC#<c>#APPOINTMENTS`, sorted by start time), and each patient's appointments on
//! another (`CLINIC#<c>#PATIENT#<p>#APPOINTMENTS`, by start time too).

use super::{Item, Query, Store, StoreError, TxError, from_item, keys, s, to_item, ts};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use tidings_domain::appointment::{Appointment, AppointmentStatus};

/// What a failed appointment write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentWrite {
    Exists,
    Changed,
    UnknownPatient,
    UnknownPractitioner,
}

/// A page of the appointment book and the position to continue after.
pub struct AppointmentPage {
    pub appointments: Vec<Appointment>,
    /// The `gsi1sk` of the last appointment read, when there may be more.
    pub next_after: Option<String>,
}

fn appointment_item(clinic_id: &str, a: &Appointment) -> Result<Item, StoreError> {
    let mut item = to_item(a)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::appointment_sk(&a.id)));
    let time = keys::appointment_time_sk(&a.fields.start, &a.id);
    item.insert("gsi1pk".into(), s(keys::appointments_gsi(clinic_id)));
    item.insert("gsi1sk".into(), s(&time));
    // Only a visit (taken place or to come) is on the patient's index: what a recall asks.
    if a.fields.status.counts_as_visit() {
        item.insert(
            "gsi2pk".into(),
            s(keys::patient_appointments_gsi(
                clinic_id,
                &a.fields.patient_id,
            )),
        );
        item.insert("gsi2sk".into(), s(time));
    }
    if let Some(done) = &a.completed_at {
        item.insert(
            "gsi3pk".into(),
            s(keys::completed_appointments_gsi(clinic_id)),
        );
        item.insert("gsi3sk".into(), s(keys::appointment_time_sk(done, &a.id)));
    }
    Ok(item)
}

/// Filters of an appointment-book read.
#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter {
    pub practitioner_id: Option<String>,
    pub statuses: Vec<AppointmentStatus>,
}

impl Store {
    /// Writes an appointment whose patient (and practitioner, if named) exist, in one
    /// transaction. `prev` is the version it replaces (`None` for a new one).
    pub async fn write_appointment(
        &self,
        clinic_id: &str,
        a: &Appointment,
        prev: Option<&Appointment>,
    ) -> Result<(), TxError<AppointmentWrite>> {
        let pk = keys::clinic_pk(clinic_id);
        let put = match prev {
            None => (
                self.tx_put(
                    appointment_item(clinic_id, a)?,
                    "attribute_not_exists(pk)",
                    None,
                )?,
                AppointmentWrite::Exists,
            ),
            Some(p) => (
                self.tx_put(
                    appointment_item(clinic_id, a)?,
                    "updated_at = :prev",
                    Some(Item::from([(":prev".to_owned(), ts(&p.updated_at))])),
                )?,
                AppointmentWrite::Changed,
            ),
        };
        let mut tx = vec![
            put,
            (
                self.tx_check(
                    pk.clone(),
                    keys::patient_sk(&a.fields.patient_id),
                    "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                )?,
                AppointmentWrite::UnknownPatient,
            ),
        ];
        if let Some(pr) = &a.fields.practitioner_id {
            tx.push((
                self.tx_check(pk, keys::practitioner_sk(pr), "attribute_exists(pk)")?,
                AppointmentWrite::UnknownPractitioner,
            ));
        }
        self.transact(tx).await
    }

    pub async fn get_appointment(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Appointment>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::appointment_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn delete_appointment(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::appointment_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// Up to `limit` appointments starting in `[from, to)` that pass `filter`, in start order,
    /// after the book position `after` (a `gsi1sk`).
    /// The ids of the clinic's appointments that became completed in `[from, to)`.
    pub async fn appointments_completed_between(
        &self,
        clinic_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut q = Query::under(
            Some(super::GSI3),
            keys::completed_appointments_gsi(clinic_id),
            "",
        );
        q.sk_between = Some((keys::time_key(&from), format!("{}#", keys::time_key(&to))));
        let found: Vec<super::SortKey> = self.query_all(q).await?;
        Ok(found
            .into_iter()
            .filter_map(|k| {
                k.sk.strip_prefix(keys::APPOINTMENT_PREFIX)
                    .map(str::to_owned)
            })
            .collect())
    }

    pub async fn appointments_between(
        &self,
        clinic_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &AppointmentFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<AppointmentPage, StoreError> {
        let gsi = keys::appointments_gsi(clinic_id);
        let mut q = Query::under(Some(super::GSI1), gsi.clone(), "");
        // `#` sorts before every character of an id, `~` after: [from, to) exactly.
        q.sk_between = Some((keys::time_key(&from), format!("{}#", keys::time_key(&to))));
        let mut conditions = Vec::new();
        if let Some(p) = &filter.practitioner_id {
            conditions.push("practitioner_id = :practitioner".to_owned());
            q.values.insert(":practitioner".into(), s(p));
        }
        if !filter.statuses.is_empty() {
            let names: Vec<String> = (0..filter.statuses.len())
                .map(|i| format!(":st{i}"))
                .collect();
            for (name, st) in names.iter().zip(&filter.statuses) {
                q.values.insert(name.clone(), s(st.as_str()));
            }
            conditions.push(format!("#s IN ({})", names.join(", ")));
            q.names.insert("#s".into(), "status".into());
        }
        let filter_expr = conditions.join(" AND ");
        if !conditions.is_empty() {
            q.filter = Some(&filter_expr);
        }
        let start = after.and_then(|sk| {
            let id = sk.rsplit('#').next()?;
            Some(Item::from([
                ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                ("sk".to_owned(), s(keys::appointment_sk(id))),
                ("gsi1pk".to_owned(), s(&gsi)),
                ("gsi1sk".to_owned(), s(sk)),
            ]))
        });
        let mut appointments: Vec<Appointment> = Vec::new();
        let mut start = start;
        // Read one more than asked so a full page knows whether anything follows; bounded
        // like `Store::page_from`.
        for _ in 0..10 {
            q.limit = i32::try_from(limit + 1 - appointments.len()).unwrap_or(100);
            let page = self.query(&q, start.take()).await?;
            for item in page.items {
                appointments.push(from_item(item)?);
            }
            if appointments.len() > limit {
                appointments.truncate(limit);
                let next_after = appointments
                    .last()
                    .map(|a| keys::appointment_time_sk(&a.fields.start, &a.id));
                return Ok(AppointmentPage {
                    appointments,
                    next_after,
                });
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => {
                    return Ok(AppointmentPage {
                        appointments,
                        next_after: None,
                    });
                }
            }
        }
        let next_after = start
            .as_ref()
            .and_then(|k| k.get("gsi1sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok(AppointmentPage {
            appointments,
            next_after,
        })
    }

    /// The patients with an appointment that counts as a visit starting at or after `since`
    /// (what keeps them out of a recall).
    pub async fn patients_seen_since(
        &self,
        clinic_id: &str,
        since: DateTime<Utc>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut q = Query::under(Some(super::GSI1), keys::appointments_gsi(clinic_id), "");
        q.sk_between = Some((keys::time_key(&since), "~".to_owned()));
        q.limit = 1000;
        let mut seen = HashSet::new();
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                let a: Appointment = from_item(item)?;
                if a.fields.status.counts_as_visit() {
                    seen.insert(a.fields.patient_id);
                }
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => return Ok(seen),
            }
        }
    }

    /// Whether the clinic's appointments are all on their patients' index.
    pub async fn appointments_indexed(&self, clinic_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::APPOINTMENTS_INDEXED_SK.into(),
            )
            .await?
            .is_some())
    }

    /// Whether the patient has an appointment from `since` on that counts as a visit (see
    /// [`Store::patients_seen_since`]): one key read from their index, which holds only visits.
    pub async fn patient_seen_since(
        &self,
        clinic_id: &str,
        patient_id: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut q = Query::under(
            Some(super::GSI2),
            keys::patient_appointments_gsi(clinic_id, patient_id),
            "",
        );
        q.sk_between = Some((keys::time_key(&since), "~".to_owned()));
        q.limit = 1;
        Ok(!self.query(&q, None).await?.items.is_empty())
    }

    /// Puts every visit of the clinic that is not yet on its patient's index there, then
    /// marks the clinic's appointments indexed (`tidings-admin appointments index`): how many
    /// were read and how many indexed. An appointment written meanwhile is written indexed (so
    /// one whose start moved meanwhile is left as that write left it).
    pub async fn index_appointments(&self, clinic_id: &str) -> Result<(usize, usize), StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let q = Query::under(None, pk.clone(), keys::appointment_sk(""));
        let mut start = None;
        let (mut read, mut indexed) = (0, 0);
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                read += 1;
                if item.contains_key("gsi2pk") {
                    continue;
                }
                let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned();
                let (Some(sk), Some(book)) = (sk, item.get("gsi1sk").cloned()) else {
                    continue;
                };
                let a: Appointment = from_item(item.clone())?;
                if !a.fields.status.counts_as_visit() {
                    continue;
                }
                let values = Item::from([
                    (
                        ":p".to_owned(),
                        s(keys::patient_appointments_gsi(
                            clinic_id,
                            &a.fields.patient_id,
                        )),
                    ),
                    (":book".to_owned(), book),
                    (":status".to_owned(), s(a.fields.status.as_str())),
                ]);
                // Unless a write changed its time or status meanwhile (that write indexed it).
                if self
                    .update_if(
                        (pk.clone(), sk),
                        "SET gsi2pk = :p, gsi2sk = :book",
                        "gsi1sk = :book AND #s = :status",
                        values,
                    )
                    .await?
                {
                    indexed += 1;
                }
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        self.mark_indexed(clinic_id, keys::APPOINTMENTS_INDEXED_SK)
            .await?;
        Ok((read, indexed))
    }
}
