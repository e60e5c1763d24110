//! Paces provider calls to the account's rates across every sender at once (see
//! `store::send_rate`): a sender takes its sends in short runs from the shared schedule and
//! sends each at its instant.

use crate::App;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tidings_domain::message_template::Channel;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How much of a second a sender takes at once: fewer writes than one per send, and short
/// enough that a sender that stops early leaves little of the rate unused.
const RUN_OF_SECOND: u32 = 5;

/// The longest a request waits for its send's turn (an at-creation reminder, a change's
/// message); past it the send is left to the reminder sweep, which sends it paced.
pub(crate) const REQUEST_WAIT: Duration = Duration::from_secs(2);

/// Paces one sender's provider calls per channel.
pub(crate) struct Pacer {
    store: Store,
    sms: Lane,
    email: Lane,
    /// When the sender must have started its last send (its time limit, less a margin).
    stop_at: Option<Instant>,
    /// Set once a turn fell after `stop_at`: no further turn is taken.
    out_of_time: AtomicBool,
}

struct Lane {
    channel: &'static str,
    rate: u32,
    /// How many instants it takes from the shared schedule at once.
    run: u32,
    /// The instants (Unix ms) this sender took and has not used yet: the next, and how many.
    taken: Mutex<(i64, u32)>,
}

impl Pacer {
    /// A pacer at the configured rates.
    pub(crate) fn for_app(app: &App) -> Self {
        Self::taking(app, |rate| (rate / RUN_OF_SECOND).max(1))
    }

    /// A pacer that takes `run(rate)` instants at a time.
    fn taking(app: &App, run: fn(u32) -> u32) -> Self {
        let lane = |channel, rate: u32| Lane {
            channel,
            rate: rate.max(1),
            run: run(rate.max(1)),
            taken: Mutex::new((0, 0)),
        };
        Self {
            store: app.store.clone(),
            sms: lane("sms", app.config.campaigns.sms_per_second),
            email: lane("email", app.config.campaigns.email_per_second),
            stop_at: None,
            out_of_time: AtomicBool::new(false),
        }
    }

    /// A pacer for a request: its turns must come within [`REQUEST_WAIT`], and it takes one
    /// instant at a time (a request sends one or two messages: a run would leave the rest of
    /// the account's rate unused).
    pub(crate) fn for_request(app: &App) -> Self {
        Self::for_request_within(app, REQUEST_WAIT)
    }

    /// A request's pacer whose turns must come within `wait`.
    pub(crate) fn for_request_within(app: &App, wait: Duration) -> Self {
        Self {
            stop_at: Some(Instant::now() + wait),
            ..Self::taking(app, |_| 1)
        }
    }

    /// A pacer whose turns must come before `stop_at`.
    pub(crate) fn until(app: &App, stop_at: Instant) -> Self {
        Self {
            stop_at: Some(stop_at),
            ..Self::for_app(app)
        }
    }

    /// Waits for this sender's next instant to call the provider on `channel` (a pacer made
    /// with [`Pacer::until`] uses [`Pacer::turn`]).
    pub(crate) async fn wait(&self, channel: Channel) {
        let _in_time = self.turn(channel).await;
    }

    /// Waits for this sender's next instant on `channel`, and says whether it came in time:
    /// `false`, at once and without waiting, when it falls after the pacer's stop time (the
    /// send is left for a later invocation), and for every turn asked after that.
    pub(crate) async fn turn(&self, channel: Channel) -> bool {
        if self.out_of_time() {
            return false;
        }
        let lane = match channel {
            Channel::Sms => &self.sms,
            Channel::Email => &self.email,
        };
        let at = lane.next(&self.store).await;
        let now = self.store.now().timestamp_millis();
        let wait = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
        if self
            .stop_at
            .is_some_and(|stop| Instant::now() + wait > stop)
        {
            self.out_of_time.store(true, Ordering::SeqCst);
            return false;
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        true
    }

    /// Whether a turn already fell after the stop time: what is left waits for a later
    /// invocation.
    pub(crate) fn out_of_time(&self) -> bool {
        self.out_of_time.load(Ordering::SeqCst)
    }
}

impl Lane {
    async fn next(&self, store: &Store) -> i64 {
        let mut taken = self.taken.lock().await;
        if taken.1 == 0 {
            let count = self.run;
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
