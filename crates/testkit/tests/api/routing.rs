//! Auto-assignment over the real API and sockets: a conversation that needs an agent goes to
//! an available member of its inbox at once, never past the agent's capacity, and waits when
//! nobody can take it until someone comes online or frees capacity.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    a_waiting_conversation_goes_to_an_available_agent,
    capacity_holds_and_freed_capacity_is_used,
    an_agent_going_offline_gives_back_unanswered_chats,
);

pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) async fn online(t: &TestApp, token: &str) -> WsClient {
    let mut ws = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", token)],
    )
    .await
    .unwrap_or_else(|e| panic!("agent socket refused: {e:?}"));
    ws.until("ready", WAIT).await;
    ws
}

pub(crate) async fn assignee(t: &TestApp, display_id: i64) -> Value {
    t.get(&t.acc(&format!("/conversations/{display_id}")))
        .await
        .pointer("/meta/assignee/id")
        .cloned()
        .unwrap_or(Value::Null)
}

pub(crate) async fn eventually_assigned(t: &TestApp, display_id: i64, what: &str) -> i64 {
    t.eventually(WAIT, what, || async move {
        assignee(t, display_id).await.as_i64()
    })
    .await
}

async fn a_waiting_conversation_goes_to_an_available_agent(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, _bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let inbox = t.api_inbox("Support", None).await;
    let quiet = t.api_inbox("No routing", None).await;
    for i in [&inbox, &quiet] {
        t.post(
            &t.acc("/inbox_members"),
            json!({"inbox_id": i["id"], "user_ids": [ana, bruno]}),
        )
        .await;
    }
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", quiet["id"])),
        Some(json!({"enable_auto_assignment": false})),
    )
    .await
    .expect(200);

    // Nobody is online: the conversation waits, unassigned.
    let first = thread(&t, &inbox, "Olá, preciso de ajuda").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(assignee(&t, first.conversation_id).await, Value::Null);

    // Ana comes online (Bruno never does): the waiting conversation is hers.
    let _ana_socket = online(&t, &ana_token).await;
    assert_eq!(
        eventually_assigned(
            &t,
            first.conversation_id,
            "the waiting conversation assigned"
        )
        .await,
        ana
    );
    // A new one is assigned on arrival.
    let second = thread(&t, &inbox, "Outra pergunta").await;
    assert_eq!(
        eventually_assigned(&t, second.conversation_id, "the new conversation assigned").await,
        ana
    );
    // The assignment is an activity line and an event like any other.
    let messages = t
        .get(&t.acc(&format!(
            "/conversations/{}/messages",
            second.conversation_id
        )))
        .await;
    let lines: Vec<&str> = messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == 2)
        .filter_map(|m| m["content"].as_str())
        .collect();
    // The app translates from the reason's code.
    let routed = messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content_attributes"]["activity"]["routing_reason"].is_string())
        .unwrap();
    assert_eq!(
        routed["content_attributes"]["activity"]["routing_reason"],
        "only_eligible"
    );
    // Ana was the only agent online: the line says why it is hers.
    assert!(
        lines.iter().any(|l| {
            *l == "Assigned to ana@acme.test by Throughline: the only available agent"
        }),
        "{lines:?}"
    );
    // An inbox with auto-assignment off keeps its conversations for agents to pick.
    let manual = thread(&t, &quiet, "Sem roteamento").await;
    let third = thread(&t, &inbox, "E mais uma").await;
    eventually_assigned(&t, third.conversation_id, "a later conversation assigned").await;
    assert_eq!(assignee(&t, manual.conversation_id).await, Value::Null);
}

async fn capacity_holds_and_freed_capacity_is_used(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let inbox = t.api_inbox("Bridge", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [ana]}),
    )
    .await;
    let _socket = online(&t, &ana_token).await;
    // API-channel work ("other") holds 5 at once by default.
    let mut threads = Vec::new();
    for i in 0..6 {
        threads.push(thread(&t, &inbox, &format!("pergunta {i}")).await);
    }
    let ids: Vec<i64> = threads.iter().map(|th| th.conversation_id).collect();
    t.eventually(WAIT, "five assigned", || async {
        (split(&t, &ids, ana).await.0 == 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (n, waiting) = split(&t, &ids, ana).await;
    assert_eq!((n, waiting.len()), (5, 1), "never past capacity");
    // The oldest goes first: the sixth is the one waiting.
    assert_eq!(waiting[0], threads[5].conversation_id);

    // Ana resolves one: the waiting conversation takes its place.
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            threads[0].conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    assert_eq!(
        eventually_assigned(&t, waiting[0], "the waiting one assigned after a resolve").await,
        ana
    );
}

async fn an_agent_going_offline_gives_back_unanswered_chats(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let (bruno, bruno_token) = t.agent("bruno@acme.test", "agent").await;
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    let bridge = t.api_inbox("Bridge", None).await;
    for inbox in [&site, &bridge] {
        t.post(
            &t.acc("/inbox_members"),
            json!({"inbox_id": inbox["id"], "user_ids": [ana]}),
        )
        .await;
    }
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": site["id"], "user_ids": [bruno]}),
    )
    .await;
    let mut ana_socket = online(&t, &ana_token).await;
    let waiting_chat = thread(&t, &site, "Oi, alguém aí?").await;
    let answered_chat = thread(&t, &site, "Preciso de um boleto").await;
    let message = thread(&t, &bridge, "Mensagem pelo WhatsApp").await;
    for th in [&waiting_chat, &answered_chat, &message] {
        assert_eq!(
            eventually_assigned(&t, th.conversation_id, "assigned to Ana").await,
            ana
        );
    }
    // Ana answers one chat; then she goes offline.
    t.admin(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/messages",
            answered_chat.conversation_id
        )),
        Some(json!({"content": "Claro, já envio."})),
    )
    .await
    .expect(200);
    ana_socket
        .send_json(&json!({"type": "presence", "status": "offline"}))
        .await;
    // Bruno comes online: the chat where the customer still waits for an answer is his; the
    // answered chat and the WhatsApp message stay with Ana.
    let _bruno_socket = online(&t, &bruno_token).await;
    assert_eq!(
        t.eventually(WAIT, "the unanswered chat re-queued and taken", || async {
            assignee(&t, waiting_chat.conversation_id)
                .await
                .as_i64()
                .filter(|a| *a == bruno)
        })
        .await,
        bruno
    );
    assert_eq!(
        assignee(&t, answered_chat.conversation_id).await,
        json!(ana)
    );
    assert_eq!(assignee(&t, message.conversation_id).await, json!(ana));
}

/// How many of `ids` are assigned to `agent`, and which are not.
async fn split(t: &TestApp, ids: &[i64], agent: i64) -> (usize, Vec<i64>) {
    let mut n = 0;
    let mut waiting = Vec::new();
    for id in ids {
        if assignee(t, *id).await.as_i64() == Some(agent) {
            n += 1;
        } else {
            waiting.push(*id);
        }
    }
    (n, waiting)
}
