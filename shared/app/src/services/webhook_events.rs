//! From what Tidings stored to what clinics' endpoints receive. The table's stream (every
//! change, with the item before and after) reaches the `webhook-events` function; each change
//! that is an event (`tidings_domain::outbound::event::event_of`) becomes one delivery per
//! enabled endpoint of its clinic that subscribed to it: recorded in the table, then queued.
//!
//! Because events come from the stream, an event exists exactly when its change was stored:
//! a function that wrote the change and died before doing anything else still has its event
//! sent. A change the stream hands over twice (Lambda retries a failed batch) is the same event
//! (its id comes from the change's sequence number) and one delivery.

use crate::App;
use crate::queue::QueueError;
use crate::services::webhook_delivery::DeliveryRef;
use crate::store::{Delivery, DeliveryStatus, EndpointRecord, keys};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_dynamo::AttributeValue;
use std::collections::HashMap;
use tidings_domain::campaign::CampaignStatus;
use tidings_domain::digest::sha256_hex;
use tidings_domain::message::Status;
use tidings_domain::message_template::{Category, Channel};
use tidings_domain::notification::Notification;
use tidings_domain::outbound::event::{Change, Event, MessageRef, event_of};

/// An item image as the stream carries it.
pub type Image = HashMap<String, AttributeValue>;

/// One change of the table.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// The stream's sequence number: the same change always has the same one.
    pub sequence: String,
    pub at: DateTime<Utc>,
    pub pk: String,
    pub sk: String,
    pub new: Option<Image>,
    pub old: Option<Image>,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("deliveries not queued")]
    Queue(#[from] QueueError),
    #[error("event not encoded")]
    Encode(#[from] serde_json::Error),
}

#[derive(Deserialize, schemars::JsonSchema)]
struct MessageImage {
    id: String,
    patient_id: String,
    contact_id: Option<String>,
    channel: Channel,
    category: Category,
    appointment_id: Option<String>,
    status: Status,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct StatusImage<S> {
    status: S,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct CampaignImage {
    id: String,
    status: CampaignStatus,
    last_run_id: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct BalanceImage {
    balance: i64,
}

fn decode<T: serde::de::DeserializeOwned>(image: Option<&Image>) -> Option<T> {
    serde_dynamo::from_item(image?.clone()).ok()
}

/// The change as the domain sees it; None for items that are never events.
fn change_of(c: &StoredChange) -> Option<Change> {
    let new = c.new.as_ref()?;
    if c.sk.starts_with("NOTIFICATION#") {
        // Raised once; marking it read is not news.
        return c
            .old
            .is_none()
            .then(|| decode::<Notification>(Some(new)).map(Change::Notification))
            .flatten();
    }
    if c.sk.starts_with(keys::MESSAGE_PREFIX) {
        let m: MessageImage = decode(Some(new))?;
        let from = decode::<StatusImage<Status>>(c.old.as_ref()).map(|s| s.status);
        return Some(Change::MessageStatus {
            message: MessageRef {
                id: m.id,
                patient_id: m.patient_id,
                contact_id: m.contact_id,
                channel: m.channel,
                category: m.category,
                appointment_id: m.appointment_id,
            },
            from,
            to: m.status,
        });
    }
    if c.sk.starts_with(keys::CAMPAIGN_PREFIX) {
        let camp: CampaignImage = decode(Some(new))?;
        let from = decode::<StatusImage<CampaignStatus>>(c.old.as_ref()).map(|s| s.status);
        return Some(Change::CampaignStatus {
            campaign_id: camp.id,
            run_id: camp.last_run_id,
            from,
            to: camp.status,
        });
    }
    if let Some(account) = c.sk.strip_prefix("CREDITS#") {
        let to = decode::<BalanceImage>(Some(new))?.balance;
        let from = decode::<BalanceImage>(c.old.as_ref()).map(|b| b.balance);
        return Some(Change::Balance {
            account: account.to_owned(),
            from,
            to,
        });
    }
    None
}

/// When the change happened: the item's own `updated_at` (or `created_at`), to the
/// millisecond; else the stream's time (whole seconds in AWS, whole minutes in DynamoDB Local).
fn changed_at(c: &StoredChange) -> DateTime<Utc> {
    let stamp = |name: &str| match c.new.as_ref()?.get(name)? {
        AttributeValue::S(s) => DateTime::parse_from_rfc3339(s).ok(),
        _ => None,
    };
    stamp("updated_at")
        .or_else(|| stamp("created_at"))
        .map_or(c.at, |t| t.with_timezone(&Utc))
}

/// The event's id: time-ordered (an endpoint's deliveries list newest first by it), and the
/// same for the same change.
fn event_id(c: &StoredChange, at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let hash = sha256_hex(format!("{}\n{}\n{}", c.pk, c.sk, c.sequence).as_bytes());
    format!("evt_{ms:013x}{}", &hash[..19])
}

/// Records and queues the deliveries of every change that is an event; how many deliveries.
pub async fn forward(app: &App, changes: &[StoredChange]) -> Result<usize, ForwardError> {
    let mut endpoints: HashMap<String, Vec<EndpointRecord>> = HashMap::new();
    let mut queued = Vec::new();
    for c in changes {
        let Some(clinic_id) = c.pk.strip_prefix("CLINIC#") else {
            continue;
        };
        let Some((kind, data)) = change_of(c).as_ref().and_then(event_of) else {
            continue;
        };
        if !endpoints.contains_key(clinic_id) {
            let list = app.store.list_webhook_endpoints(clinic_id).await?;
            endpoints.insert(clinic_id.to_owned(), list);
        }
        let wanted: Vec<&EndpointRecord> = endpoints
            .get(clinic_id)
            .into_iter()
            .flatten()
            .filter(|e| e.endpoint.enabled && e.endpoint.events.contains(&kind))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let at = changed_at(c);
        let event = Event {
            id: event_id(c, at),
            kind,
            created_at: at,
            data,
        };
        let payload = serde_json::to_string(&event)?;
        for e in wanted {
            let delivery = Delivery {
                event_id: event.id.clone(),
                endpoint_id: e.endpoint.id.clone(),
                event_type: kind,
                created_at: at,
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(at),
                payload: payload.clone(),
            };
            let fresh = app
                .store
                .create_webhook_delivery(clinic_id, &delivery)
                .await?;
            // One seen before is queued again only while it is pending: the copy that
            // recorded it may have died before queueing it.
            let pending = fresh
                || app
                    .store
                    .get_webhook_delivery(clinic_id, &e.endpoint.id, &event.id)
                    .await?
                    .is_some_and(|d| d.status == DeliveryStatus::Pending && d.attempts.is_empty());
            if pending {
                queued.push(DeliveryRef {
                    clinic_id: clinic_id.to_owned(),
                    endpoint_id: e.endpoint.id.clone(),
                    event_id: event.id.clone(),
                });
            }
        }
        tracing::info!(
            clinic_id,
            event_id = event.id,
            event_type = kind.as_str(),
            "event"
        );
    }
    app.webhook_queue.enqueue(&queued).await?;
    Ok(queued.len())
}
