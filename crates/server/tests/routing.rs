//! Two `throughline serve` processes on one database assign at the same time: one agent is
//! connected to each, conversations arrive through both, and still no conversation is
//! assigned twice and no agent goes past capacity — the account's routing lock holds across
//! processes (a row lock on PostgreSQL, the write lock on SQLite). And each process routes to,
//! and its live view shows, the agents connected to the other (the shared presence table).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_store::testing::TestDatabase;
use throughline_testkit::process::ServerProcess;
use throughline_testkit::remote::Remote;
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, on_both_databases};

const BIN: &str = env!("CARGO_BIN_EXE_throughline");
const ADMIN: &str = "routing@acme.test";
const PASSWORD: &str = "a routing-test passphrase";
const AGENT_PASSWORD: &str = "an agent's passphrase";
/// API-channel conversations an agent holds at once by default.
const CAPACITY: usize = 5;
const CONVERSATIONS: usize = 16;

on_both_databases!(
    two_processes_never_double_assign,
    each_process_routes_to_and_shows_the_other_process_agents
);

async fn online(base: &str, token: &str) -> WsClient {
    let url = format!("{}/api/v1/realtime", base.replacen("http", "ws", 1));
    let mut ws = WsClient::connect(&url, &[("api_access_token", token)])
        .await
        .unwrap_or_else(|e| panic!("agent socket refused: {e:?}"));
    ws.until("ready", Duration::from_secs(15)).await;
    ws
}

async fn two_processes_never_double_assign(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
    ];
    let first = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let second = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let admin = Remote::sign_in(&first.url, ADMIN, PASSWORD).await;
    let inbox = admin
        .post(
            "/inboxes",
            json!({"name": "Shared", "channel": {"type": "api"}}),
        )
        .await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let mut agents = Vec::new();
    for email in ["ana@acme.test", "bruno@acme.test"] {
        let agent = admin
            .post(
                "/agents",
                json!({"name": email, "email": email, "role": "agent", "password": AGENT_PASSWORD}),
            )
            .await;
        agents.push(agent["id"].as_i64().unwrap());
    }
    admin
        .post(
            "/inbox_members",
            json!({"inbox_id": inbox_id, "user_ids": agents}),
        )
        .await;
    // Ana works on the first process, Bruno on the second.
    let ana = Remote::sign_in(&first.url, "ana@acme.test", AGENT_PASSWORD).await;
    let bruno = Remote::sign_in(&second.url, "bruno@acme.test", AGENT_PASSWORD).await;
    let _ana_socket = online(&first.url, &ana.token).await;
    let _bruno_socket = online(&second.url, &bruno.token).await;

    // Conversations arrive through both processes at once.
    let through_second = Arc::new(Remote::sign_in(&second.url, ADMIN, PASSWORD).await);
    let through_first = Arc::new(admin);
    let mut arrivals = Vec::new();
    for n in 0..CONVERSATIONS {
        let api = if n % 2 == 0 {
            through_first.clone()
        } else {
            through_second.clone()
        };
        arrivals.push(tokio::spawn(async move {
            api.conversation(inbox_id, &format!("Customer {n}")).await
        }));
    }
    let mut ids = Vec::new();
    for a in arrivals {
        ids.push(a.await.unwrap());
    }

    let api = through_first;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let assignees = loop {
        let mut assignees = Vec::new();
        for id in &ids {
            let c = api.get(&format!("/conversations/{id}")).await;
            assignees.push(c.pointer("/meta/assignee/id").and_then(Value::as_i64));
        }
        let assigned = assignees.iter().flatten().count();
        if assigned == 2 * CAPACITY {
            break assignees;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {assigned} of {} assigned: {assignees:?}",
            2 * CAPACITY
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Let any late decision land before checking nothing went too far.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for agent in &agents {
        let held = assignees.iter().filter(|a| **a == Some(*agent)).count();
        assert!(
            held <= CAPACITY,
            "agent {agent} holds {held}: {assignees:?}"
        );
    }
    let mut assigned_lines = 0;
    for id in &ids {
        let messages = api.get(&format!("/conversations/{id}/messages")).await;
        let lines = messages["payload"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["message_type"] == 2)
            .filter(|m| {
                m["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Assigned to"))
            })
            .count();
        assert!(lines <= 1, "conversation {id} was assigned {lines} times");
        assigned_lines += lines;
    }
    assert_eq!(assigned_lines, 2 * CAPACITY);
    first.terminate();
    second.terminate();
}

async fn each_process_routes_to_and_shows_the_other_process_agents(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
    ];
    let first = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let second = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let admin = Remote::sign_in(&first.url, ADMIN, PASSWORD).await;
    let inbox_id = admin
        .post(
            "/inboxes",
            json!({"name": "Shared", "channel": {"type": "api"}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let mut agents = Vec::new();
    for email in ["ana@acme.test", "bruno@acme.test"] {
        let agent = admin
            .post(
                "/agents",
                json!({"name": email, "email": email, "role": "agent", "password": AGENT_PASSWORD}),
            )
            .await;
        agents.push(agent["id"].as_i64().unwrap());
    }
    let (ana_id, bruno_id) = (agents[0], agents[1]);
    admin
        .post(
            "/inbox_members",
            json!({"inbox_id": inbox_id, "user_ids": agents}),
        )
        .await;
    // Bruno already holds three conversations, given by hand while nobody was online.
    for n in 0..3 {
        let id = admin.conversation(inbox_id, &format!("Earlier {n}")).await;
        admin
            .post(
                &format!("/conversations/{id}/assignments"),
                json!({"assignee_id": bruno_id}),
            )
            .await;
    }
    // Ana works on the first process, Bruno on the second.
    let ana = Remote::sign_in(&first.url, "ana@acme.test", AGENT_PASSWORD).await;
    let bruno = Remote::sign_in(&second.url, "bruno@acme.test", AGENT_PASSWORD).await;
    let _ana_socket = online(&first.url, &ana.token).await;
    let _bruno_socket = online(&second.url, &bruno.token).await;
    let through_second = Remote::sign_in(&second.url, ADMIN, PASSWORD).await;
    // Each process's live view shows the agent connected to the other one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (api, other) in [(&through_second, ana_id), (&admin, bruno_id)] {
        loop {
            let live = api.get("/routing/live").await;
            let row = live["agents"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == other)
                .cloned()
                .unwrap();
            if row["presence"] == "online" {
                assert!(row["presence_since"].as_i64().is_some(), "{row}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "agent {other} never shown online on the other process: {row}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // New conversations through the second process go to Ana, the least loaded, though she
    // is connected to the first: whichever process decides sees both agents.
    for n in 0..3 {
        let id = through_second
            .conversation(inbox_id, &format!("Customer {n}"))
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let assignee = loop {
            let c = through_second.get(&format!("/conversations/{id}")).await;
            if let Some(a) = c.pointer("/meta/assignee/id").and_then(Value::as_i64) {
                break a;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "conversation {id} never assigned"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            assignee, ana_id,
            "conversation {n} went to the busier agent"
        );
    }
    first.terminate();
    second.terminate();
}
