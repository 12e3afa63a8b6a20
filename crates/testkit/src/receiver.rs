//! A webhook receiver that records what arrives and can misbehave on purpose.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    Accept,
    /// Answer 500 to the first `n` requests, then accept.
    FailFirst(usize),
    /// Answer 500 to the first `n` requests whose body contains the text, accept the rest
    /// (a receiver that refuses one delivery however many others reach it first).
    FailFirstContaining(&'static str, usize),
    /// Hold every request this long before answering 200.
    Slow(Duration),
    /// Answer 500 to every request.
    AlwaysFail,
    /// Read the request, then never answer: a dead receiver that keeps the socket open.
    Hang,
}

#[derive(Clone)]
struct Shared {
    behaviour: Behaviour,
    seen: Arc<Mutex<Vec<Received>>>,
}

pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            behaviour,
            seen: seen.clone(),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            seen,
            _server: server,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (index, matching) = {
        let mut seen = s.seen.lock().unwrap();
        seen.push(Received {
            headers,
            raw: body.to_vec(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let matching = match s.behaviour {
            Behaviour::FailFirstContaining(text, _) if contains(&body, text) => {
                seen.iter().filter(|r| contains(&r.raw, text)).count()
            }
            _ => 0,
        };
        (seen.len(), matching)
    };
    match s.behaviour {
        Behaviour::FailFirstContaining(_, n) if (1..=n).contains(&matching) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Behaviour::FailFirstContaining(..) => StatusCode::OK,
        Behaviour::Accept => StatusCode::OK,
        Behaviour::FailFirst(n) if index <= n => StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::FailFirst(_) => StatusCode::OK,
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
        Behaviour::AlwaysFail => StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Hang => std::future::pending().await,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len().max(1))
        .any(|w| w == needle.as_bytes())
}
