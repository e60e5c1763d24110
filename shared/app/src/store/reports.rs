//! Saved reports (`REPORT#<id>`).

use super::{Item, Page, Query, Store, StoreError, from_item, keys, s, to_item};
use tidings_domain::report::Report;

fn report_item(clinic_id: &str, r: &Report) -> Result<Item, StoreError> {
    let mut item = to_item(r)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::report_sk(&r.id)));
    Ok(item)
}

impl Store {
    pub async fn create_report(&self, clinic_id: &str, r: &Report) -> Result<bool, StoreError> {
        self.put_if(report_item(clinic_id, r)?, "attribute_not_exists(pk)", None)
            .await
    }

    pub async fn get_report(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Report>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::report_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn delete_report(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::report_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// A page of the clinic's reports, oldest first, after the report `after_id`.
    pub async fn list_reports(
        &self,
        clinic_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Report>, Option<String>), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), keys::REPORT_PREFIX);
        let Page { items, next_after } =
            self.page(&q, after_id.map(keys::report_sk), limit).await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            list,
            next_after.and_then(|sk| sk.strip_prefix(keys::REPORT_PREFIX).map(str::to_owned)),
        ))
    }
}
