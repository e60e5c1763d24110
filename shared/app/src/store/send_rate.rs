//! The account's provider rates, shared by every function sending campaign messages at once.
//!
//! SNS and SES quotas are per account, so two campaign runs pacing themselves apart would hand
//! the provider twice the rate. One item per channel and rate (`RATE#<channel>#<rate>` /
//! `NEXT`) holds the first instant no sender has taken yet; a sender takes the next `n` sends by
//! moving it on by `n / rate` seconds, with a conditional write on the value it read, and sends
//! them at their instants. Time that nobody takes passes unused, so the combined rate never exceeds `rate`.

use super::{Item, Store, StoreError, n};

/// How many times a sender retries when another moved the instant between its read and write.
const ATTEMPTS: usize = 20;

impl Store {
    /// Takes the next `count` sends of `channel` at `rate` a second, from `now_ms` (Unix
    /// milliseconds) at the earliest; the instant (Unix milliseconds) of the first, the rest
    /// following at `1000 / rate` ms apart. `None` when others kept winning the write.
    pub async fn take_send_instants(
        &self,
        channel: &str,
        count: u32,
        rate: u32,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Keyed by the rate too: every function of a deployment has the same one, and while a
        // deploy changes it, old and new functions do not stretch each other's schedule.
        let key = (
            format!("RATE#{}#{rate}", channel.to_ascii_uppercase()),
            "NEXT".to_owned(),
        );
        let span_ms = i64::from(count) * 1000 / i64::from(rate.max(1));
        for _ in 0..ATTEMPTS {
            let read = self.get(key.0.clone(), key.1.clone()).await?;
            let taken = read
                .as_ref()
                .and_then(|i| i.get("next_at_ms"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok());
            let start = taken.map_or(now_ms, |t| t.max(now_ms));
            let next = start.saturating_add(span_ms);
            let mut values = Item::from([
                (":next".to_owned(), n(next)),
                // Gone a day after it was last moved (the table's time to live).
                (":expires".to_owned(), n(next / 1000 + 86_400)),
            ]);
            let condition = match taken {
                Some(t) => {
                    values.insert(":taken".to_owned(), n(t));
                    "next_at_ms = :taken"
                }
                None => "attribute_not_exists(next_at_ms)",
            };
            let moved = self
                .update_if(
                    key.clone(),
                    "SET next_at_ms = :next, expires_at = :expires",
                    condition,
                    values,
                )
                .await?;
            if moved {
                return Ok(Some(start));
            }
        }
        Ok(None)
    }
}
