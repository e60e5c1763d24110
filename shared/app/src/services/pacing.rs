//! Paces provider calls to the account's rates across every sender at once (see
//! `store::send_rate`): a sender takes its sends in short runs from the shared schedule and
//! sends each at its instant.

use crate::App;
use crate::store::Store;
use std::time::Duration;
use tidings_domain::message_template::Channel;
use tokio::sync::Mutex;

/// How much of a second a sender takes at once: fewer writes than one per send, and short
/// enough that a sender that stops early leaves little of the rate unused.
const RUN_OF_SECOND: u32 = 5;

/// Paces one sender's provider calls per channel.
pub(crate) struct Pacer {
    store: Store,
    sms: Lane,
    email: Lane,
}

struct Lane {
    channel: &'static str,
    rate: u32,
    /// The instants (Unix ms) this sender took and has not used yet: the next, and how many.
    taken: Mutex<(i64, u32)>,
}

impl Pacer {
    /// A pacer at the configured rates.
    pub(crate) fn for_app(app: &App) -> Self {
        let lane = |channel, rate: u32| Lane {
            channel,
            rate: rate.max(1),
            taken: Mutex::new((0, 0)),
        };
        Self {
            store: app.store.clone(),
            sms: lane("sms", app.config.campaigns.sms_per_second),
            email: lane("email", app.config.campaigns.email_per_second),
        }
    }

    /// Waits for this sender's next instant to call the provider on `channel`.
    pub(crate) async fn wait(&self, channel: Channel) {
        let lane = match channel {
            Channel::Sms => &self.sms,
            Channel::Email => &self.email,
        };
        let at = lane.next(&self.store).await;
        let now = self.store.now().timestamp_millis();
        if at > now {
            let wait = u64::try_from(at - now).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
}

impl Lane {
    async fn next(&self, store: &Store) -> i64 {
        let mut taken = self.taken.lock().await;
        if taken.1 == 0 {
            let count = (self.rate / RUN_OF_SECOND).max(1);
            let now = store.now().timestamp_millis();
            *taken = match store
                .take_send_instants(self.channel, count, self.rate, now)
                .await
            {
                Ok(Some(first)) => (first, count),
                // Others kept moving the schedule, or the table failed: pace this sender
                // alone for this run rather than stop sending.
                Ok(None) => {
                    tracing::warn!(
                        channel = self.channel,
                        "shared send rate contended: pacing alone"
                    );
                    (now, count)
                }
                Err(e) => {
                    tracing::warn!(channel = self.channel, error = %e, "shared send rate unavailable: pacing alone");
                    (now, count)
                }
            };
        }
        let at = taken.0;
        taken.0 = at.saturating_add(1000 / i64::from(self.rate));
        taken.1 -= 1;
        at
    }
}
