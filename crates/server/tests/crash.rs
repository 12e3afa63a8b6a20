//! "No lost message" under the worst stop there is: `throughline serve` killed with SIGKILL at
//! random moments while a provider keeps sending, restarted, and sent again everything it did
//! not acknowledge — on SQLite and on PostgreSQL. An automation rule runs on every message
//! meanwhile: killed between matching and acting, it still acts exactly once per message.
//!
//! `THROUGHLINE_CRASH_MESSAGES` and `THROUGHLINE_CRASH_KILLS` make a longer run locally.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use throughline_store::testing::TestDatabase;
use throughline_testkit::Backend;
use throughline_testkit::process::ServerProcess;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::remote::Remote;

const BIN: &str = env!("CARGO_BIN_EXE_throughline");
const ADMIN: &str = "crash@acme.test";
const PASSWORD: &str = "a crash-test passphrase";
/// The inbox's greeting.
const GREETING: &str = "Olá! We got your message.";

/// What the automation rule writes on every customer message.
const NOTE: &str = "automation saw it";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the provider knows: which of its messages got a 2xx.
#[derive(Default)]
struct Ledger {
    acknowledged: Mutex<BTreeSet<usize>>,
    unacknowledged: Mutex<BTreeSet<usize>>,
}

fn external_id(i: usize) -> String {
    format!("crash-{i:05}")
}

/// One provider delivery; true on a 2xx.
async fn deliver(api: &Remote, conversations: &[i64], i: usize) -> bool {
    let conversation = conversations[i % conversations.len()];
    let sent = api
        .client
        .post(api.url(&format!("/conversations/{conversation}/messages")))
        .header("api_access_token", &api.token)
        .json(&json!({
            "content": format!("message {i}"),
            "message_type": "incoming",
            "source_id": external_id(i),
        }))
        .send()
        .await;
    matches!(sent, Ok(r) if r.status().is_success())
}

/// Every item of a list answered newest or oldest first in pages of `{"payload": [...]}`,
/// following `before=` with the id of each page's oldest item.
async fn all_pages(api: &Remote, first: &str) -> Vec<serde_json::Value> {
    let separator = if first.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let page = match before {
            Some(b) => format!("{first}{separator}before={b}"),
            None => first.to_owned(),
        };
        let list = api.get(&page).await["payload"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // Messages come oldest first, runs newest first: the smallest id pages on.
        let Some(oldest) = list.iter().filter_map(|i| i["id"].as_i64()).min() else {
            break;
        };
        before = Some(oldest);
        all.extend(list);
    }
    all
}

async fn all_messages(api: &Remote, conversation: i64) -> Vec<serde_json::Value> {
    all_pages(api, &format!("/conversations/{conversation}/messages")).await
}

async fn acknowledged_messages_survive_sigkill(backend: Backend) {
    let total = setting("THROUGHLINE_CRASH_MESSAGES", 400);
    let kills = setting("THROUGHLINE_CRASH_KILLS", 5);
    let seed: u64 = rand::random();
    eprintln!("crash test: {total} messages, {kills} kills, seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let db = TestDatabase::new(backend).await;
    let receiver = Receiver::start(Behaviour::Accept).await;
    let env = [
        ("THROUGHLINE_ADMIN_EMAIL", ADMIN),
        ("THROUGHLINE_ADMIN_PASSWORD", PASSWORD),
        ("THROUGHLINE_WEBHOOK_RETRY_BASE_MS", "50"),
        ("THROUGHLINE_DELIVERY_LEASE_MS", "1500"),
    ];
    let server = ServerProcess::start(Path::new(BIN), &db, "127.0.0.1:0", &env);
    let api = Remote::sign_in(&server.url, ADMIN, PASSWORD).await;
    api.post(
        "/webhooks",
        json!({"url": receiver.url, "subscriptions": ["message_created"]}),
    )
    .await;
    let inbox = api
        .post(
            "/inboxes",
            // The greeting is claimed in the consumer's transaction: once per conversation,
            // whatever the kills interrupt.
            json!({"name": "Provider", "channel": {"type": "api"},
                   "greeting_enabled": true, "greeting_message": GREETING}),
        )
        .await;
    let rule = api
        .post(
            "/automation_rules",
            json!({"name": "Note every message", "event_name": "message_created",
                   "conditions": [{"attribute_key": "message_type", "filter_operator": "equal_to",
                                   "values": ["incoming"]}],
                   "actions": [{"action_name": "add_private_note", "action_params": [NOTE]}]}),
        )
        .await;
    let rule_id = rule["id"].as_i64().unwrap();
    let mut conversations = Vec::new();
    for n in 0..4 {
        let inbox_id = inbox["id"].as_i64().unwrap();
        conversations.push(api.conversation(inbox_id, &format!("Customer {n}")).await);
    }

    // The provider: four senders at a steady pace, noting what was acknowledged.
    let api = Arc::new(api);
    let conversations = Arc::new(conversations);
    let ledger = Arc::new(Ledger::default());
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (api, conversations, ledger, next) = (
            api.clone(),
            conversations.clone(),
            ledger.clone(),
            next.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                if deliver(&api, &conversations, i).await {
                    ledger.acknowledged.lock().unwrap().insert(i);
                } else {
                    ledger.unacknowledged.lock().unwrap().insert(i);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }));
    }

    // The crash: SIGKILL at random moments while the senders run, then a restart.
    // Kills that land after the last send still test the outbox's recovery.
    let server = Arc::new(Mutex::new(server));
    let killer = {
        let server = server.clone();
        let pauses: Vec<u64> = (0..kills).map(|_| rng.random_range(150..600)).collect();
        tokio::spawn(async move {
            let mut done = 0;
            for pause in pauses {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let server = server.clone();
                tokio::task::spawn_blocking(move || {
                    let mut s = server.lock().unwrap();
                    s.kill();
                    s.restart();
                })
                .await
                .unwrap();
                done += 1;
            }
            done
        })
    };
    for s in senders {
        s.await.unwrap();
    }
    let killed = killer.await.unwrap();
    assert_eq!(killed, kills, "every planned kill happened");

    // The provider retries what it was not sure of, until each is acknowledged.
    let pending: Vec<usize> = ledger
        .unacknowledged
        .lock()
        .unwrap()
        .iter()
        .copied()
        .collect();
    eprintln!(
        "crash test: {} acknowledged before the resend, {} to resend",
        ledger.acknowledged.lock().unwrap().len(),
        pending.len()
    );
    for i in pending {
        let mut tries = 0;
        while !deliver(&api, &conversations, i).await {
            tries += 1;
            assert!(tries < 100, "message {i} is never acknowledged");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Every message stored exactly once.
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for conversation in conversations.iter() {
        for m in all_messages(&api, *conversation).await {
            if let Some(ext) = m["source_id"].as_str() {
                stored
                    .entry(ext.to_owned())
                    .or_default()
                    .push(m["id"].as_i64().unwrap());
            }
        }
    }
    for i in 0..total {
        let ids = stored.get(&external_id(i)).cloned().unwrap_or_default();
        assert_eq!(ids.len(), 1, "message {i} stored {} times", ids.len());
    }
    assert_eq!(stored.len(), total, "nothing stored that was not sent");

    // The rule acted once per message, whatever the kills interrupted: its log, its notes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut runs = all_pages(&api, &format!("/automation_rules/{rule_id}/runs?limit=100")).await;
    while runs.len() < total && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        runs = all_pages(&api, &format!("/automation_rules/{rule_id}/runs?limit=100")).await;
    }
    assert_eq!(runs.len(), total, "one run of the rule per message");
    assert!(runs.iter().all(|r| r["outcome"] == "acted"), "{runs:?}");
    let mut notes = 0;
    for conversation in conversations.iter() {
        notes += all_messages(&api, *conversation)
            .await
            .iter()
            .filter(|m| m["content"] == NOTE && m["private"] == true)
            .count();
    }
    assert_eq!(notes, total, "one note per message, never two");
    for conversation in conversations.iter() {
        let greetings = all_messages(&api, *conversation)
            .await
            .iter()
            .filter(|m| m["content"] == GREETING && m["message_type"] == 3)
            .count();
        assert_eq!(
            greetings, 1,
            "conversation {conversation}: one greeting, never two"
        );
    }

    // Every event delivered at least once, and one delivery id per event, so a receiver that
    // deduplicates by it processes each exactly once.
    let message_ids: BTreeSet<i64> = stored.values().flatten().copied().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let by_delivery = loop {
        let mut by_delivery: BTreeMap<String, i64> = BTreeMap::new();
        for r in receiver.received() {
            if r.body["event"] != "message_created" {
                continue;
            }
            let delivery = r.header("x-throughline-delivery").unwrap();
            let message = r.body["id"].as_i64().unwrap();
            if let Some(previous) = by_delivery.insert(delivery.clone(), message) {
                assert_eq!(
                    previous, message,
                    "delivery {delivery} carried two messages"
                );
            }
        }
        let delivered: BTreeSet<i64> = by_delivery.values().copied().collect();
        if message_ids.is_subset(&delivered) || tokio::time::Instant::now() > deadline {
            break by_delivery;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut deliveries_per_message: BTreeMap<i64, usize> = BTreeMap::new();
    for message in by_delivery.values() {
        *deliveries_per_message.entry(*message).or_default() += 1;
    }
    let missing: Vec<_> = message_ids
        .iter()
        .filter(|m| !deliveries_per_message.contains_key(m))
        .collect();
    assert!(missing.is_empty(), "events never delivered: {missing:?}");
    let doubled: Vec<_> = deliveries_per_message
        .iter()
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "one event got several delivery ids: {doubled:?}"
    );

    // No conversation in an impossible state.
    for conversation in conversations.iter() {
        let c = api.get(&format!("/conversations/{conversation}")).await;
        assert_eq!(c["status"], "open", "{c}");
        let last = c["last_activity_at"].as_i64().unwrap();
        let newest = api
            .get(&format!("/conversations/{conversation}/messages"))
            .await["payload"]
            .as_array()
            .and_then(|l| l.last().cloned())
            .unwrap();
        assert!(
            last >= newest["created_at"].as_i64().unwrap(),
            "last activity {last} before the newest message {newest}"
        );
    }
    let s = Arc::try_unwrap(server).ok().unwrap().into_inner().unwrap();
    assert!(s.terminate().success());
}

throughline_testkit::on_both_databases!(acknowledged_messages_survive_sigkill);
