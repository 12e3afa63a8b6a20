//! An inbox's agent bot over real sockets: events signed at its `outgoing_url`, answers with its
//! own token, the conversation held (`pending`, never routed) until the bot hands it over — or
//! until the bot cannot be reached, when the team gets it instead of the customer waiting.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Received, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::routing::{WAIT, assignee, eventually_assigned, online};
use crate::thread;

on_both_databases!(
    a_bot_holds_the_conversation_until_it_hands_over,
    an_unreachable_bot_leaves_the_conversation_to_the_team,
    a_bot_hears_the_widget_opened,
);

/// An inbox with `agent` as its member and a bot at `url` connected to it; the bot's view
/// (with its `access_token` and `secret`).
async fn inbox_with_bot(t: &TestApp, agent: i64, url: &str) -> (Value, Value) {
    let inbox = t.api_inbox("Bot desk", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [agent]}),
    )
    .await;
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Helper", "outgoing_url": url}),
        )
        .await;
    let set = t
        .admin(
            "POST",
            &t.acc(&format!("/inboxes/{}/set_agent_bot", inbox["id"])),
            Some(json!({"agent_bot": bot["id"]})),
        )
        .await;
    assert!((200..300).contains(&set.status), "{set:?}");
    (inbox, bot)
}

/// The deliveries `rx` got of `event`, waiting until there are at least `n`.
async fn deliveries(rx: &Receiver, event: &str, n: usize) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got: Vec<Received> = rx
            .received()
            .into_iter()
            .filter(|r| r.body["event"] == event)
            .collect();
        if got.len() >= n || tokio::time::Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn signed_with(d: &Received, secret: &str) -> bool {
    let Some(ts) = d
        .header("x-chatwoot-timestamp")
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    d.header("x-chatwoot-signature")
        == Some(throughline_core::webhook::signature(secret, ts, &d.raw))
}

async fn a_bot_holds_the_conversation_until_it_hands_over(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let _ana_online = online(&t, &ana_token).await;
    let bot_rx = Receiver::start(Behaviour::Accept).await;
    let (inbox, bot) = inbox_with_bot(&t, ana, &bot_rx.url).await;
    let secret = bot["secret"].as_str().unwrap();
    let bot_token = bot["access_token"].as_str().unwrap();

    let th = thread(&t, &inbox, "Quero saber do meu pedido").await;
    let got = deliveries(&bot_rx, "message_created", 1).await;
    let first = got
        .iter()
        .find(|d| d.body["content"] == "Quero saber do meu pedido")
        .expect("the bot is told of the customer's message");
    assert!(signed_with(first, secret), "{:?}", first.headers);
    assert_eq!(first.body["message_type"], "incoming");
    assert_eq!(first.body["conversation"]["id"], json!(th.conversation_id));
    assert_eq!(first.body["conversation"]["status"], "pending");
    assert!(first.header("x-chatwoot-delivery").is_some());

    // Ana is online with capacity, yet the bot's conversation is not routed to her.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let held = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await;
    assert_eq!(held["status"], "pending");
    assert_eq!(assignee(&t, th.conversation_id).await, Value::Null);

    // The bot answers with its own token; its reply reaches the bot too (Chatwoot's), as
    // outgoing, so a bot acts only on incoming messages.
    let messages = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    t.call(
        "POST",
        &messages,
        Some(bot_token),
        Some(json!({"content": "Posso ajudar! Qual é o número do pedido?"})),
    )
    .await
    .expect(200);
    let replies = deliveries(&bot_rx, "message_created", 2).await;
    assert!(
        replies.iter().any(
            |d| d.body["message_type"] == "outgoing" && d.body["sender"]["type"] == "agent_bot"
        ),
        "{:?}",
        replies.iter().map(|d| &d.body).collect::<Vec<_>>()
    );

    // The handover: routing gives the conversation to Ana, and the bot hears it opened.
    t.call(
        "POST",
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        Some(bot_token),
        Some(json!({"status": "open"})),
    )
    .await
    .expect(200);
    assert_eq!(
        eventually_assigned(&t, th.conversation_id, "routed after the handover").await,
        ana
    );
    let opened = deliveries(&bot_rx, "conversation_opened", 1).await;
    assert_eq!(opened.len(), 1, "the bot hears the handover once");
    assert_eq!(opened[0].body["id"], json!(th.conversation_id));
    assert_eq!(opened[0].body["status"], "open");
    assert!(signed_with(&opened[0], secret));

    // A private note is not a customer's message, but Chatwoot tells bots of it too: a bot
    // must read `message_type` and `private`. Resolving reaches the bot as well.
    t.post(
        &t.acc(&format!(
            "/conversations/{}/toggle_status",
            th.conversation_id
        )),
        json!({"status": "resolved"}),
    )
    .await;
    let resolved = deliveries(&bot_rx, "conversation_resolved", 1).await;
    assert_eq!(resolved.len(), 1);
}

async fn an_unreachable_bot_leaves_the_conversation_to_the_team(b: Backend) {
    let t = TestApp::start(b).await;
    let (ana, ana_token) = t.agent("ana@acme.test", "agent").await;
    let _ana_online = online(&t, &ana_token).await;
    let bot_rx = Receiver::start(Behaviour::AlwaysFail).await;
    let (inbox, _bot) = inbox_with_bot(&t, ana, &bot_rx.url).await;

    let th = thread(&t, &inbox, "Czy ktoś tam jest?").await;
    // Three attempts about three seconds apart, each the same delivery; then the team.
    let assigned = t
        .eventually(Duration::from_secs(30), "handed to the team", || async {
            assignee(&t, th.conversation_id).await.as_i64()
        })
        .await;
    assert_eq!(assigned, ana);
    let attempts = deliveries(&bot_rx, "message_created", 3).await;
    assert_eq!(attempts.len(), 3, "asked three times, no more");
    let ids: Vec<Option<String>> = attempts
        .iter()
        .map(|d| d.header("x-chatwoot-delivery"))
        .collect();
    assert!(
        ids[0].is_some() && ids.iter().all(|i| *i == ids[0]),
        "{ids:?}"
    );
    let conversation = t
        .get(&t.acc(&format!("/conversations/{}", th.conversation_id)))
        .await;
    assert_eq!(conversation["status"], "open");
    let lines = t
        .get(&t.acc(&format!("/conversations/{}/messages", th.conversation_id)))
        .await;
    assert!(
        lines["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| { m["content_attributes"]["activity"]["kind"] == "bot_unreachable" }),
        "{lines}"
    );
    // Nothing is lost: the customer's message is there, and no more attempts follow.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(deliveries(&bot_rx, "message_created", 4).await.len(), 3);
}

/// Chatwoot's `webwidget_triggered`: the widget says the visitor opened the chat, and the
/// website inbox's bot hears it (signed, with the visitor's contact, inbox and source id and
/// the widget's `event_info`) — before the visitor wrote anything.
async fn a_bot_hears_the_widget_opened(b: Backend) {
    let t = TestApp::start(b).await;
    let bot_rx = Receiver::start(Behaviour::Accept).await;
    let site = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://acme.test"}}),
        )
        .await;
    let ident = site["inbox_identifier"].as_str().unwrap().to_owned();
    let config = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(config["agent_bot"], false, "no bot listens yet");
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Greeter", "outgoing_url": bot_rx.url}),
        )
        .await;
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/set_agent_bot", site["id"])),
        Some(json!({"agent_bot": bot["id"]})),
    )
    .await;
    let config = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(config["agent_bot"], true);

    let contact = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Visitante"})),
        )
        .await
        .expect(200);
    let source_id = contact["source_id"].as_str().unwrap();
    let events = format!("/public/api/v1/inboxes/{ident}/contacts/{source_id}/events");
    t.call(
        "POST",
        &events,
        None,
        Some(json!({"name": "webwidget.triggered",
            "event_info": {"referer": "https://acme.test/pricing", "widget_language": "pt-BR"}})),
    )
    .await
    .expect(200);
    let got = deliveries(&bot_rx, "webwidget_triggered", 1).await;
    assert_eq!(got.len(), 1, "{:?}", bot_rx.received());
    let d = &got[0];
    assert!(signed_with(d, bot["secret"].as_str().unwrap()));
    assert_eq!(d.body["source_id"], source_id);
    assert_eq!(d.body["contact"]["name"], "Visitante");
    assert_eq!(d.body["inbox"]["id"], site["id"]);
    assert_eq!(d.body["current_conversation"], Value::Null);
    assert_eq!(d.body["event_info"]["referer"], "https://acme.test/pricing");

    // Bad reports are refused, and nothing is sent for them.
    for (body, status) in [
        (json!({"name": "webwidget.closed"}), 422),
        (
            json!({"name": "webwidget.triggered", "event_info": "x"}),
            422,
        ),
        (
            json!({"name": "webwidget.triggered", "event_info": {"pad": "x".repeat(5_000)}}),
            422,
        ),
    ] {
        let a = t.call("POST", &events, None, Some(body.clone())).await;
        assert_eq!(a.status, status, "{body}: {:?}", a.body);
    }
    let unknown = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/nobody/events"),
            None,
            Some(json!({"name": "webwidget.triggered"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deliveries(&bot_rx, "webwidget_triggered", 1).await.len(), 1);
}
