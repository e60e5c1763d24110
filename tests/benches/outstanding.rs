//! Requests on the wire to the provider, averaged over time: an HTTP client that wraps the SDK's
//! own and keeps the integral of how many of its requests are between being sent and being
//! answered. It says whether a phase kept the provider fed, whatever the provider's CPU a call
//! did meanwhile.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many requests are on the wire now, and their integral over time since the last
/// [`Outstanding::mean_since_last`].
#[derive(Debug)]
struct Count {
    now: usize,
    since: Instant,
    request_seconds: f64,
    from: Instant,
}

impl Count {
    fn step(&mut self, by: isize) {
        let at = Instant::now();
        self.request_seconds += self.now as f64 * at.duration_since(self.since).as_secs_f64();
        self.since = at;
        self.now = self.now.saturating_add_signed(by);
    }
}

/// An HTTP client for the SDK that counts the requests it has on the wire.
#[derive(Debug, Clone)]
pub struct Outstanding {
    inner: SharedHttpClient,
    count: Arc<Mutex<Count>>,
}

impl Outstanding {
    pub fn wrapping(inner: SharedHttpClient) -> Self {
        let at = Instant::now();
        let count = Count {
            now: 0,
            since: at,
            request_seconds: 0.0,
            from: at,
        };
        Self {
            inner,
            count: Arc::new(Mutex::new(count)),
        }
    }

    /// The mean number of requests on the wire since the last call (or since it was made).
    pub fn mean_since_last(&self) -> f64 {
        let mut c = self.count.lock().unwrap();
        c.step(0);
        let span = c.since.duration_since(c.from).as_secs_f64();
        let mean = c.request_seconds / span.max(f64::EPSILON);
        c.request_seconds = 0.0;
        c.from = c.since;
        (mean * 10.0).round() / 10.0
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
