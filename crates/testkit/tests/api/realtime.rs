//! The realtime sockets over real WebSocket connections: agents and visitors see each other's
//! messages and typing live, resume after a disconnect, and see only what they may.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::{Refused, WsClient};
use throughline_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    agents_and_visitors_talk_live,
    a_reconnecting_client_gets_what_it_missed,
    each_socket_sees_only_what_its_owner_may,
    sockets_refuse_strangers_and_survive_bad_frames,
    a_thousand_visitors_each_get_their_own_reply_and_nothing_else,
    a_client_away_past_the_pruned_outbox_refetches,
);

const WAIT: Duration = Duration::from_secs(10);

async fn agent_socket(t: &TestApp, token: &str, after: Option<i64>) -> (WsClient, Value) {
    let path = match after {
        Some(a) => format!("/api/v1/realtime?after={a}"),
        None => "/api/v1/realtime".into(),
    };
    let mut ws = WsClient::connect(&t.ws_url(&path), &[("api_access_token", token)])
        .await
        .unwrap_or_else(|e| panic!("agent socket refused: {e:?}"));
    let ready = ws.until("ready", WAIT).await;
    (ws, ready)
}

async fn visitor_socket(t: &TestApp, ident: &str, source: &str) -> (WsClient, Value) {
    let url = t.ws_url(&format!(
        "/public/api/v1/inboxes/{ident}/contacts/{source}/realtime"
    ));
    let mut ws = WsClient::connect(&url, &[])
        .await
        .unwrap_or_else(|e| panic!("visitor socket refused: {e:?}"));
    let ready = ws.until("ready", WAIT).await;
    (ws, ready)
}

fn ident(inbox: &Value) -> String {
    inbox["inbox_identifier"].as_str().unwrap().to_owned()
}

async fn agents_and_visitors_talk_live(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "first").await;
    let ident = ident(&inbox);
    let public = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}",
        th.source_id, th.conversation_id
    );
    let before = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(before["agents_online"], false, "no agent connected yet");

    let token = t.token.clone();
    let (mut agent, ready) = agent_socket(&t, &token, None).await;
    assert!(ready["last_event_id"].as_i64().unwrap() > 0);
    let (mut visitor, vready) = visitor_socket(&t, &ident, &th.source_id).await;
    assert_eq!(vready["agents_online"], true, "the administrator is online");
    let now = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(now["agents_online"], true);

    // The customer writes: the agent's tab hears it without asking.
    t.call(
        "POST",
        &format!("{public}/messages"),
        None,
        Some(json!({"content": "Olá, preciso de ajuda"})),
    )
    .await
    .expect(200);
    let f = agent.next_event(WAIT).await.unwrap();
    assert_eq!(f["event"], "message_created");
    assert_eq!(f["conversation_id"], th.conversation_id);
    assert_eq!(f["data"]["content"], "Olá, preciso de ajuda");
    assert_eq!(f["data"]["message_type"], 0);
    // The visitor's own message comes back on its socket too (other tabs of the same visitor).
    let own = visitor.next_event(WAIT).await.unwrap();
    assert_eq!(own["data"]["content"], "Olá, preciso de ajuda");

    // The customer types; the agent sees it, with the customer's name.
    visitor
        .send_json(&json!({"type": "typing", "conversation_id": th.conversation_id, "on": true}))
        .await;
    let typing = agent.until("typing", WAIT).await;
    assert_eq!(typing["who"]["type"], "contact");
    assert_eq!(typing["conversation_id"], th.conversation_id);
    assert_eq!(typing["on"], true);

    // The agent types and replies; a private note in between never reaches the visitor.
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_typing_status",
            th.conversation_id
        )),
        json!({"typing_status": "on"}),
    )
    .await;
    let typing = visitor.until("typing", WAIT).await;
    assert_eq!(typing["who"]["type"], "user");
    assert_eq!(typing["who"]["name"], "Administrator");
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    t.post(
        &messages,
        json!({"content": "nota interna", "private": true}),
    )
    .await;
    t.post(&messages, json!({"content": "Claro! Como posso ajudar?"}))
        .await;
    let reply = visitor.next_event(WAIT).await.unwrap();
    assert_eq!(reply["event"], "message_created");
    assert_eq!(
        reply["data"]["content"], "Claro! Como posso ajudar?",
        "the note was skipped"
    );
    assert_eq!(reply["data"]["sender"]["name"], "Administrator");
    assert!(
        !reply.to_string().contains(ADMIN_EMAIL),
        "a visitor never learns an agent's email: {reply}"
    );
    let note = agent.next_event(WAIT).await.unwrap();
    assert_eq!(
        (
            note["data"]["content"].clone(),
            note["data"]["private"].clone()
        ),
        (json!("nota interna"), json!(true))
    );

    // Resolving reaches both.
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    let status = visitor.next_event(WAIT).await.unwrap();
    assert_eq!(status["event"], "conversation_status_changed");
    assert_eq!(status["data"]["status"], "resolved");

    // An agent who chooses "busy" is not offered to visitors as available.
    agent
        .send_json(&json!({"type": "presence", "status": "busy"}))
        .await;
    let p = visitor.until("presence", WAIT).await;
    assert_eq!(p["status"], "busy");
    let busy = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(busy["agents_online"], false);
    agent.close().await;
    visitor.close().await;
}

async fn a_reconnecting_client_gets_what_it_missed(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "first").await;
    let ident = ident(&inbox);
    let token = t.token.clone();
    let (agent, ready) = agent_socket(&t, &token, None).await;
    let seen = ready["last_event_id"].as_i64().unwrap();
    let (visitor, vready) = visitor_socket(&t, &ident, &th.source_id).await;
    let vseen = vready["last_event_id"].as_i64().unwrap();
    agent.close().await;
    visitor.close().await;

    // While both are away: two replies and a note.
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    t.post(&messages, json!({"content": "one"})).await;
    t.post(&messages, json!({"content": "note", "private": true}))
        .await;
    t.post(&messages, json!({"content": "two"})).await;

    let url = t.ws_url(&format!("/api/v1/realtime?after={seen}"));
    let mut agent = WsClient::connect(&url, &[("api_access_token", &token)])
        .await
        .unwrap();
    let mut missed = Vec::new();
    loop {
        let f = agent.next_event(WAIT).await.unwrap();
        if f["type"] == "ready" {
            break;
        }
        if f["event"] == "message_created" {
            missed.push(f["data"]["content"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(missed, ["one", "note", "two"], "in order, notes included");
    let url = t.ws_url(&format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/realtime?after={vseen}",
        th.source_id
    ));
    let mut visitor = WsClient::connect(&url, &[]).await.unwrap();
    let mut missed = Vec::new();
    loop {
        let f = visitor.next_event(WAIT).await.unwrap();
        if f["type"] == "ready" {
            break;
        }
        missed.push(f["data"]["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(missed, ["one", "two"], "the visitor never gets the note");

    // After the replay the stream is live.
    for i in 0..3 {
        t.post(&messages, json!({"content": format!("more {i}")}))
            .await;
    }
    let live = agent.next_event(WAIT).await.unwrap();
    assert_eq!(live["data"]["content"], "more 0");
    agent.close().await;
}

async fn each_socket_sees_only_what_its_owner_may(b: Backend) {
    let t = TestApp::start(b).await;
    let sales = t.api_inbox("Sales", None).await;
    let support = t.api_inbox("Support", None).await;
    let (agent_id, agent_token) = t.agent("agent@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": support["id"], "user_ids": [agent_id]}),
    )
    .await;
    // What each socket sees, without auto-assignment's own events in between.
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", support["id"])),
        Some(json!({"enable_auto_assignment": false})),
    )
    .await
    .expect(200);
    let (mut agent, _) = agent_socket(&t, &agent_token, None).await;

    let customer = thread(&t, &sales, "hello sales").await;
    let other = thread(&t, &sales, "hello from someone else").await;
    let (mut visitor, _) = visitor_socket(&t, &ident(&sales), &customer.source_id).await;

    // A message in Sales (not the agent's inbox), then one in Support as a marker.
    let sales_messages = t.acc(&format!(
        "/conversations/{}/messages",
        other.conversation_id
    ));
    t.post(
        &sales_messages,
        json!({"content": "for the other customer"}),
    )
    .await;
    let mine = thread(&t, &support, "hello support").await;
    // Contacts belong to the whole account (as in Chatwoot); conversations to an inbox.
    let f = loop {
        let f = agent.next_event(WAIT).await.unwrap();
        if !f["event"].as_str().unwrap().starts_with("contact_") {
            break f;
        }
    };
    assert_eq!(f["event"], "conversation_created", "{f}");
    assert_eq!(
        f["conversation_id"], mine.conversation_id,
        "nothing from Sales came first"
    );
    let f = agent.next_event(WAIT).await.unwrap();
    assert_eq!(f["data"]["content"], "hello support");

    // The visitor did not get the other customer's reply; its own reply arrives first.
    let own = t.acc(&format!(
        "/conversations/{}/messages",
        customer.conversation_id
    ));
    t.post(&own, json!({"content": "for you"})).await;
    let f = visitor.next_event(WAIT).await.unwrap();
    assert_eq!(f["data"]["content"], "for you", "{f}");

    // Typing about a conversation the agent cannot see is refused on the socket.
    agent
        .send_json(&json!({"type": "typing", "conversation_id": other.conversation_id, "on": true}))
        .await;
    let err = agent.until("error", WAIT).await;
    assert!(
        err["message"].as_str().unwrap().contains("not be found"),
        "{err}"
    );
}

async fn sockets_refuse_strangers_and_survive_bad_frames(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site", None).await;
    let th = thread(&t, &inbox, "hi").await;
    let ident = ident(&inbox);

    let anonymous = WsClient::connect(&t.ws_url("/api/v1/realtime"), &[]).await;
    assert!(
        matches!(anonymous, Err(Refused::Status(401))),
        "{:?}",
        anonymous.err()
    );
    let wrong = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", "nope")],
    )
    .await;
    assert!(matches!(wrong, Err(Refused::Status(401))));
    let stranger = t.ws_url(&format!(
        "/public/api/v1/inboxes/{ident}/contacts/not-a-visitor/realtime"
    ));
    assert!(matches!(
        WsClient::connect(&stranger, &[]).await,
        Err(Refused::Status(404))
    ));

    // The session cookie opens a stream only from our own pages.
    let cookie = t
        .client
        .post(t.url("/auth/sign_in"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tl_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap();
    let cross = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    )
    .await;
    assert!(
        matches!(cross, Err(Refused::Status(403))),
        "{:?}",
        cross.err()
    );
    let own_origin = t.base.clone();
    let mut ws = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("cookie", &cookie), ("origin", &own_origin)],
    )
    .await
    .unwrap();
    ws.until("ready", WAIT).await;

    // Nonsense gets an error frame; the socket stays usable.
    ws.send_json(&json!({"type": "dance"})).await;
    let err = ws.until("error", WAIT).await;
    assert!(
        err["message"].as_str().unwrap().contains("not understood"),
        "{err}"
    );
    ws.send_json(&json!({"type": "typing", "conversation_id": "x"}))
        .await;
    ws.until("error", WAIT).await;
    ws.send_json(&json!({"type": "ping"})).await;
    ws.until("pong", WAIT).await;

    // A visitor may not set presence, nor type in someone else's conversation.
    let (mut visitor, _) = visitor_socket(&t, &ident, &th.source_id).await;
    visitor
        .send_json(&json!({"type": "presence", "status": "busy"}))
        .await;
    visitor.until("error", WAIT).await;
    let someone = thread(&t, &inbox, "other").await;
    visitor
        .send_json(
            &json!({"type": "typing", "conversation_id": someone.conversation_id, "on": true}),
        )
        .await;
    let err = visitor.until("error", WAIT).await;
    assert!(
        err["message"].as_str().unwrap().contains("not be found"),
        "{err}"
    );

    // An oversized frame closes the socket (the protocol limit), the server carries on.
    let huge = "x".repeat(64 * 1024);
    visitor
        .send_json(&json!({"type": "ping", "pad": huge}))
        .await;
    assert_eq!(visitor.next_json(WAIT).await, None, "closed");
    t.call("GET", "/healthz", None, None).await.expect(200);
}

async fn a_thousand_visitors_each_get_their_own_reply_and_nothing_else(b: Backend) {
    const VISITORS: usize = 1000;
    let t = Arc::new(TestApp::start(b).await);
    let inbox = t.api_inbox("Site", None).await;
    let ident = ident(&inbox);

    // Visitors arrive: a contact and a conversation each.
    let mut visitors = Vec::with_capacity(VISITORS);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..VISITORS {
        let t = t.clone();
        let ident = ident.clone();
        batch.spawn(async move {
            let contact = t
                .call(
                    "POST",
                    &format!("/public/api/v1/inboxes/{ident}/contacts"),
                    None,
                    Some(json!({"name": format!("Visitor {i}")})),
                )
                .await
                .expect(200);
            let source = contact["source_id"].as_str().unwrap().to_owned();
            let conv = t
                .call(
                    "POST",
                    &format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"),
                    None,
                    Some(json!({})),
                )
                .await
                .expect(200);
            (i, source, conv["id"].as_i64().unwrap())
        });
        if batch.len() >= 32 {
            visitors.push(batch.join_next().await.unwrap().unwrap());
        }
    }
    while let Some(v) = batch.join_next().await {
        visitors.push(v.unwrap());
    }

    // All of them connected at once.
    let (go_marker, marker) = tokio::sync::watch::channel(false);
    let (replied_tx, mut replied) = tokio::sync::mpsc::channel::<()>(VISITORS);
    let mut sockets = tokio::task::JoinSet::new();
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel::<()>(VISITORS);
    for (i, source, conversation) in visitors.clone() {
        let url = t.ws_url(&format!(
            "/public/api/v1/inboxes/{ident}/contacts/{source}/realtime"
        ));
        let mut marker = marker.clone();
        let replied_tx = replied_tx.clone();
        let connected_tx = connected_tx.clone();
        sockets.spawn(async move {
            let mut ws = WsClient::connect(&url, &[]).await.unwrap();
            ws.until("ready", WAIT).await;
            connected_tx.send(()).await.unwrap();
            let long = Duration::from_secs(120);
            let reply = ws.next_json(long).await.unwrap();
            assert_eq!(reply["type"], "event", "visitor {i}: {reply}");
            assert_eq!(
                reply["conversation_id"], conversation,
                "visitor {i} got someone else's: {reply}"
            );
            assert_eq!(reply["data"]["content"], format!("Reply for visitor {i}"));
            replied_tx.send(()).await.unwrap();
            // Every reply has been routed before the marker below is published, and the hub
            // keeps order: the next frame being the marker proves nothing else was queued.
            marker.wait_for(|go| *go).await.unwrap();
            let next = ws.next_json(long).await.unwrap();
            assert_eq!(
                next["type"], "presence",
                "visitor {i} got more than its reply: {next}"
            );
            ws.close().await;
        });
    }
    for _ in 0..VISITORS {
        connected.recv().await.unwrap();
    }
    let (open_agents, open_visitors) = t.app.hub.connections();
    assert_eq!((open_agents, open_visitors), (0, VISITORS));

    // The agent answers each one.
    let mut answers = tokio::task::JoinSet::new();
    for (i, _, conversation) in visitors {
        let t = t.clone();
        answers.spawn(async move {
            t.post(
                &t.acc(&format!("/conversations/{conversation}/messages")),
                json!({"content": format!("Reply for visitor {i}")}),
            )
            .await;
        });
        if answers.len() >= 32 {
            answers.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = answers.join_next().await {
        r.unwrap();
    }
    for _ in 0..VISITORS {
        replied.recv().await.unwrap();
    }
    // The marker: an agent coming online is announced to every visitor of the inbox.
    go_marker.send(true).unwrap();
    let token = t.token.clone();
    let (_agent, _) = agent_socket(&t, &token, None).await;
    while let Some(r) = sockets.join_next().await {
        r.unwrap();
    }
}

/// Events every consumer passed are pruned after the resume window; a client resuming from
/// before them is told to refetch rather than handed a history with a hole in it. One
/// resuming from what is still kept replays as before.
async fn a_client_away_past_the_pruned_outbox_refetches(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    thread(&t, &inbox, "before the gap").await;
    // Both durable consumers pass these events.
    let consumers_done = || async {
        let mut conn = t.app.store.read().await.unwrap();
        let newest = throughline_store::outbox::last_id(&mut conn).await.unwrap();
        let slowest: Option<i64> = sqlx::query_scalar("SELECT MIN(event_id) FROM consumer_cursors")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        (slowest == Some(newest)).then_some(newest)
    };
    let seen = t
        .eventually(WAIT, "the consumers to catch up", consumers_done)
        .await;
    let pruned = {
        let mut conn = t.app.store.read().await.unwrap();
        throughline_store::outbox::prune(&mut conn, throughline_store::now_ms() + 1, 10_000)
            .await
            .unwrap()
    };
    assert!(pruned > 0);
    thread(&t, &inbox, "after the gap").await;
    let url = t.ws_url("/api/v1/realtime?after=1");
    let mut again = WsClient::connect(&url, &[("api_access_token", &t.token)])
        .await
        .unwrap();
    let frame = again.next_json(WAIT).await.unwrap();
    assert_eq!(frame["type"], "resync", "{frame}");
    // From the last pruned event on, nothing is missing: a normal replay.
    let url = t.ws_url(&format!("/api/v1/realtime?after={seen}"));
    let mut resumed = WsClient::connect(&url, &[("api_access_token", &t.token)])
        .await
        .unwrap();
    let frame = resumed.next_json(WAIT).await.unwrap();
    assert_ne!(frame["type"], "resync", "{frame}");
}
