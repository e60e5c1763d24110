//! The SQS queues: the webhook deliveries (the event forwarder sends one message per delivery,
//! `webhook-deliver` receives them) and the sweeps (the reminder and greeting schedules send
//! one message per clinic, `sweep-clinic` receives them). A function receives a batch through
//! Lambda's SQS event source and names the messages to leave on the queue
//! (`ReportBatchItemFailures`); a message that keeps failing goes to the failed-events queue
//! (each queue's redrive policy).

use futures::StreamExt;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{0} is not set: the queue's URL")]
    NoQueue(&'static str),
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

/// How many `SendMessageBatch` calls one `enqueue` makes at once.
const SIDE_BY_SIDE: usize = 8;

/// One batch's entries, each item as JSON.
fn entries<T: Serialize>(
    chunk: &[T],
) -> Result<Vec<aws_sdk_sqs::types::SendMessageBatchRequestEntry>, QueueError> {
    let sqs = |e: Box<dyn std::error::Error + Send + Sync>| QueueError::Sqs {
        operation: "SendMessageBatch",
        source: e,
    };
    chunk
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let body = serde_json::to_string(r).map_err(|e| sqs(Box::new(e)))?;
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .map_err(|e| sqs(Box::new(e)))
        })
        .collect()
}

/// One queue, by the setting that names its URL.
#[derive(Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: Option<String>,
    setting: &'static str,
}

impl Queue {
    /// The queue whose URL `setting` gave (`None` when the function has no such queue).
    pub fn new(client: aws_sdk_sqs::Client, url: Option<String>, setting: &'static str) -> Self {
        Self {
            client,
            url,
            setting,
        }
    }

    fn url(&self) -> Result<&str, QueueError> {
        self.url.as_deref().ok_or(QueueError::NoQueue(self.setting))
    }

    /// Sends one message per item, as JSON; any message SQS did not take fails the whole call
    /// (the caller is retried, and each consumer treats a message twice as once).
    pub async fn enqueue<T: Serialize>(&self, refs: &[T]) -> Result<(), QueueError> {
        let url = self.url()?;
        let batches = refs
            .chunks(BATCH)
            .map(entries)
            .collect::<Result<Vec<_>, _>>()?;
        // Batches go side by side: a sweep queues one message per clinic, thousands of them.
        let mut sends = futures::stream::iter(batches)
            .map(|entries| self.send_batch(url, entries))
            .buffer_unordered(SIDE_BY_SIDE);
        while let Some(sent) = sends.next().await {
            sent?;
        }
        Ok(())
    }

    async fn send_batch(
        &self,
        url: &str,
        entries: Vec<aws_sdk_sqs::types::SendMessageBatchRequestEntry>,
    ) -> Result<(), QueueError> {
        let all = entries.len();
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
                all,
            });
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

/// The SQS event Lambda hands a function.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

/// The messages of the batch to leave on the queue (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}
