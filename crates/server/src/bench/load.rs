//! The load: customers writing through the Client API, agents watching over WebSockets,
//! agents listing and searching, and many idle widget sockets — all over real sockets to the
//! server process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::seed::Visitor;

pub struct Target {
    pub base: String,
    pub token: String,
    pub account: i64,
    pub inbox_identifier: String,
    pub client: reqwest::Client,
}

/// Latency samples in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v.get(rank.clamp(1, v.len()) - 1).copied()
    }
}

impl Target {
    fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }

    fn message_path(&self, v: &Visitor) -> String {
        format!(
            "{}/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
            self.base, self.inbox_identifier, v.source_id, v.conversation
        )
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn agent_socket(t: &Target) -> anyhow::Result<Socket> {
    socket_with(t, &t.token).await
}

/// A realtime socket of the user whose access token this is, once it is `ready`.
pub async fn socket_with(t: &Target, token: &str) -> anyhow::Result<Socket> {
    let mut req = t.ws_url("/api/v1/realtime").into_client_request()?;
    req.headers_mut().insert("api_access_token", token.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    // Wait for `ready` so nothing sent afterwards can be missed.
    while let Some(frame) = ws.next().await {
        if let Message::Text(text) = frame?
            && text.contains("\"ready\"")
        {
            return Ok(ws);
        }
    }
    anyhow::bail!("the realtime socket closed before it was ready")
}

/// Reads message_created frames and reports (tag, arrival) for contents starting with `prefix`.
fn watch(ws: Socket, prefix: &'static str, out: mpsc::UnboundedSender<(usize, Instant)>) {
    watch_frames(ws, out, move |v| {
        if v["event"] != "message_created" {
            return None;
        }
        v["data"]["content"]
            .as_str()
            .and_then(|c| c.strip_prefix(prefix))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
    });
}

/// Reports (what `pick` finds in a frame, its arrival) for every JSON frame it finds
/// something in, until the socket or the receiver closes. The socket is closed with the
/// receiver: a phase's agents do not stay online, and fed, through the phases after it.
pub fn watch_frames<T: Send + 'static>(
    mut ws: Socket,
    out: mpsc::UnboundedSender<(T, Instant)>,
    pick: impl Fn(&Value) -> Option<T> + Send + 'static,
) {
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                frame = ws.next() => frame,
                () = out.closed() => break,
            };
            let Some(Ok(frame)) = frame else { break };
            let Message::Text(text) = frame else { continue };
            let now = Instant::now();
            let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if let Some(found) = pick(&v)
                && out.send((found, now)).is_err()
            {
                break;
            }
        }
        let _ = ws.close(None).await;
    });
}

pub struct Ingest {
    pub acknowledged: usize,
    pub failed: usize,
    /// Why the first refused message was refused.
    pub first_error: Option<String>,
    /// Acknowledged messages per second over the phase.
    pub rate: f64,
    /// From the start of the POST to the frame on the agent's socket.
    pub latency: Samples,
    /// Messages that never reached the agent's socket.
    pub unseen: usize,
}

/// Sends `count` messages from `visitors` (round robin). With `rate`, paced at that many per
/// second; without, as fast as `concurrency` senders go.
pub async fn ingest(
    t: &Arc<Target>,
    visitors: &[Visitor],
    count: usize,
    concurrency: usize,
    rate: Option<f64>,
    first_tag: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Ingest> {
    let paths: Vec<String> = visitors.iter().map(|v| t.message_path(v)).collect();
    let client = t.client.clone();
    let request = move |i: usize, tag: usize| {
        let body = json!({"content": format!("bench#{tag} Olá, meu pedido ainda não chegou")});
        client.post(&paths[i % paths.len()]).json(&body)
    };
    drive(t, count, concurrency, rate, first_tag, progress, request).await
}

/// Sends `count` requests made by `request(i, tag)` — each carrying a message whose text
/// starts with `bench#{tag} ` — and times each from its send to its `message_created` frame on
/// an agent's socket.
pub async fn drive(
    t: &Arc<Target>,
    count: usize,
    concurrency: usize,
    rate: Option<f64>,
    first_tag: usize,
    progress: &indicatif::ProgressBar,
    request: impl Fn(usize, usize) -> reqwest::RequestBuilder,
) -> anyhow::Result<Ingest> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    watch(agent_socket(t).await?, "bench#", tx);
    let sent_at: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(concurrency));
    let (ok, failed) = (Arc::new(Mutex::new(0usize)), Arc::new(Mutex::new(0usize)));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        if let Some(r) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / r);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = permits.clone().acquire_owned().await?;
        let tag = first_tag + i;
        let prepared = request(i, tag);
        let (sent_at, ok, failed) = (sent_at.clone(), ok.clone(), failed.clone());
        let first_error = first_error.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            sent_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(tag, Instant::now());
            let answer = prepared.send().await;
            let refusal = match answer {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!(
                    "{} {}",
                    r.status(),
                    r.text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect::<String>()
                )),
                Err(e) => Some(e.to_string()),
            };
            match refusal {
                None => *ok.lock().unwrap_or_else(|e| e.into_inner()) += 1,
                Some(why) => {
                    *failed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    first_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(why);
                }
            }
            progress.inc(1);
            drop(permit);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed();
    let acknowledged = *ok.lock().unwrap_or_else(|e| e.into_inner());
    let failed = *failed.lock().unwrap_or_else(|e| e.into_inner());

    let mut latency = Samples::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while latency.0.len() < acknowledged {
        let Ok(Some((tag, at))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await else {
            break;
        };
        if let Some(sent) = sent_at.lock().unwrap_or_else(|e| e.into_inner()).get(&tag) {
            latency
                .0
                .push(at.duration_since(*sent).as_secs_f64() * 1000.0);
        }
    }
    let first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(Ingest {
        acknowledged,
        failed,
        first_error,
        rate: acknowledged as f64 / elapsed.as_secs_f64(),
        unseen: acknowledged.saturating_sub(latency.0.len()),
        latency,
    })
}

/// The agent's list screens and search, as the web app asks for them.
pub fn list_queries(inbox_id: Option<i64>) -> Vec<String> {
    let mut q = vec![
        "status=open&assignee_type=all".to_owned(),
        "status=open&assignee_type=unassigned".to_owned(),
        "status=resolved&assignee_type=all".to_owned(),
        "status=all&assignee_type=all&page=3".to_owned(),
        "status=open&assignee_type=all&sort_by=sort_on_waiting_since".to_owned(),
        "status=pending&assignee_type=all".to_owned(),
    ];
    if let Some(id) = inbox_id {
        q.push(format!("status=open&assignee_type=all&inbox_id={id}"));
    }
    q
}

pub const SEARCH_WORDS: &[&str] = &["pedido", "paczka", "refund", "estorno", "adres", "tracking"];

pub async fn timed_get(t: &Target, path: &str) -> Option<f64> {
    let start = Instant::now();
    let r = t
        .client
        .get(format!("{}/api/v1/accounts/{}{path}", t.base, t.account))
        .header("api_access_token", &t.token)
        .send()
        .await
        .ok()?;
    let ok = r.status().is_success();
    let _ = r.bytes().await.ok()?;
    ok.then(|| start.elapsed().as_secs_f64() * 1000.0)
}

/// `rounds` passes over the list queries and the search words; failures are counted apart.
pub async fn list_and_search(
    t: &Target,
    rounds: usize,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> (Samples, Samples, usize) {
    let (mut list, mut search, mut failed) = (Samples::default(), Samples::default(), 0);
    let queries = list_queries(None);
    for round in 0..rounds {
        if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
            break;
        }
        let q = &queries[round % queries.len()];
        match timed_get(t, &format!("/conversations?{q}")).await {
            Some(ms) => list.0.push(ms),
            None => failed += 1,
        }
        let word = SEARCH_WORDS[round % SEARCH_WORDS.len()];
        match timed_get(t, &format!("/conversations?status=all&q={word}")).await {
            Some(ms) => search.0.push(ms),
            None => failed += 1,
        }
    }
    (list, search, failed)
}

/// One message seen by `agents` sockets of the same team: per message, the time until the
/// last of them has it.
pub async fn fan_out(
    t: &Arc<Target>,
    visitor: &Visitor,
    agents: usize,
    messages: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<(Samples, usize)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut connected = 0;
    for _ in 0..agents {
        if let Ok(ws) = agent_socket(t).await {
            watch(ws, "fanout#", tx.clone());
            connected += 1;
        }
    }
    drop(tx);
    let mut samples = Samples::default();
    for n in 0..messages {
        let start = Instant::now();
        let sent = t
            .client
            .post(t.message_path(visitor))
            .json(&json!({"content": format!("fanout#{n} Dzień dobry")}))
            .send()
            .await;
        if !matches!(&sent, Ok(r) if r.status().is_success()) {
            continue;
        }
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen < connected {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((tag, _))) if tag == n => seen += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        if seen == connected {
            samples.0.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        progress.inc(1);
    }
    Ok((samples, connected))
}

/// Opens a widget socket per idle visitor and keeps them open; returns the sockets and how many
/// could not connect.
pub async fn idle_sockets(
    t: &Target,
    visitors: &[String],
    progress: &indicatif::ProgressBar,
) -> (Vec<Socket>, usize) {
    let mut open = Vec::with_capacity(visitors.len());
    let mut failed = 0;
    let mut pending = futures::stream::iter(visitors.iter().map(|source| {
        let url = t.ws_url(&format!(
            "/public/api/v1/inboxes/{}/contacts/{source}/realtime",
            t.inbox_identifier
        ));
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
            // The first frame is `ready`.
            match ws.next().await {
                Some(Ok(Message::Text(_))) => Some(ws),
                _ => None,
            }
        }
    }))
    .buffer_unordered(64);
    while let Some(result) = pending.next().await {
        match result {
            Some(ws) => open.push(ws),
            None => failed += 1,
        }
        progress.inc(1);
    }
    (open, failed)
}

pub async fn close_all(sockets: Vec<Socket>) {
    futures::stream::iter(sockets)
        .for_each_concurrent(256, |mut ws| async move {
            let _ = ws.close(None).await;
        })
        .await;
}
