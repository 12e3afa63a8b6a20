//! Routing under load: new conversations arrive in an auto-assigned inbox while customers'
//! messages stream into another, and each is timed from the customer's request to the
//! `conversation_updated` frame that gives it an agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::load::{self, Ingest, Samples, Target};
use super::seed::Visitor;

/// What the phase measured.
pub struct AssignmentFigures {
    /// From the POST that opens the conversation to the frame assigning it, in milliseconds.
    pub latency: Samples,
    /// Conversations opened (acknowledged by the server).
    pub opened: usize,
    /// Opened but never seen assigned within the phase's grace period.
    pub unassigned: usize,
    pub agents: usize,
    /// The messages streamed meanwhile.
    pub background: Ingest,
}

const AGENT_PASSWORD: &str = "bench-routing-agent-1";

async fn json_call(
    t: &Target,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut req = t
        .client
        .request(method.clone(), format!("{}{path}", t.base));
    if let Some(token) = token {
        req = req.header("api_access_token", token);
    }
    let answer = req.json(&body).send().await?;
    let status = answer.status();
    let text = answer.text().await?;
    anyhow::ensure!(status.is_success(), "{method} {path}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// `agents` agents working a new API inbox, online on their own sockets; `conversations`
/// opened there at `arrivals_per_sec` while `background_rate` messages per second stream from
/// the seeded visitors.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    t: &Arc<Target>,
    visitors: &[Visitor],
    agents: usize,
    conversations: usize,
    arrivals_per_sec: f64,
    background_rate: f64,
    concurrency: usize,
    first_tag: usize,
) -> anyhow::Result<AssignmentFigures> {
    let acc = format!("/api/v1/accounts/{}", t.account);
    let post = reqwest::Method::POST;
    let inbox = json_call(
        t,
        post.clone(),
        &format!("{acc}/inboxes"),
        Some(&t.token),
        json!({"name": "Routing bench", "channel": {"type": "api"}}),
    )
    .await?;
    let inbox_identifier = inbox["inbox_identifier"]
        .as_str()
        .context("the routing inbox's identifier")?
        .to_owned();
    let mut ids = Vec::with_capacity(agents);
    for i in 0..agents {
        let email = format!("router{i}@bench.test");
        let agent = json_call(
            t,
            post.clone(),
            &format!("{acc}/agents"),
            Some(&t.token),
            json!({"name": format!("Router {i}"), "email": email, "role": "agent",
                   "password": AGENT_PASSWORD}),
        )
        .await?;
        ids.push(agent["id"].as_i64().context("agent id")?);
    }
    json_call(
        t,
        post.clone(),
        &format!("{acc}/inbox_members"),
        Some(&t.token),
        json!({"inbox_id": inbox["id"], "user_ids": ids}),
    )
    .await?;
    // Room for every conversation of the phase, so the figure is the decision's path and not
    // a queue waiting for capacity.
    let per_agent = conversations.div_ceil(agents.max(1)).clamp(1, 100);
    json_call(
        t,
        reqwest::Method::PUT,
        &format!("{acc}/routing/settings"),
        Some(&t.token),
        json!({"capacity": {"other": per_agent}}),
    )
    .await?;
    // The agents' apps read what they are sent (and drop it): held until the phase ends.
    let (drain, drained) = mpsc::unbounded_channel::<((), Instant)>();
    for i in 0..agents {
        let signed = json_call(
            t,
            post.clone(),
            "/auth/sign_in",
            None,
            json!({"email": format!("router{i}@bench.test"), "password": AGENT_PASSWORD}),
        )
        .await?;
        let token = signed["data"]["access_token"]
            .as_str()
            .context("agent token")?
            .to_owned();
        load::watch_frames(load::socket_with(t, &token).await?, drain.clone(), |_| None);
    }

    // The administrator's socket sees every assignment.
    let (tx, mut rx) = mpsc::unbounded_channel();
    watch_assignments(load::socket_with(t, &t.token).await?, tx);

    let background = {
        let (t, visitors) = (t.clone(), visitors.to_vec());
        let count = (background_rate * conversations as f64 / arrivals_per_sec).ceil() as usize;
        tokio::spawn(async move {
            let hidden = indicatif::ProgressBar::hidden();
            load::ingest(
                &t,
                &visitors,
                count,
                concurrency,
                Some(background_rate),
                first_tag,
                &hidden,
            )
            .await
        })
    };

    let opened_at: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(conversations);
    for i in 0..conversations {
        let due = start + Duration::from_secs_f64(i as f64 / arrivals_per_sec);
        tokio::time::sleep_until(due.into()).await;
        let (t, inbox_identifier, opened_at) =
            (t.clone(), inbox_identifier.clone(), opened_at.clone());
        tasks.push(tokio::spawn(async move {
            let base = format!("/public/api/v1/inboxes/{inbox_identifier}/contacts");
            let contact = json_call(
                &t,
                reqwest::Method::POST,
                &base,
                None,
                json!({"name": format!("Routed {i}")}),
            )
            .await
            .ok()?;
            let source = contact["source_id"].as_str()?.to_owned();
            let began = Instant::now();
            let conversation = json_call(
                &t,
                reqwest::Method::POST,
                &format!("{base}/{source}/conversations"),
                None,
                json!({}),
            )
            .await
            .ok()?;
            let id = conversation["id"].as_i64()?;
            opened_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, began);
            Some(id)
        }));
    }
    let mut opened = 0;
    for task in tasks {
        if matches!(task.await, Ok(Some(_))) {
            opened += 1;
        }
    }
    let mut latency = Samples::default();
    let mut seen = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < opened {
        let Ok(Some((id, at))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await else {
            break;
        };
        seen.entry(id).or_insert(at);
    }
    for (id, at) in &seen {
        if let Some(began) = opened_at.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            latency
                .0
                .push(at.duration_since(*began).as_secs_f64() * 1000.0);
        }
    }
    let background = background.await??;
    drop(drained);
    Ok(AssignmentFigures {
        unassigned: opened.saturating_sub(latency.0.len()),
        latency,
        opened,
        agents,
        background,
    })
}

/// Reports (conversation display id, arrival) for every `conversation_updated` frame that
/// gives a conversation an assignee.
fn watch_assignments(ws: load::Socket, out: mpsc::UnboundedSender<(i64, Instant)>) {
    load::watch_frames(ws, out, |v| {
        if v["event"] != "conversation_updated" {
            return None;
        }
        let assigned = v["data"]["changed_attributes"]
            .as_array()
            .is_some_and(|changes| {
                changes
                    .iter()
                    .any(|c| !c["assignee_id"]["current_value"].is_null())
            });
        v["data"]["id"].as_i64().filter(|_| assigned)
    });
}
