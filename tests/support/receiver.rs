//! A clinic's webhook endpoint, as tests run it: an HTTP server on 127.0.0.1 that records every
//! post and answers with the status the test sets.

use crate::wire::read_request;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// One post received.
#[derive(Debug, Clone)]
pub struct Post {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

pub struct Receiver {
    pub url: String,
    posts: Arc<Mutex<Vec<Post>>>,
    status: Arc<AtomicU16>,
    /// While set, a post is recorded and never answered (the sender waits).
    hold: Arc<AtomicBool>,
}

impl Receiver {
    /// Starts answering `status` to every post.
    pub async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let hold = Arc::new(AtomicBool::new(false));
        let (p, s, h) = (posts.clone(), status.clone(), hold.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (p, s, h) = (p.clone(), s.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while let Ok(Some(req)) = read_request(&mut stream, &mut buf).await {
                        p.lock().unwrap().push(Post {
                            headers: req
                                .headers
                                .iter()
                                .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
                                .collect(),
                            body: String::from_utf8_lossy(&req.body).into_owned(),
                        });
                        while h.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                        let code = s.load(Ordering::SeqCst);
                        let answer = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n");
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            posts,
            status,
            hold,
        }
    }

    /// Records posts without answering them (`true`), or answers again (`false`).
    pub fn hold(&self, on: bool) {
        self.hold.store(on, Ordering::SeqCst);
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// The posts once there are at least `n`, waiting up to `secs` seconds.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Post> {
        for _ in 0..secs * 10 {
            let posts = self.posts();
            if posts.len() >= n {
                return posts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.posts()
    }
}
