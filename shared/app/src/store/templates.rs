//! Saved message templates (`TEMPLATE#<id>`).

use super::{Item, Page, Query, Store, StoreError, from_item, keys, s, to_item, ts};
use tidings_domain::message_template::SavedTemplate;

fn template_item(clinic_id: &str, t: &SavedTemplate) -> Result<Item, StoreError> {
    let mut item = to_item(t)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::template_sk(&t.id)));
    Ok(item)
}

impl Store {
    pub async fn create_template(
        &self,
        clinic_id: &str,
        t: &SavedTemplate,
    ) -> Result<bool, StoreError> {
        self.put_if(
            template_item(clinic_id, t)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_template(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<SavedTemplate>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::template_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Replaces the template if unchanged since `prev` was read; `Ok(false)` otherwise.
    pub async fn replace_template(
        &self,
        clinic_id: &str,
        t: &SavedTemplate,
        prev: &SavedTemplate,
    ) -> Result<bool, StoreError> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        self.put_if(
            template_item(clinic_id, t)?,
            "updated_at = :prev",
            Some(values),
        )
        .await
    }

    pub async fn delete_template(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::template_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// A page of templates, oldest first, after the template `after_id`.
    pub async fn list_templates(
        &self,
        clinic_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<SavedTemplate>, Option<String>), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), keys::TEMPLATE_PREFIX);
        let Page { items, next_after } = self
            .page(&q, after_id.map(keys::template_sk), limit)
            .await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next =
            next_after.and_then(|sk| sk.strip_prefix(keys::TEMPLATE_PREFIX).map(str::to_owned));
        Ok((list, next))
    }
}
