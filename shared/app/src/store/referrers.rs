//! Referrers (`REFERRER#<id>`) and referrals (`REFERRAL#<date>#<id>`, in date order).

use super::{Item, Page, Query, Store, StoreError, TxError, from_item, keys, s, to_item, ts};
use chrono::NaiveDate;
use tidings_domain::referrer::{Referral, Referrer};

fn referrer_item(clinic_id: &str, r: &Referrer) -> Result<Item, StoreError> {
    let mut item = to_item(r)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::referrer_sk(&r.id)));
    Ok(item)
}

/// Why a referral was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralWrite {
    UnknownPatient,
    UnknownReferrer,
}

/// A page of referrals and the position to continue after.
pub struct ReferralPage {
    pub referrals: Vec<Referral>,
    pub next_after: Option<String>,
}

impl Store {
    pub async fn create_referrer(&self, clinic_id: &str, r: &Referrer) -> Result<bool, StoreError> {
        self.put_if(
            referrer_item(clinic_id, r)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_referrer(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Referrer>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::referrer_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Replaces the referrer if unchanged since `prev` was read; `Ok(false)` otherwise.
    pub async fn replace_referrer(
        &self,
        clinic_id: &str,
        r: &Referrer,
        prev: &Referrer,
    ) -> Result<bool, StoreError> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        self.put_if(
            referrer_item(clinic_id, r)?,
            "updated_at = :prev",
            Some(values),
        )
        .await
    }

    pub async fn delete_referrer(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::referrer_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    pub async fn list_referrers(
        &self,
        clinic_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Referrer>, Option<String>), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), keys::REFERRER_PREFIX);
        let Page { items, next_after } = self
            .page(&q, after_id.map(keys::referrer_sk), limit)
            .await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            list,
            next_after.and_then(|sk| sk.strip_prefix(keys::REFERRER_PREFIX).map(str::to_owned)),
        ))
    }

    /// Stores a referral of a live patient by an existing referrer, in one transaction.
    pub async fn create_referral(
        &self,
        clinic_id: &str,
        r: &Referral,
    ) -> Result<(), TxError<ReferralWrite>> {
        let pk = keys::clinic_pk(clinic_id);
        let mut item = to_item(r)?;
        item.insert("pk".into(), s(&pk));
        item.insert("sk".into(), s(keys::referral_sk(&r.date, &r.id)));
        self.transact(vec![
            (
                self.tx_put(item, "attribute_not_exists(pk)", None)?,
                ReferralWrite::UnknownReferrer,
            ),
            (
                self.tx_check(
                    pk.clone(),
                    keys::patient_sk(&r.patient_id),
                    "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                )?,
                ReferralWrite::UnknownPatient,
            ),
            (
                self.tx_check(
                    pk,
                    keys::referrer_sk(&r.referrer_id),
                    "attribute_exists(pk)",
                )?,
                ReferralWrite::UnknownReferrer,
            ),
        ])
        .await
    }

    /// A page of referrals dated `from` to `to` inclusive, in date order, after the sort key
    /// `after`.
    pub async fn referrals_between(
        &self,
        clinic_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ReferralPage, StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), "");
        q.sk_between = Some((
            format!("{}{from}", keys::REFERRAL_PREFIX),
            format!("{}{to}#~", keys::REFERRAL_PREFIX),
        ));
        let Page { items, next_after } = self.page(&q, after.map(str::to_owned), limit).await?;
        Ok(ReferralPage {
            referrals: items
                .into_iter()
                .map(from_item)
                .collect::<Result<Vec<_>, _>>()?,
            next_after,
        })
    }
}
