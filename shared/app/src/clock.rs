//! The app's clock: the one place in `shared/app` that reads the time. Everything that needs
//! "now" asks the `Store`'s clock (through `App::now` or `Store::now`), so a test can move time
//! instead of waiting for it.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system time, moved by an offset a test may change; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.offset_ms.load(Ordering::Acquire);
        Utc::now() + Duration::milliseconds(offset)
    }

    /// Moves this clock (and every clone of it) `by` forward: what a test does instead of
    /// sleeping until a lease or a window has passed.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone_and_not_another_clock() {
        let clock = Clock::system();
        let clone = clock.clone();
        let other = Clock::system();
        clock.advance(Duration::hours(2));
        assert!(clone.now() - Utc::now() > Duration::minutes(119));
        assert!(other.now() - Utc::now() < Duration::minutes(1));
    }
}
