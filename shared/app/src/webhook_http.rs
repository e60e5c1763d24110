//! The HTTP client that posts events to clinics' endpoints. Whatever a host name resolves to
//! is checked at connection time, by the client's own resolver, so a name that resolved to a
//! public address when the endpoint was made and to a private one now (DNS rebinding) is
//! refused; an address in the URL itself is checked before the post. No proxy, no redirects
//! (a 3xx is a failed attempt), a 10-second limit, and the answer's body is never read.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tidings_domain::outbound::url::{EndpointUrl, Reach, allowed};

/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What came of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    /// A 2xx answer.
    Delivered(u16),
    /// Any other answer.
    HttpError(u16),
    Timeout,
    ConnectionFailed,
    /// The URL, or what its name resolves to now, is an address the deployment refuses.
    RefusedAddress,
}

impl PostOutcome {
    pub fn code(self) -> &'static str {
        match self {
            Self::Delivered(_) => "delivered",
            Self::HttpError(_) => "http_error",
            Self::Timeout => "timeout",
            Self::ConnectionFailed => "connection_failed",
            Self::RefusedAddress => "refused_address",
        }
    }

    pub fn status_code(self) -> Option<u16> {
        match self {
            Self::Delivered(c) | Self::HttpError(c) => Some(c),
            _ => None,
        }
    }
}

/// A resolver that keeps only the addresses `reach` allows; none left is an error.
struct CheckedResolver {
    reach: Reach,
}

#[derive(Debug, thiserror::Error)]
#[error("the host resolves only to addresses this deployment does not send events to")]
struct RefusedAddress;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let ok: Vec<_> = found.filter(|a| allowed(a.ip(), reach)).collect();
            if ok.is_empty() {
                return Err(Box::new(RefusedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

#[derive(Clone)]
pub struct WebhookHttp {
    client: reqwest::Client,
    reach: Reach,
}

impl WebhookHttp {
    pub fn new(reach: Reach) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { reach }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent("Tidings-Webhooks/1")
            .build()?;
        Ok(Self { client, reach })
    }

    /// Posts `body` with `headers` to `url`; what came of it and how long it took.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> (PostOutcome, Duration) {
        let started = Instant::now();
        if EndpointUrl::parse("url", url, self.reach).is_err() {
            return (PostOutcome::RefusedAddress, started.elapsed());
        }
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let outcome = match req.body(body).send().await {
            Ok(res) if res.status().is_success() => PostOutcome::Delivered(res.status().as_u16()),
            Ok(res) => PostOutcome::HttpError(res.status().as_u16()),
            Err(e) if e.is_timeout() => PostOutcome::Timeout,
            Err(e) if refused(&e) => PostOutcome::RefusedAddress,
            Err(_) => PostOutcome::ConnectionFailed,
        };
        (outcome, started.elapsed())
    }
}

/// Whether the error's cause chain holds the resolver's refusal.
fn refused(e: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<RefusedAddress>() {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_is_refused_by_name_at_connection_time_and_by_address_before_the_post() {
        // `localhost` resolves from /etc/hosts, without a DNS server, to loopback only: the
        // resolver a delivery connects through leaves no address to connect to.
        let r = CheckedResolver {
            reach: Reach::PublicOnly,
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.is_err());
        // An address in the URL is checked before anything is sent.
        let http = WebhookHttp::new(Reach::PublicOnly).unwrap();
        let (outcome, _) = http
            .post("https://127.0.0.1:1/", &[], "{}".to_owned())
            .await;
        assert_eq!(outcome, PostOutcome::RefusedAddress);
    }
}
