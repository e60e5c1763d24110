//! Statistics come from day counters that `count-stats` keeps from the table's stream (the
//! local stack's stream bridge invokes it through `cargo lambda watch`), a moment after the
//! writes they count: a test asks until the answer is what it expects, or gives up.

use crate::{Reply, call};
use serde_json::Value;
use std::time::{Duration, Instant};
use tidings_app::App;

/// How long counters may take to catch up in the local stack.
const CATCH_UP: Duration = Duration::from_secs(30);

/// Asks `GET path` until `expected` holds for its JSON, for at most [`CATCH_UP`]; the last
/// answer (the test then asserts on it, and says what it was).
pub async fn when(app: &App, key: &str, path: &str, expected: impl Fn(&Value) -> bool) -> Reply {
    let start = Instant::now();
    loop {
        let r = call(app, key, "GET", path, None).await;
        if r.status != 200 || expected(&r.json) || start.elapsed() > CATCH_UP {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sum of `field` over the message statistics' days.
pub fn total(stats: &Value, field: &str) -> u64 {
    stats["days"]
        .as_array()
        .map(|days| days.iter().filter_map(|d| d[field].as_u64()).sum())
        .unwrap_or(0)
}
