//! A function binary run as Lambda runs it: a separate process that asks a Runtime API for its
//! event and posts its answer back. The Runtime API here serves one invocation (the event given)
//! and then holds the next request open, as Lambda does between invocations. A test kills the
//! process with SIGKILL whenever it likes, as Lambda loses an instance to a crash or to
//! out-of-memory: nothing in the process runs after that.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// What the function posted back for its invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    Error(Value),
}

/// One running function process and the Runtime API it talks to.
pub struct LambdaProcess {
    child: Child,
    answer: Arc<Mutex<Option<Answer>>>,
    /// Where the process's standard output goes (its logs and metric lines).
    stdout: PathBuf,
}

/// The binary that serves the function `name` as deployed: the `tidings` binary that `cargo
/// build --workspace --bins` left in the workspace's target (every function's `sam build`
/// artifact), or, with `TIDINGS_SAM_BUILD` naming `sam build`'s output folder (`make smoke`),
/// the `bootstrap` it made for the template's function whose Handler is `name`. Either way the
/// process is told `name` through `_HANDLER`, as Lambda tells it.
pub fn binary(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Some(built) = std::env::var_os("TIDINGS_SAM_BUILD") {
        return PathBuf::from(built)
            .join(logical_id_of(&root.join("..").join("template.yaml"), name))
            .join("bootstrap");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("..").join("target"));
    target.join("debug").join("tidings")
}

/// The logical id of the template's function whose binary is `name`.
fn logical_id_of(template: &std::path::Path, name: &str) -> String {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(template).unwrap()).unwrap();
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Properties"]["Handler"].as_str() == Some(name))
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no function of template.yaml has the Handler {name}"))
}

impl LambdaProcess {
    /// Starts the function `name` (see [`binary`]) with the test's environment plus `env`, to
    /// be invoked once with `event`.
    pub async fn start(name: &str, event: &Value, env: &[(&str, String)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(None));
        let served = Arc::new(Mutex::new(false));
        let state = (event.to_string(), served, answer.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        let path = binary(name);
        assert!(
            path.exists(),
            "{} is missing: run `cargo build --workspace --bins` first",
            path.display()
        );
        let stdout = std::env::temp_dir().join(format!("lambda-{}.out", uuid::Uuid::new_v4()));
        let mut cmd = Command::new(path);
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("_HANDLER", name)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().unwrap(),
            answer,
            stdout,
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        // `Child::kill` sends SIGKILL on Unix.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The function's answer, waiting up to `limit` for it; the process is killed either way.
    pub async fn answer(&mut self, limit: Duration) -> Option<Answer> {
        let until = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < until {
            let got = self.answer.lock().unwrap().clone();
            if got.is_some() {
                self.kill();
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        None
    }
}

impl LambdaProcess {
    /// How the process ended, waiting up to `limit` (a function that fails its cold start
    /// exits); `None` if it is still running (it is then killed).
    pub async fn exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        None
    }

    /// What the process wrote to its standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.stdout);
    }
}

type State = (String, Arc<Mutex<bool>>, Arc<Mutex<Option<Answer>>>);

/// Serves the Runtime API requests of one connection.
async fn serve(mut stream: TcpStream, (event, served, answer): State) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some(crate::wire::Request { path, body, .. }) =
        crate::wire::read_request(&mut stream, &mut buf).await?
    {
        let reply = if path.ends_with("/invocation/next") {
            let first = !std::mem::replace(&mut *served.lock().unwrap(), true);
            if !first {
                // Lambda holds the next request until there is another event: there is none.
                std::future::pending::<()>().await;
            }
            let deadline = chrono::Utc::now().timestamp_millis() + 900_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:ap-southeast-2:123456789012:function:test\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n{event}",
                event.len(),
                uuid::Uuid::new_v4(),
            )
        } else {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if path.ends_with("/response") {
                *answer.lock().unwrap() = Some(Answer::Response(value));
            } else if path.ends_with("/error") {
                *answer.lock().unwrap() = Some(Answer::Error(value));
            }
            "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".to_owned()
        };
        stream.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// The API Gateway (HTTP API, payload 2.0) event of a request with a JSON body.
pub fn http_event(
    method: &str,
    path: &str,
    key: &str,
    idempotency_key: &str,
    body: &Value,
) -> Value {
    json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {key}"), "content-type": "application/json",
                    "idempotency-key": idempotency_key},
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "crash-test"},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "06/Dec/2026:06:00:00 +0000", "timeEpoch": 1796536800000_i64},
        "body": body.to_string(), "isBase64Encoded": false
    })
}

/// A generic-provider post of `body`, signed with `secret`, as API Gateway hands it over.
pub fn signed_generic_post(body: &Value, secret: &str) -> Value {
    let body = body.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = tidings_domain::webhook::generic::sign(secret.as_bytes(), &ts, body.as_bytes());
    let path = "/webhooks/sms/generic";
    json!({
        "version": "2.0", "routeKey": "POST /webhooks/sms/{provider}", "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", tidings_domain::webhook::generic::TIMESTAMP_HEADER: ts,
                    tidings_domain::webhook::generic::SIGNATURE_HEADER: sig},
        "pathParameters": {"provider": "generic"},
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "POST /webhooks/sms/{provider}",
            "stage": "$default", "time": "06/Dec/2026:06:00:00 +0000", "timeEpoch": 1796536800000_i64},
        "body": body, "isBase64Encoded": false
    })
}
