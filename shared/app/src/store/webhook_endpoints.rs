//! A clinic's webhook endpoints (`WEBHOOK_ENDPOINT#<id>`) and what was delivered to each
//! (`WEBHOOK_DELIVERY#<endpoint>#<event id>`, kept 30 days), under the clinic.

use super::{Item, Query, Store, StoreError, from_item, keys, n, s, to_item};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::outbound::event::EventType;

/// How long deliveries are kept (DynamoDB's time to live removes them).
pub const DELIVERY_DAYS: i64 = 30;

/// An endpoint as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why Tidings disabled it (it failed every delivery for days); None when a key did.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed; None once one succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with the secret its deliveries are signed with (shown once, when made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted; tried again later.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed, or the endpoint was disabled or deleted first.
    Failed,
}

/// One try: when, what the endpoint answered (or why there was no answer), how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    /// `delivered`, `http_error`, `timeout`, `connection_failed`, `refused_address`.
    pub outcome: String,
    pub duration_ms: u64,
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub event_id: String,
    pub endpoint_id: String,
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The exact body every attempt posts (and signs).
    pub payload: String,
}

fn endpoint_item(clinic_id: &str, r: &EndpointRecord) -> Result<Item, StoreError> {
    let mut item = to_item(r)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::webhook_endpoint_sk(&r.endpoint.id)));
    Ok(item)
}

fn delivery_item(clinic_id: &str, d: &Delivery) -> Result<Item, StoreError> {
    let mut item = to_item(d)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert(
        "sk".into(),
        s(keys::webhook_delivery_sk(&d.endpoint_id, &d.event_id)),
    );
    let expires = d.created_at + Duration::days(DELIVERY_DAYS);
    item.insert("expires_at".into(), n(expires.timestamp()));
    Ok(item)
}

impl Store {
    pub async fn create_webhook_endpoint(
        &self,
        clinic_id: &str,
        r: &EndpointRecord,
    ) -> Result<bool, StoreError> {
        self.put_if(
            endpoint_item(clinic_id, r)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_webhook_endpoint(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::webhook_endpoint_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Every endpoint of the clinic (a handful: their number is capped).
    pub async fn list_webhook_endpoints(
        &self,
        clinic_id: &str,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        self.query_all(Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::WEBHOOK_ENDPOINT_PREFIX,
        ))
        .await
    }

    /// Replaces the endpoint if it is still as `prev` was; `Ok(false)` when it changed (or
    /// went) meanwhile.
    pub async fn replace_webhook_endpoint(
        &self,
        clinic_id: &str,
        r: &EndpointRecord,
        prev: &EndpointRecord,
    ) -> Result<bool, StoreError> {
        self.put_if(
            endpoint_item(clinic_id, r)?,
            "attribute_exists(pk) AND updated_at = :prev",
            Some(Item::from([(
                ":prev".to_owned(),
                super::ts(&prev.endpoint.updated_at),
            )])),
        )
        .await
    }

    /// `Ok(false)` when the clinic has no such endpoint.
    pub async fn delete_webhook_endpoint(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::webhook_endpoint_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// Records a delivery unless one of the event for the endpoint exists: `Ok(false)` then
    /// (a change seen twice is one event).
    pub async fn create_webhook_delivery(
        &self,
        clinic_id: &str,
        d: &Delivery,
    ) -> Result<bool, StoreError> {
        self.put_if(
            delivery_item(clinic_id, d)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_webhook_delivery(
        &self,
        clinic_id: &str,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::webhook_delivery_sk(endpoint_id, event_id),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    /// Stores the delivery after an attempt, if no other copy settled it meanwhile.
    pub async fn save_webhook_delivery(
        &self,
        clinic_id: &str,
        d: &Delivery,
    ) -> Result<bool, StoreError> {
        self.put_if(
            delivery_item(clinic_id, d)?,
            "attribute_not_exists(pk) OR #s = :pending",
            Some(Item::from([(":pending".to_owned(), s("pending"))])),
        )
        .await
    }

    /// One page of an endpoint's deliveries, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        clinic_id: &str,
        endpoint_id: &str,
        after_event: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, Option<String>), StoreError> {
        let prefix = keys::webhook_deliveries_prefix(endpoint_id);
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), prefix.clone());
        q.forward = false;
        let after = after_event.map(|e| keys::webhook_delivery_sk(endpoint_id, e));
        let page = self.page(&q, after, limit).await?;
        let list = page
            .items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .next_after
            .and_then(|sk| sk.strip_prefix(&prefix).map(str::to_owned));
        Ok((list, next))
    }
}
