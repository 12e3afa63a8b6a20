//! A provider's API on a local socket for the adapters' own tests: records each request and
//! answers it with the next queued reply, else with what the test's default says. (The
//! black-box suites use testkit's fuller fake; this one keeps `channels` free of a testkit
//! dependency.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    /// Method and target, e.g. `POST /me/messages`.
    pub line: String,
    /// The target's path (and query).
    pub path: String,
    /// The request line and headers, lower-cased.
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer: status, content type, body.
pub(crate) type Reply = (u16, &'static str, Vec<u8>);

/// A JSON answer.
pub(crate) fn json_reply(status: u16, body: &Value) -> Reply {
    (status, "application/json", body.to_string().into_bytes())
}

type Default = dyn Fn(&Seen, u64) -> Reply + Send + Sync;

pub(crate) struct ScriptedServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    queued: Arc<Mutex<VecDeque<Reply>>>,
}

impl ScriptedServer {
    /// Starts on a free port; `default(request, n)` answers when nothing is queued (`n` counts
    /// requests, for ids).
    pub async fn start(default: impl Fn(&Seen, u64) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let queued = Arc::new(Mutex::new(VecDeque::new()));
        let default: Arc<Default> = Arc::new(default);
        let (s, q) = (seen.clone(), queued.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((socket, _)) = listener.accept().await {
                n += 1;
                tokio::spawn(answer(socket, s.clone(), q.clone(), default.clone(), n));
            }
        });
        Self { url, seen, queued }
    }

    /// The next request is answered with this.
    pub fn then(&self, reply: Reply) {
        self.queued.lock().unwrap().push_back(reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(
    mut socket: tokio::net::TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    queued: Arc<Mutex<VecDeque<Reply>>>,
    default: Arc<Default>,
    n: u64,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        let read = socket.read(&mut chunk).await.unwrap();
        if read == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..read]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let raw_head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let head = raw_head.to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    while buf.len() < head_end + length {
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the body was cut off");
        buf.extend_from_slice(&chunk[..read]);
    }
    let line = raw_head
        .lines()
        .next()
        .unwrap_or_default()
        .rsplit_once(' ')
        .map(|(l, _)| l.to_owned())
        .unwrap_or_default();
    let request = Seen {
        path: line.split(' ').nth(1).unwrap_or_default().to_owned(),
        line,
        head,
        body: buf[head_end..head_end + length].to_vec(),
    };
    seen.lock().unwrap().push(request.clone());
    let queued = queued.lock().unwrap().pop_front();
    let (status, content_type, body) = queued.unwrap_or_else(|| default(&request, n));
    let reply = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(reply.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
}
