//! Reminder and greeting settings, how far each sweep has covered, and the lookups the sweeps
//! make: appointments by creation time and patients by birthday.

use super::{Item, Query, SortKey, Store, StoreError, from_item, keys, s, to_item, ts};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::appointment::Appointment;
use tidings_domain::greeting::GreetingSettings;
use tidings_domain::reminder::ReminderSettings;

/// Whose reminder settings: the clinic's (the group's) or one practitioner's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Group,
    Practitioner(String),
}

impl Scope {
    fn key(&self) -> String {
        match self {
            Scope::Group => "GROUP".into(),
            Scope::Practitioner(id) => format!("PRACTITIONER#{id}"),
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "GROUP" => Some(Scope::Group),
            k => k
                .strip_prefix("PRACTITIONER#")
                .map(|id| Scope::Practitioner(id.to_owned())),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    sk: String,
    #[serde(flatten)]
    settings: T,
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    covered_until: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct GreetingDone {
    date: NaiveDate,
}

impl Store {
    /// The settings of one scope, if saved.
    pub async fn reminder_settings(
        &self,
        clinic_id: &str,
        scope: &Scope,
    ) -> Result<Option<ReminderSettings>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::reminder_settings_sk(&scope.key()),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    /// Every saved reminder settings of a clinic: the group's and each practitioner's.
    pub async fn all_reminder_settings(
        &self,
        clinic_id: &str,
    ) -> Result<Vec<(Scope, ReminderSettings)>, StoreError> {
        let items: Vec<Stored<ReminderSettings>> = self
            .query_all(Query::under(
                None,
                keys::clinic_pk(clinic_id),
                keys::REMINDER_SETTINGS_PREFIX,
            ))
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|i| {
                let scope = Scope::from_key(i.sk.strip_prefix(keys::REMINDER_SETTINGS_PREFIX)?)?;
                Some((scope, i.settings))
            })
            .collect())
    }

    pub async fn put_reminder_settings(
        &self,
        clinic_id: &str,
        scope: &Scope,
        settings: &ReminderSettings,
    ) -> Result<(), StoreError> {
        let mut item = to_item(settings)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::reminder_settings_sk(&scope.key())));
        self.put(item).await
    }

    /// Removes a practitioner's own settings; `Ok(false)` if there were none.
    pub async fn delete_reminder_settings(
        &self,
        clinic_id: &str,
        scope: &Scope,
    ) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::reminder_settings_sk(&scope.key()),
            "attribute_exists(pk)",
        )
        .await
    }

    pub async fn greeting_settings(
        &self,
        clinic_id: &str,
    ) -> Result<Option<GreetingSettings>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::GREETING_SETTINGS_SK.into(),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    pub async fn put_greeting_settings(
        &self,
        clinic_id: &str,
        settings: &GreetingSettings,
    ) -> Result<(), StoreError> {
        let mut item = to_item(settings)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::GREETING_SETTINGS_SK));
        self.put(item).await
    }

    /// How far the reminder sweep of `scope` has covered due times.
    pub async fn reminder_checkpoint(
        &self,
        clinic_id: &str,
        scope: &Scope,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::sweep_sk("REMINDERS", &scope.key()),
            )
            .await?
            .map(from_item::<Checkpoint>)
            .transpose()?
            .map(|c| c.covered_until))
    }

    /// Moves the checkpoint forward to `until` (never back: a late or duplicate sweep leaves a
    /// later one in place).
    pub async fn advance_reminder_checkpoint(
        &self,
        clinic_id: &str,
        scope: &Scope,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            (
                "sk".to_owned(),
                s(keys::sweep_sk("REMINDERS", &scope.key())),
            ),
            ("covered_until".to_owned(), ts(&until)),
        ]);
        self.put_if(
            item,
            "attribute_not_exists(pk) OR covered_until < :u",
            Some(Item::from([(":u".to_owned(), ts(&until))])),
        )
        .await
    }

    /// The last local date the clinic's greetings were all sent for.
    pub async fn greetings_done(&self, clinic_id: &str) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::sweep_sk("GREETINGS", "CLINIC"),
            )
            .await?
            .map(from_item::<GreetingDone>)
            .transpose()?
            .map(|d| d.date))
    }

    pub async fn set_greetings_done(
        &self,
        clinic_id: &str,
        date: NaiveDate,
    ) -> Result<(), StoreError> {
        let mut item = to_item(&GreetingDone { date })?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::sweep_sk("GREETINGS", "CLINIC")));
        self.put(item).await
    }

    /// Appointments created in `[from, to)`: their ids are UUID v7, so this is one key range.
    pub async fn appointments_created_between(
        &self,
        clinic_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), "");
        q.sk_between = Some((
            keys::id_boundary(keys::APPOINTMENT_PREFIX, from),
            keys::id_boundary(keys::APPOINTMENT_PREFIX, to),
        ));
        let all: Vec<Appointment> = self.query_all(q).await?;
        Ok(all
            .into_iter()
            .filter(|a| a.created_at >= from && a.created_at < to)
            .collect())
    }

    /// The ids of the clinic's patients born on `month_day` (`MM-DD`).
    pub async fn patients_born_on(
        &self,
        clinic_id: &str,
        month_day: &str,
    ) -> Result<Vec<String>, StoreError> {
        let keys_only: Vec<SortKey> = self
            .query_all(Query::under(
                Some(super::GSI3),
                keys::birthday_gsi(clinic_id, month_day),
                keys::PATIENT_PREFIX,
            ))
            .await?;
        Ok(keys_only
            .into_iter()
            .filter_map(|k| k.sk.strip_prefix(keys::PATIENT_PREFIX).map(str::to_owned))
            .collect())
    }
}
