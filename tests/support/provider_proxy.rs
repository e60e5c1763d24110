//! An HTTP proxy in front of moto for SNS and SES v2 calls (or in front of localstripe, where
//! the call it knows is a PaymentIntent's confirmation). It records every call (so tests
//! can read what moto does not keep, such as the SMS sender id and the email reply-to) and can
//! answer a call with a fault instead of forwarding it: throttling, a 500, or a permanent
//! rejection, each in the wire format of the service; or hang; or forward it and then drop the
//! connection unanswered. In front of DynamoDB it knows transactions, and can hold one.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    Throttle,
    ServerError,
    Reject,
    /// Never answers: the call hangs as if the caller's process had died mid-call, before the
    /// provider saw it.
    Hang,
    /// Forwards the call (the provider takes the message) and then drops the connection
    /// without answering, as a connection lost on the way back would.
    AcceptThenDrop,
    /// Forwards the call (the provider takes the message) and never answers: the caller waits,
    /// as one killed between the provider's answer and its own record of it would.
    AcceptThenHang,
}

/// One call the proxy saw.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: &'static str,
    /// The phone number (SNS) or the first To address (SES).
    pub recipient: String,
    /// SNS: form parameters; SES: the JSON body flattened to `a.b.0` keys.
    pub params: HashMap<String, String>,
    pub fault: Fault,
    /// When the proxy received it.
    pub at: std::time::Instant,
}

type Script = Arc<dyn Fn(&str, usize) -> Fault + Send + Sync>;

/// A running proxy; `script(recipient, attempt)` picks the fault of each call (attempt counts
/// from 0 per recipient).
#[derive(Clone)]
pub struct ProviderProxy {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl ProviderProxy {
    pub async fn start(
        moto_url: String,
        script: impl Fn(&str, usize) -> Fault + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let client = reqwest::Client::new();
        let state = (calls.clone(), script, client, moto_url);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Self { url, calls }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

type State = (Arc<Mutex<Vec<Call>>>, Script, reqwest::Client, String);

async fn serve(mut stream: TcpStream, state: State) -> std::io::Result<()> {
    let (calls, script, client, moto) = state;
    let mut buf = Vec::new();
    while let Some(req) = crate::wire::read_request(&mut stream, &mut buf).await? {
        let crate::wire::Request {
            method,
            path,
            headers,
            body,
        } = req;
        let mut fwd_headers = reqwest::header::HeaderMap::new();
        for (name, value) in &headers {
            if !name.eq_ignore_ascii_case("host") {
                fwd_headers.insert(
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                );
            }
        }
        let (service, recipient, params) = describe(&path, &body);
        let fault = match service {
            Some(svc) => {
                let mut calls = calls.lock().unwrap();
                let attempt = calls.iter().filter(|c| c.recipient == recipient).count();
                let fault = script(&recipient, attempt);
                calls.push(Call {
                    service: svc,
                    recipient: recipient.clone(),
                    params,
                    fault,
                    at: std::time::Instant::now(),
                });
                fault
            }
            None => Fault::Pass,
        };
        if fault == Fault::Hang && service.is_some() {
            std::future::pending::<()>().await;
        }
        let (status, ctype, extra, body) = match (fault, service) {
            (Fault::Pass | Fault::AcceptThenDrop | Fault::AcceptThenHang, _) | (_, None) => {
                let res = client
                    .request(method.parse().unwrap(), format!("{moto}{path}"))
                    .headers(fwd_headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let ctype = res
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or_default().to_owned())
                    .unwrap_or_else(|| "text/xml".into());
                (
                    status,
                    ctype,
                    String::new(),
                    res.bytes().await.unwrap().to_vec(),
                )
            }
            (fault, Some("sns")) => {
                let (status, code, msg) = match fault {
                    Fault::Throttle => (400, "Throttling", "Rate exceeded"),
                    Fault::ServerError => (500, "InternalError", "internal error"),
                    _ => (
                        400,
                        "InvalidParameter",
                        "Invalid parameter: PhoneNumber not reachable",
                    ),
                };
                let xml = format!(
                    "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
                );
                (status, "text/xml".into(), String::new(), xml.into_bytes())
            }
            (fault, _) => {
                let (status, code, msg) = match fault {
                    Fault::Throttle => (429, "TooManyRequestsException", "Too many requests"),
                    Fault::ServerError => (500, "InternalFailure", "internal error"),
                    _ => (400, "MessageRejected", "Email address is not accepted"),
                };
                let json = format!("{{\"message\":\"{msg}\"}}");
                (
                    status,
                    "application/json".into(),
                    format!("x-amzn-ErrorType: {code}\r\n"),
                    json.into_bytes(),
                )
            }
        };
        if fault == Fault::AcceptThenDrop && service.is_some() {
            // The provider has the message; the caller never hears so.
            return Ok(());
        }
        if fault == Fault::AcceptThenHang && service.is_some() {
            std::future::pending::<()>().await;
        }
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nx-amzn-requestid: proxy\r\n{extra}\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
    }
    Ok(())
}

/// Which provider call a request is, its recipient and its parameters.
fn describe(path: &str, body: &[u8]) -> (Option<&'static str>, String, HashMap<String, String>) {
    // In front of DynamoDB: a transaction (its recipient is the operation).
    if serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("TransactItems").is_some()) {
        return (
            Some("dynamodb"),
            "TransactWriteItems".into(),
            HashMap::new(),
        );
    }
    if path.starts_with("/v2/email/outbound-emails") {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut params = HashMap::new();
        flatten("", &v, &mut params);
        let to = params
            .get("Destination.ToAddresses.0")
            .cloned()
            .unwrap_or_default();
        return (Some("ses"), to, params);
    }
    let params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    // In front of Stripe: the call that charges a card (its recipient is the PaymentIntent).
    if let Some(pi) = path
        .strip_prefix("/v1/payment_intents/")
        .and_then(|p| p.strip_suffix("/confirm"))
    {
        return (Some("stripe"), pi.to_owned(), params);
    }
    if params.get("Action").map(String::as_str) == Some("Publish") {
        let to = params.get("PhoneNumber").cloned().unwrap_or_default();
        return (Some("sns"), to, params);
    }
    (None, String::new(), params)
}

fn flatten(prefix: &str, v: &Value, out: &mut HashMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(&key(k), v, out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(&key(&i.to_string()), v, out)),
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// The SNS message attribute `name` of a recorded Publish call.
pub fn sns_attribute(call: &Call, name: &str) -> Option<String> {
    (1..20).find_map(|i| {
        (call
            .params
            .get(&format!("MessageAttributes.entry.{i}.Name"))?
            == name)
            .then(|| {
                call.params
                    .get(&format!("MessageAttributes.entry.{i}.Value.StringValue"))
                    .cloned()
            })
            .flatten()
    })
}
