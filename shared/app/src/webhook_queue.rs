//! The SQS queue of webhook deliveries: the event forwarder sends one message per delivery,
//! the `webhook-deliver` function receives them (Lambda's SQS event source) and hides a message
//! whose attempt failed until its next attempt is due. SQS's redrive sends a message that keeps
//! failing its function to the failed-events queue.

use serde::{Deserialize, Serialize};

/// Which delivery a queue message is about (never the event itself: that is in the table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRef {
    pub clinic_id: String,
    pub endpoint_id: String,
    pub event_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("WEBHOOK_DELIVERY_QUEUE_URL is not set: the queue of webhook deliveries")]
    NoQueue,
    #[error("SQS {operation} failed")]
    Sqs {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("SQS took {sent} of {all} messages")]
    Partial { sent: usize, all: usize },
}

/// The most messages one `SendMessageBatch` takes.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct WebhookQueue {
    client: aws_sdk_sqs::Client,
    url: Option<String>,
}

impl WebhookQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: Option<String>) -> Self {
        Self { client, url }
    }

    fn url(&self) -> Result<&str, QueueError> {
        self.url.as_deref().ok_or(QueueError::NoQueue)
    }

    /// Sends one message per delivery; any message SQS did not take fails the whole call
    /// (the caller is retried, and a delivery queued twice is attempted once: see
    /// `webhook_delivery`).
    pub async fn enqueue(&self, refs: &[DeliveryRef]) -> Result<(), QueueError> {
        let url = self.url()?;
        for chunk in refs.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, r) in chunk.iter().enumerate() {
                let body = serde_json::to_string(r).map_err(|e| QueueError::Sqs {
                    operation: "SendMessageBatch",
                    source: Box::new(e),
                })?;
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::Sqs {
                        operation: "SendMessageBatch",
                        source: Box::new(e),
                    })?;
                entries.push(entry);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Sqs {
                    operation: "SendMessageBatch",
                    source: Box::new(e),
                })?;
            if !out.failed().is_empty() {
                return Err(QueueError::Partial {
                    sent: out.successful().len(),
                    all: chunk.len(),
                });
            }
        }
        Ok(())
    }

    /// Hides a received message for `secs` seconds: its next attempt.
    pub async fn retry_after(&self, receipt_handle: &str, secs: i32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(self.url()?)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(|e| QueueError::Sqs {
                operation: "ChangeMessageVisibility",
                source: Box::new(e),
            })?;
        Ok(())
    }
}
