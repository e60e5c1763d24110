//! Events out: what a clinic's webhook endpoints may subscribe to, where they may point, how
//! each delivery is signed, and when a failing one is tried again or given up.

pub mod event;
pub mod signature;
pub mod url;

use chrono::{DateTime, Duration, Utc};

/// Seconds to wait after the `failures`-th failed attempt (1-based) before the next: about a
/// minute, then longer, to 12 hours (the longest SQS can hide a message); None after the
/// last. The ten attempts span about 40 hours.
pub fn retry_delay_secs(failures: u32) -> Option<i32> {
    const DELAYS: [i32; 9] = [60, 300, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 43_200];
    let i = usize::try_from(failures).ok()?.checked_sub(1)?;
    DELAYS.get(i).copied()
}

/// The most attempts one delivery gets.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long an endpoint may fail every delivery before it is disabled.
pub fn disable_after() -> Duration {
    Duration::days(3)
}

/// Whether an endpoint failing since `since` is disabled at `now`.
pub fn should_disable(since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - since >= disable_after()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_for_more_than_a_day_then_stop() {
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|n| i64::from(retry_delay_secs(n).unwrap()))
            .sum();
        assert!(total >= 24 * 3600, "{total}");
        assert_eq!(retry_delay_secs(MAX_ATTEMPTS), None);
        assert_eq!(retry_delay_secs(0), None);
        assert!((1..MAX_ATTEMPTS).all(|n| retry_delay_secs(n).unwrap() <= 43_200));
    }
}
