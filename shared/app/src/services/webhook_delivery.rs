//! One attempt to deliver one event to one endpoint (the `webhook-deliver` function, for each
//! message of the delivery queue): sign, post, record the attempt, and say when to try again.
//!
//! At least once: a delivery is settled (`delivered`, `failed`) only after its attempt, so a
//! function that dies mid-attempt leaves it pending and SQS hands the message over again. A
//! receiver may see an event twice and skips an `id` it has seen.

use crate::store::{Attempt, DeliveryStatus, EndpointRecord};
use crate::webhook_http::PostOutcome;
use crate::{App, ServiceError, ids};
use chrono::{DateTime, Duration, Utc};
use tidings_domain::notification::{Notification, NotificationKind};
use tidings_domain::outbound::{MAX_ATTEMPTS, retry_delay_secs, should_disable, signature};

/// What the queue message needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing: delivered, given up, or not to be sent (delete the message).
    Done,
    /// Hide the message this many seconds, then try again.
    RetryAfter(i32),
}

/// Which delivery a queue message is about (never the event itself: that is in the table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryRef {
    pub clinic_id: String,
    pub endpoint_id: String,
    pub event_id: String,
}

/// Attempts the delivery `r` names, if it is still pending and its endpoint still wants it.
pub async fn attempt(app: &App, r: &DeliveryRef) -> Result<Next, ServiceError> {
    let store = &app.store;
    let Some(mut d) = store
        .get_webhook_delivery(&r.clinic_id, &r.endpoint_id, &r.event_id)
        .await?
    else {
        return Ok(Next::Done);
    };
    if d.status != DeliveryStatus::Pending {
        return Ok(Next::Done);
    }
    let endpoint = store
        .get_webhook_endpoint(&r.clinic_id, &r.endpoint_id)
        .await?
        .filter(|e| e.endpoint.enabled);
    let Some(endpoint) = endpoint else {
        // Deleted or disabled since: the delivery ends without an attempt.
        d.status = DeliveryStatus::Failed;
        d.next_attempt_at = None;
        store.save_webhook_delivery(&r.clinic_id, &d).await?;
        return Ok(Next::Done);
    };
    let now = app.now();
    let headers = [
        (
            signature::HEADER,
            signature::sign(&endpoint.secret, now.timestamp(), d.payload.as_bytes()),
        ),
        ("Tidings-Event-Id", d.event_id.clone()),
        ("Tidings-Event-Type", d.event_type.as_str().to_owned()),
    ];
    let (outcome, took) = app
        .webhook_http
        .post(&endpoint.endpoint.url, &headers, d.payload.clone())
        .await;
    d.attempts.push(Attempt {
        at: now,
        status_code: outcome.status_code(),
        outcome: outcome.code().to_owned(),
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    });
    let failures = u32::try_from(d.attempts.len()).unwrap_or(u32::MAX);
    let next = match outcome {
        PostOutcome::Delivered(_) => {
            d.status = DeliveryStatus::Delivered;
            d.next_attempt_at = None;
            Next::Done
        }
        _ => match retry_delay_secs(failures).filter(|_| failures < MAX_ATTEMPTS) {
            Some(secs) => {
                d.next_attempt_at = Some(now + Duration::seconds(i64::from(secs)));
                Next::RetryAfter(secs)
            }
            None => {
                d.status = DeliveryStatus::Failed;
                d.next_attempt_at = None;
                Next::Done
            }
        },
    };
    tracing::info!(
        clinic_id = r.clinic_id,
        endpoint_id = r.endpoint_id,
        event_id = r.event_id,
        outcome = outcome.code(),
        status_code = outcome.status_code(),
        attempt = failures,
        "webhook delivery attempt"
    );
    if !store.save_webhook_delivery(&r.clinic_id, &d).await? {
        // Another copy settled it meanwhile.
        return Ok(Next::Done);
    }
    let delivered = matches!(outcome, PostOutcome::Delivered(_));
    track_health(app, &r.clinic_id, endpoint, delivered, now).await?;
    Ok(next)
}

/// Keeps `failing_since` (cleared by a success), and disables an endpoint that has failed
/// every delivery for three days, with a notification for the practice.
async fn track_health(
    app: &App,
    clinic_id: &str,
    prev: EndpointRecord,
    delivered: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut next = prev.clone();
    let e = &mut next.endpoint;
    if delivered {
        e.failing_since = None;
    } else {
        let since = *e.failing_since.get_or_insert(now);
        if should_disable(since, now) {
            e.enabled = false;
            e.disabled_reason = Some(format!(
                "every delivery failed from {} to {}",
                since.to_rfc3339(),
                now.to_rfc3339()
            ));
        }
    }
    if next == prev {
        return Ok(());
    }
    next.endpoint.updated_at = now;
    // A key changing the endpoint meanwhile wins: its change is newer than this health note.
    if !app
        .store
        .replace_webhook_endpoint(clinic_id, &next, &prev)
        .await?
    {
        return Ok(());
    }
    if !next.endpoint.enabled && prev.endpoint.enabled {
        tracing::warn!(
            clinic_id,
            endpoint_id = next.endpoint.id,
            "webhook endpoint disabled"
        );
        let body = format!(
            "Webhook endpoint {} was disabled: it failed every delivery for 3 days. Fix it, then enable it again (PATCH enabled: true).",
            next.endpoint.url
        );
        let n = Notification::about_account(
            ids::new_id(),
            NotificationKind::WebhookEndpointDisabled,
            &next.endpoint.id,
            body,
            now,
        );
        app.store.add_notification(clinic_id, &n).await?;
    }
    Ok(())
}
