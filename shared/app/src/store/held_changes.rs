//! Messages of appointment changes held while quiet hours last (`HELD_CHANGE#…`), found by the
//! reminder sweep through `gsi3` once their time has come. Kept 7 days at most.

use super::{Item, Query, SortKey, Store, StoreError, keys, n, s};
use chrono::{DateTime, Duration, Utc};

/// One held message: which appointment, which change, which version of the appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldChange {
    pub appointment_id: String,
    pub change: String,
    pub version: String,
}

impl HeldChange {
    fn sk(&self) -> String {
        keys::held_change_sk(&self.appointment_id, &self.change, &self.version)
    }
}

impl Store {
    /// Holds a change message until `due`. Holding it again changes nothing.
    pub async fn hold_change(
        &self,
        clinic_id: &str,
        h: &HeldChange,
        due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(h.sk())),
            ("gsi3pk".to_owned(), s(keys::held_changes_gsi(clinic_id))),
            (
                "gsi3sk".to_owned(),
                s(format!("{}#{}", keys::time_key(&due), h.appointment_id)),
            ),
            (
                "expires_at".to_owned(),
                n((due + Duration::days(7)).timestamp()),
            ),
        ]);
        self.put(item).await
    }

    /// The held messages whose time has come by `now`.
    pub async fn held_changes_due(
        &self,
        clinic_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<HeldChange>, StoreError> {
        let mut q = Query::under(Some(super::GSI3), keys::held_changes_gsi(clinic_id), "");
        q.sk_between = Some(("0".to_owned(), format!("{}#~", keys::time_key(&now))));
        let found: Vec<SortKey> = self.query_all(q).await?;
        Ok(found
            .into_iter()
            .filter_map(|k| {
                let rest = k.sk.strip_prefix(keys::HELD_CHANGE_PREFIX)?;
                let mut parts = rest.splitn(3, '#');
                Some(HeldChange {
                    appointment_id: parts.next()?.to_owned(),
                    change: parts.next()?.to_owned(),
                    version: parts.next()?.to_owned(),
                })
            })
            .collect())
    }

    pub async fn drop_held_change(
        &self,
        clinic_id: &str,
        h: &HeldChange,
    ) -> Result<(), StoreError> {
        self.delete(keys::clinic_pk(clinic_id), h.sk()).await
    }
}
