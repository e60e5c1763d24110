//! The two HTTP calls an SNS post can need: its signing certificate (fetched once per function
//! instance, from a URL already checked to be on SNS's host) and a subscription's confirmation.
//! The client is built once at cold start; it follows no redirect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum SnsHttpError {
    #[error("the SNS signing certificate could not be fetched")]
    Certificate(#[source] Option<reqwest::Error>),
    #[error("the SNS subscription could not be confirmed")]
    Confirmation(#[source] Option<reqwest::Error>),
}

#[derive(Clone)]
pub struct SnsHttp {
    client: reqwest::Client,
    certificates: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl SnsHttp {
    /// The client; an error here stops the cold start.
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            certificates: Arc::default(),
        })
    }

    /// The PEM certificate at `url`, from this instance's cache after the first fetch.
    pub async fn certificate(&self, url: &str) -> Result<Vec<u8>, SnsHttpError> {
        if let Some(c) = self
            .certificates
            .lock()
            .ok()
            .and_then(|m| m.get(url).cloned())
        {
            return Ok(c);
        }
        let res = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| SnsHttpError::Certificate(Some(e)))?;
        if !res.status().is_success() {
            return Err(SnsHttpError::Certificate(None));
        }
        let pem = res
            .bytes()
            .await
            .map_err(|e| SnsHttpError::Certificate(Some(e)))?
            .to_vec();
        if let Ok(mut m) = self.certificates.lock() {
            m.insert(url.to_owned(), pem.clone());
        }
        Ok(pem)
    }

    /// Visits a subscription's `SubscribeURL` (already checked to be on SNS's host).
    pub async fn confirm(&self, subscribe_url: &str) -> Result<(), SnsHttpError> {
        let res = self
            .client
            .get(subscribe_url)
            .send()
            .await
            .map_err(|e| SnsHttpError::Confirmation(Some(e)))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SnsHttpError::Confirmation(None))
        }
    }
}
