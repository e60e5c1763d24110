//! Requests on the wire to the provider, averaged over time: an HTTP client that wraps the SDK's
//! own and keeps the integral of how many of its requests are between being sent and being
//! answered. It says whether a phase kept the provider fed, whatever the provider's CPU a call
//! did meanwhile, and when it left the provider with nothing to do: before its first request,
//! after its last answer, and in between.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many requests are on the wire now, and since the last [`Outstanding::phase`]: their
/// integral over time, and the time with none.
#[derive(Debug)]
struct Count {
    now: usize,
    since: Instant,
    request_seconds: f64,
    idle_seconds: f64,
    /// When the phase's first request went out.
    first: Option<Instant>,
    /// When the count last fell to none.
    emptied: Instant,
    from: Instant,
}

impl Count {
    /// A phase starting `at` with `now` requests on the wire.
    fn starting(at: Instant, now: usize) -> Self {
        Self {
            now,
            since: at,
            request_seconds: 0.0,
            idle_seconds: 0.0,
            first: None,
            emptied: at,
            from: at,
        }
    }

    fn step(&mut self, by: isize) {
        let at = Instant::now();
        let span = at.duration_since(self.since).as_secs_f64();
        self.request_seconds += self.now as f64 * span;
        if self.now == 0 {
            self.idle_seconds += span;
        }
        self.since = at;
        self.now = self.now.saturating_add_signed(by);
        if by > 0 {
            self.first.get_or_insert(at);
        }
        if by < 0 && self.now == 0 {
            self.emptied = at;
        }
    }
}

/// A phase as the provider saw it.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// The mean number of requests on the wire.
    pub mean: f64,
    /// Seconds with none on the wire: before the first request, after the last answer, and
    /// between the two.
    pub idle_before_first: f64,
    pub idle_after_last: f64,
    pub idle_between: f64,
}

/// An HTTP client for the SDK that counts the requests it has on the wire.
#[derive(Debug, Clone)]
pub struct Outstanding {
    inner: SharedHttpClient,
    count: Arc<Mutex<Count>>,
}

impl Outstanding {
    pub fn wrapping(inner: SharedHttpClient) -> Self {
        Self {
            inner,
            count: Arc::new(Mutex::new(Count::starting(Instant::now(), 0))),
        }
    }

    /// The phase since the last call (or since it was made); the next one starts now.
    pub fn phase(&self) -> Phase {
        let mut c = self.count.lock().unwrap();
        c.step(0);
        let span = c.since.duration_since(c.from).as_secs_f64();
        let mean = c.request_seconds / span.max(f64::EPSILON);
        let before_first = c
            .first
            .unwrap_or(c.since)
            .duration_since(c.from)
            .as_secs_f64();
        let after_last = match c.first {
            Some(_) if c.now == 0 => c.since.duration_since(c.emptied).as_secs_f64(),
            _ => 0.0,
        };
        let between = (c.idle_seconds - before_first - after_last).max(0.0);
        *c = Count::starting(c.since, c.now);
        let tenths = |x: f64| (x * 10.0).round() / 10.0;
        Phase {
            mean: tenths(mean),
            idle_before_first: tenths(before_first),
            idle_after_last: tenths(after_last),
            idle_between: tenths(between),
        }
    }
}

impl HttpClient for Outstanding {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Counting {
            inner: self.inner.http_connector(settings, components),
            count: self.count.clone(),
        })
    }
}

#[derive(Debug)]
struct Counting {
    inner: SharedHttpConnector,
    count: Arc<Mutex<Count>>,
}

/// Takes a request off the count when its call ends, answered or not.
struct OnTheWire(Arc<Mutex<Count>>);

impl Drop for OnTheWire {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            c.step(-1);
        }
    }
}

impl HttpConnector for Counting {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = self.inner.call(request);
        let count = self.count.clone();
        HttpConnectorFuture::new(async move {
            count.lock().unwrap().step(1);
            let _on = OnTheWire(count);
            call.await
        })
    }
}
