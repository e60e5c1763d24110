//! A clinic's webhook endpoints (`/webhook-endpoints`): where its events go, made and changed
//! by its admins. The signing secret is shown once, when the endpoint is made; a URL that
//! reaches a private, loopback or link-local address is refused (see
//! `tidings_domain::outbound::url`), by its address or by what its name resolves to now (and
//! again at every delivery, see `webhook_delivery`).

use crate::store::{Delivery, DeliveryStatus, EndpointRecord, Store, WebhookEndpoint};
use crate::{App, ServiceError, ids, json};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tidings_domain::outbound::event::{EventType, parse_types};
use tidings_domain::outbound::url::{EndpointUrl, Reach, allowed};
use tidings_domain::{FieldError, text};

/// Endpoints one clinic may have.
pub const MAX_ENDPOINTS: usize = 16;
/// How long the check of a host name waits for DNS.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// `POST /webhook-endpoints`, and a `PATCH` merged onto the endpoint.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// An endpoint just made: the only answer that carries its signing secret.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// A delivery as `GET /webhook-endpoints/{id}/deliveries` shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeliveryView {
    pub event_id: String,
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: Vec<crate::store::Attempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            event_id: d.event_id,
            event_type: d.event_type,
            created_at: d.created_at,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

struct Checked {
    url: EndpointUrl,
    events: Vec<EventType>,
    description: Option<String>,
    enabled: bool,
}

/// Checks every field; a host name is resolved, and refused when it reaches an address the
/// deployment does not allow. A name that does not resolve yet is taken: its deliveries fail
/// and are tried again (and each is checked again when it is made).
async fn check(input: EndpointInput, reach: Reach) -> Result<Checked, ServiceError> {
    let raw = input.url.ok_or_else(|| FieldError::required("url"))?;
    let url = EndpointUrl::parse("url", &raw, reach)?;
    let events = parse_types(
        "events",
        &input.events.ok_or_else(|| FieldError::required("events"))?,
    )?;
    let description = text::optional("description", input.description.as_deref(), 200)?;
    if let Some(host) = url.domain() {
        let lookup = tokio::net::lookup_host((host, url.port()));
        if let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await
            && addrs.into_iter().any(|a| !allowed(a.ip(), reach))
        {
            return Err(FieldError::new(
                "url",
                "private_address",
                "url must reach a public address (its host name resolves to a private, loopback or link-local one)",
            )
            .into());
        }
    }
    Ok(Checked {
        url,
        events,
        description,
        enabled: input.enabled.unwrap_or(true),
    })
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

pub async fn create(
    app: &App,
    clinic_id: &str,
    input: EndpointInput,
) -> Result<CreatedEndpoint, ServiceError> {
    let c = check(input, app.config.endpoint_reach).await?;
    if app.store.list_webhook_endpoints(clinic_id).await?.len() >= MAX_ENDPOINTS {
        return Err(ServiceError::conflict(
            "too_many_endpoints",
            None,
            format!("a clinic may have at most {MAX_ENDPOINTS} webhook endpoints"),
        ));
    }
    let now = app.now();
    let record = EndpointRecord {
        endpoint: WebhookEndpoint {
            id: ids::new_id(),
            url: c.url.as_str().to_owned(),
            events: c.events,
            description: c.description,
            enabled: c.enabled,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        },
        secret: new_secret(),
    };
    if !app
        .store
        .create_webhook_endpoint(clinic_id, &record)
        .await?
    {
        return Err(super::concurrent_update());
    }
    tracing::info!(
        clinic_id,
        endpoint_id = record.endpoint.id,
        "webhook endpoint made"
    );
    Ok(CreatedEndpoint {
        endpoint: record.endpoint,
        secret: record.secret,
    })
}

pub async fn list(store: &Store, clinic_id: &str) -> Result<Vec<WebhookEndpoint>, ServiceError> {
    let mut all: Vec<WebhookEndpoint> = store
        .list_webhook_endpoints(clinic_id)
        .await?
        .into_iter()
        .map(|r| r.endpoint)
        .collect();
    all.sort_by_key(|e| e.created_at);
    Ok(all)
}

async fn record(store: &Store, clinic_id: &str, id: &str) -> Result<EndpointRecord, ServiceError> {
    store
        .get_webhook_endpoint(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("webhook endpoint"))
}

pub async fn get(
    store: &Store,
    clinic_id: &str,
    id: &str,
) -> Result<WebhookEndpoint, ServiceError> {
    Ok(record(store, clinic_id, id).await?.endpoint)
}

/// Applies a JSON merge patch of `url`, `events`, `description` and `enabled`, checked as a
/// whole like a new endpoint. Enabling an endpoint Tidings disabled starts it afresh.
pub async fn update(
    app: &App,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<WebhookEndpoint, ServiceError> {
    let prev = record(&app.store, clinic_id, id).await?;
    let e = &prev.endpoint;
    let mut merged = serde_json::json!({
        "url": e.url, "events": e.events, "description": e.description, "enabled": e.enabled,
    });
    json::merge_patch(&mut merged, patch)?;
    let c = check(
        json::from_value::<EndpointInput>(merged)?,
        app.config.endpoint_reach,
    )
    .await?;
    let mut next = prev.clone();
    let n = &mut next.endpoint;
    n.url = c.url.as_str().to_owned();
    n.events = c.events;
    n.description = c.description;
    if c.enabled && !e.enabled {
        n.disabled_reason = None;
        n.failing_since = None;
    }
    n.enabled = c.enabled;
    if next == prev {
        return Ok(prev.endpoint);
    }
    next.endpoint.updated_at = app.now();
    if !app
        .store
        .replace_webhook_endpoint(clinic_id, &next, &prev)
        .await?
    {
        return Err(super::concurrent_update());
    }
    Ok(next.endpoint)
}

pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    if store.delete_webhook_endpoint(clinic_id, id).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound("webhook endpoint"))
    }
}

/// One page of the endpoint's deliveries, newest first.
pub async fn deliveries(
    store: &Store,
    clinic_id: &str,
    id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<DeliveryView>, Option<String>), ServiceError> {
    record(store, clinic_id, id).await?;
    let (items, next) = store
        .list_webhook_deliveries(clinic_id, id, after, limit)
        .await?;
    Ok((items.into_iter().map(DeliveryView::from).collect(), next))
}
