//! Lambda's deadline for an invocation (`Lambda-Runtime-Deadline-Ms`, wall-clock Unix ms) as the
//! time left of it: the functions that stop before their time limit measure from it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2001-01-01 in Unix ms. Lambda's deadlines are wall-clock times after it; `cargo lambda watch`
/// (the local stack) sends its own time limit instead (`600000`, ten minutes), which a value
/// below this is read as.
const EARLIEST_DEADLINE_MS: u64 = 978_307_200_000;

/// The time left before `deadline_ms`, less `margin` (zero when less than that is left).
pub fn left(deadline_ms: u64, margin: Duration) -> Duration {
    let left_ms = if deadline_ms < EARLIEST_DEADLINE_MS {
        deadline_ms
    } else {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        deadline_ms.saturating_sub(now_ms)
    };
    Duration::from_millis(left_ms).saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_deadline_and_the_local_emulators_time_limit() {
        let now_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let margin = Duration::from_secs(25);
        let in_two_minutes = left(now_ms + 120_000, margin);
        assert!(in_two_minutes <= Duration::from_secs(95));
        assert!(in_two_minutes > Duration::from_secs(90));
        assert_eq!(left(now_ms - 1_000, margin), Duration::ZERO);
        assert_eq!(left(600_000, margin), Duration::from_secs(575));
    }
}
