//! Campaign messages recorded as sent in batches. While a page is being sent, each message the
//! provider took waits at most [`LINGER`] for others, and up to 25 are written in one
//! `BatchWriteItem` instead of one `UpdateItem` each: half the store calls of a campaign.
//!
//! A message is written the same way [`Store::mark_sent`](crate::store::Store::mark_sent)
//! would leave it (status, provider id, history and receipt index keys). A message the provider
//! refused is recorded (and refunded) at once, as [`super::sending::deliver`] does.

use super::sending::hand_over;
use crate::App;
use crate::store::BATCH_WRITE;
use futures::StreamExt;
use std::time::Duration;
use tidings_domain::clinic::Clinic;
use tidings_domain::message::Message;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The longest a sent message waits for others to share its write.
pub const LINGER: Duration = Duration::from_millis(50);

/// Batches being written at once: two, so that one slow write holds up neither the next batch
/// nor, through a full channel, the sends; not more, since on a busy table more of these writes
/// only delay the claims the sends wait for.
const WRITERS: usize = 2;

/// Delivers messages and hands those sent to the writer; see [`with_batches`].
pub struct SentBatches {
    tx: mpsc::Sender<Message>,
}

impl SentBatches {
    /// Delivers one claimed (`queued`) message: sent, it joins the next batch; refused, it is
    /// recorded `failed` and refunded now. Anything but a queued message is left alone.
    pub async fn deliver(&self, app: &App, clinic: &Clinic, m: Message) {
        if let Ok(m) = hand_over(app, clinic, m).await
            && let Err(mpsc::error::SendError(m)) = self.tx.send(m).await
        {
            // The writer is gone only once every sender is: not while this one lives.
            tracing::error!(message_id = m.id, "sent but not recorded");
        }
    }
}

/// Runs `sends` with a [`SentBatches`] to deliver through, and the writer beside it; returns
/// once both are done, so every message sent is recorded (or logged as not recorded) by then.
pub async fn with_batches<T>(
    app: &App,
    clinic_id: &str,
    capacity: usize,
    sends: impl AsyncFnOnce(&SentBatches) -> T,
) -> T {
    let (tx, rx) = mpsc::channel(capacity.max(BATCH_WRITE * WRITERS));
    let batches = SentBatches { tx };
    let run = async move {
        let out = sends(&batches).await;
        drop(batches);
        out
    };
    let (out, ()) = tokio::join!(run, write(app, clinic_id, rx));
    out
}

/// Writes what arrives on `rx`, a batch at a time and up to [`WRITERS`] batches at once, until
/// every sender is gone.
async fn write(app: &App, clinic_id: &str, rx: mpsc::Receiver<Message>) {
    futures::stream::unfold(rx, |mut rx| async move {
        let first = rx.recv().await?;
        let deadline = Instant::now() + LINGER;
        let mut batch = vec![first];
        while batch.len() < BATCH_WRITE {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        Some((batch, rx))
    })
    .for_each_concurrent(WRITERS, |batch| async move {
        if let Err(e) = app.store.record_sent(clinic_id, &batch).await {
            tracing::warn!(messages = batch.len(), error = %e, "batch not recorded; recording each");
            for m in &batch {
                record_one(app, clinic_id, m).await;
            }
        }
    })
    .await;
}

/// Records a sent message by itself, as [`super::sending::deliver`] does, when its batch could
/// not be written: left `queued`, it would be sent again once its lease ran out.
async fn record_one(app: &App, clinic_id: &str, m: &Message) {
    let (Some(pid), Some(at)) = (&m.provider_message_id, m.sent_at) else {
        tracing::error!(message_id = m.id, "sent without a provider id or time");
        return;
    };
    if let Err(e) = app.store.mark_sent(clinic_id, m, pid, at).await {
        tracing::error!(message_id = m.id, error = %e, "sent but not recorded");
    }
}
