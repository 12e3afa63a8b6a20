//! An agent bot, replayed as Chatwoot's agent-bot examples build one.
//!
//! Chatwoot's agent-bot documentation (chatwoot.com/docs/product/others/agent-bots) describes the
//! loop — the bot is connected to an inbox, new conversations there start with the bot (status
//! `pending`, formerly `bot`), the bot receives `message_created` and `message_updated` at its
//! `outgoing_url`, answers through the Application API with its own access token, and hands off by
//! toggling the status to `open` — and links two implementations, both read:
//!
//! - github.com/chatwoot/dialogflow-agent-bot-demo at commit
//!   5ab7c6a31a27a9e2365abaa5eec5f5ff5d17f2fa: `app/services/chatwoot_client.rb` (every request:
//!   RestClient with `content_type: :json, accept: :json, api_access_token: token`, which
//!   RestClient sends as `Content-Type`, `Accept` and `Api-Access-Token` headers, to
//!   `"#{CHATWOOT_URL}/#{url}"` with `url` starting with `/` — so the path starts with `//`;
//!   text, `input_select`, `form` and `cards` messages; `handoff_conversation` posts
//!   `{status: 'open'}` to `toggle_status`), `app/services/request_handler.rb` (what it reads of
//!   an event: `event`, `account.id`, `conversation.id`, `message_type` = incoming and
//!   `conversation.status`, `conversation.contact_inbox.source_id`, `content`),
//!   `app/services/auth_handler.rb`, `app/services/booking_handler.rb` (`message_updated`:
//!   `content` and `content_attributes.submitted_values`), `.env.example`
//!   (`CHATWOOT_URL=http://localhost:3000`, no trailing slash).
//! - github.com/chatwoot/rasa-agent-bot-demo at commit 1ea8c5bf898865ecad01a0bd4d668434052001e1:
//!   `rasa_flask_router.py` (reads `message_type`, `content`, `conversation.id`, `sender.id`,
//!   `account.id`; posts `{content}` with an `api_access_token` header and returns the answer's
//!   JSON).
//!
//! The bot's input is what Throughline posts to its `outgoing_url` (Chatwoot's
//! `AgentBotListener`: `message.webhook_data` with `event`, signed with the bot's secret as
//! Chatwoot 4.13 signs it); the bot's requests are driven from what those events carry. The
//! bot's set-up uses the Application API as Chatwoot's settings page does (create the bot,
//! `set_agent_bot` on the inbox); the docs' older way is the Rails console.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{Body, Replay, id_at};
use crate::thread;

on_both_databases!(agent_bot_answers_and_hands_off);

/// What the demos read of an event, shown when a check fails.
fn read_by_bot(e: &Value) -> Value {
    json!({
        "event": e["event"],
        "message_type": e["message_type"],
        "content": e["content"],
        "content_attributes": e["content_attributes"],
        "account.id": e["account"]["id"],
        "sender.id": e["sender"]["id"],
        "conversation.id": e["conversation"]["id"],
        "conversation.status": e["conversation"]["status"],
        "conversation.contact_inbox.source_id": e["conversation"]["contact_inbox"]["source_id"],
    })
}

/// The event named `event` about `content` that the webhook received, waiting up to 15 seconds
/// for it (`None` after that: the replay reports the missing event with every other failure).
async fn event(rx: &Receiver, event: &str, content: &str) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found = rx
            .received()
            .into_iter()
            .find(|r| r.body["event"] == event && r.body["content"] == content);
        if let Some(r) = found {
            return Some(r.body);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn agent_bot_answers_and_hands_off(b: Backend) {
    let t = TestApp::start(b).await;
    let bot_url = Receiver::start(Behaviour::Accept).await;
    let mut r = Replay::new(&t, "agent bot (Chatwoot's dialogflow and rasa demos)");

    // Set-up, as an administrator: an inbox, the bot, the bot connected to the inbox.
    let inbox = t.api_inbox("Bookings", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let admin: [(&str, &str); 1] = [("api_access_token", &t.token)];
    let bot = r
        .send(
            "create the agent bot",
            "POST",
            &t.acc("/agent_bots"),
            &admin,
            Body::Json(json!({"name": "Booking Bot", "outgoing_url": bot_url.url})),
        )
        .await;
    r.check(
        bot.status == 200 && bot.body["access_token"].is_string(),
        "200 with the bot's `id` and `access_token`",
    );
    let bot_id = r.need(id_at(&bot.body, "/id"), "the bot's `id`");
    let bot_token = r.need(
        bot.body["access_token"].as_str().map(str::to_owned),
        "the bot's `access_token`",
    );
    r.send(
        "connect the bot to the inbox",
        "POST",
        &t.acc(&format!("/inboxes/{inbox_id}/set_agent_bot")),
        &admin,
        Body::Json(json!({"agent_bot": bot_id})),
    )
    .await;
    r.check_success("a 2xx (Chatwoot answers 204)");

    // The dialogflow bot's requests (RestClient) and the rasa router's (requests).
    let restclient: [(&str, &str); 3] = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("api-access-token", &bot_token),
    ];
    let python: [(&str, &str); 2] = [
        ("accept", "application/json"),
        ("api_access_token", &bot_token),
    ];

    // A customer writes; the bot reads the event.
    let th = thread(&t, &inbox, "Hi, I want to book a room").await;
    let first = event(&bot_url, "message_created", "Hi, I want to book a room").await;
    let first = r.need(
        first,
        "a `message_created` event for the customer's message",
    );
    r.observe(
        "message_created reaches the bot",
        "what the bot reads of the event",
        &read_by_bot(&first),
    );
    r.check(
        first["message_type"] == "incoming"
            && first["account"]["id"] == json!(t.account_id)
            && first["conversation"]["id"] == json!(th.conversation_id)
            && first["sender"]["id"] == json!(th.contact_id)
            && first["conversation"]["contact_inbox"]["source_id"] == json!(th.source_id),
        "`message_type` incoming, `account.id`, `conversation.id`, `sender.id`, `conversation.contact_inbox.source_id`",
    );
    r.check(
        first["conversation"]["status"] == "pending",
        "`conversation.status` \"pending\": a new conversation in the bot's inbox starts with the bot (the demo answers only then)",
    );
    let secret = bot.body["secret"].as_str().unwrap_or_default().to_owned();
    let signed = bot_url.received().into_iter().find(|d| {
        d.body["event"] == "message_created" && d.body["content"] == "Hi, I want to book a room"
    });
    let verified = signed.as_ref().is_some_and(|d| {
        let timestamp = d
            .header("x-chatwoot-timestamp")
            .and_then(|t| t.parse().ok());
        timestamp.is_some_and(|ts| {
            d.header("x-chatwoot-signature")
                == Some(throughline_core::webhook::signature(&secret, ts, &d.raw))
        })
    });
    r.check(
        verified,
        "`X-Chatwoot-Signature` = sha256 HMAC of \"{timestamp}.{body}\" with the bot's `secret`",
    );
    let account = first["account"]["id"].as_i64().unwrap_or(t.account_id);
    let conversation = first["conversation"]["id"]
        .as_i64()
        .unwrap_or(th.conversation_id);
    let messages = format!("/api/v1/accounts/{account}/conversations/{conversation}/messages");

    // dialogflow: AuthHandler#prompt_auth_via_phone → ChatwootClient.send_message.
    r.send(
        "send_message (dialogflow)",
        "POST",
        &format!("/{messages}"),
        &restclient,
        Body::Json(json!({"content": "Please enter your mobile number to start the conversation"})),
    )
    .await;
    r.check_success("a 2xx (the demo ignores the body)");

    // rasa: send_to_chatwoot, whose answer's JSON the router returns.
    let rasa = r
        .send(
            "send_to_chatwoot (rasa)",
            "POST",
            &messages,
            &python,
            Body::Json(json!({"content": "Hello! I can help you book a room."})),
        )
        .await;
    r.check(
        rasa.status == 200 && rasa.body.is_object(),
        "200 with a JSON object (`r.json()`)",
    );

    // dialogflow: BookingHandler#trigger_booking → send_options_message.
    let hotels: Vec<Value> = ["Ritz-Carlton", "Marriott", "Hyatt"]
        .iter()
        .map(|h| json!({"title": h, "value": h}))
        .collect();
    r.send(
        "send_options_message (input_select)",
        "POST",
        &format!("/{messages}"),
        &restclient,
        Body::Json(json!({
            "content": "Select your hotel",
            "content_type": "input_select",
            "content_attributes": {"items": hotels},
        })),
    )
    .await;
    r.check_success("a 2xx");

    // What the agents and the customer see of the bot's messages.
    let seen = t
        .get(&t.acc(&format!("/conversations/{conversation}/messages")))
        .await;
    let bot_messages: Vec<Value> = seen["payload"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|m| m["message_type"] == 1)
                .map(|m| json!({"content": m["content"], "sender_type": m["sender_type"], "sender": m["sender"]["id"], "content_type": m["content_type"]}))
                .collect()
        })
        .unwrap_or_default();
    r.observe(
        "the bot's messages",
        "GET …/messages as an administrator",
        &json!(bot_messages),
    );
    r.check(
        bot_messages.len() == 3
            && bot_messages
                .iter()
                .all(|m| m["sender_type"] == "AgentBot" && m["sender"] == json!(bot_id)),
        "the three replies outgoing, sent by the bot (`sender_type` AgentBot)",
    );
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let public = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
        th.source_id, th.conversation_id
    );
    let widget = t.call("GET", &public, None, None).await;
    let options = widget.body.as_array().and_then(|l| {
        l.iter()
            .find(|m| m["content"] == "Select your hotel" && m["content_type"] == "input_select")
            .cloned()
    });

    // The customer picks a hotel (the Client API's message update); the bot reads the event.
    r.observe(
        "the options message reaches the customer",
        "GET …/messages on the Client API",
        &widget.body,
    );
    let options_id = r.need(
        options.as_ref().and_then(|m| m["id"].as_i64()),
        "the options message on the customer's side (Client API), with `content_type` input_select",
    );
    t.call(
        "PATCH",
        &format!("{public}/{options_id}"),
        None,
        Some(json!({"submitted_values": [{"title": "Marriott", "value": "Marriott"}]})),
    )
    .await
    .expect(200);
    let picked = event(&bot_url, "message_updated", "Select your hotel").await;
    let picked = r.need(picked, "a `message_updated` event for the options message");
    r.observe(
        "message_updated reaches the bot",
        "what the bot reads of the event",
        &read_by_bot(&picked),
    );
    r.check(
        picked["conversation"]["id"] == json!(conversation)
            && picked["content_attributes"]["submitted_values"][0]["value"] == "Marriott",
        "`content` \"Select your hotel\" and `content_attributes.submitted_values[0].value` \"Marriott\"",
    );

    // The customer asks for a person: the bot says so and hands off.
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": "I want to talk to a person"})),
    )
    .await
    .expect(200);
    let ask = event(&bot_url, "message_created", "I want to talk to a person").await;
    let ask = r.need(ask, "a `message_created` event for the customer's message");
    r.observe(
        "message_created reaches the bot",
        "what the bot reads of the event",
        &read_by_bot(&ask),
    );
    r.check(
        ask["message_type"] == "incoming" && ask["conversation"]["status"] == "pending",
        "`message_type` incoming and `conversation.status` \"pending\" (still the bot's)",
    );
    r.send(
        "send_message (handoff notice)",
        "POST",
        &format!("/{messages}"),
        &restclient,
        Body::Json(json!({"content": "Transfering the conversation to an agent. You will get a response shortly."})),
    )
    .await;
    r.check_success("a 2xx");
    r.send(
        "handoff_conversation",
        "POST",
        &format!("//api/v1/accounts/{account}/conversations/{conversation}/toggle_status"),
        &restclient,
        Body::Json(json!({"status": "open"})),
    )
    .await;
    r.check_success("a 2xx (the demo ignores the body)");
    let now = t
        .get(&t.acc(&format!("/conversations/{conversation}")))
        .await;
    r.observe(
        "after the handoff",
        "GET …/conversations/{id} as an administrator",
        &json!({"status": now["status"]}),
    );
    r.check(
        now["status"] == "open",
        "the conversation open, for the agents",
    );

    // The next customer message comes with status open: the bot stays silent.
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
            th.source_id, th.conversation_id
        ),
        None,
        Some(json!({"content": "Hello?"})),
    )
    .await
    .expect(200);
    let later = event(&bot_url, "message_created", "Hello?").await;
    let later = r.need(
        later,
        "a `message_created` event for the customer's message",
    );
    r.observe(
        "message_created after the handoff",
        "what the bot reads of the event",
        &read_by_bot(&later),
    );
    r.check(
        later["conversation"]["status"] == "open",
        "`conversation.status` \"open\": the bot leaves the conversation to the agents",
    );
    r.finish();
}
