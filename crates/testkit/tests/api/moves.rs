//! Merging two conversations of one customer and splitting messages out of one: messages move
//! (nothing is copied), both sides get activity lines, agents' sockets get the event, an audit
//! record stays, and the rules refuse what would mix customers or accounts.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::platform::second_account;
use crate::{Thread, thread};

on_both_databases!(
    merging_moves_every_message_and_redirects_the_customer,
    splitting_starts_a_linked_conversation,
    moves_that_would_mix_customers_or_accounts_are_refused,
);

const WAIT: Duration = Duration::from_secs(10);

/// A second conversation of the thread's visitor, with one customer message.
async fn another_conversation(t: &TestApp, th: &Thread, text: &str) -> i64 {
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    let base = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations",
        th.source_id
    );
    let conv = t
        .call("POST", &base, None, Some(json!({})))
        .await
        .expect(200);
    let id = conv["id"].as_i64().unwrap();
    customer_writes(t, th, id, text).await;
    id
}

async fn customer_writes(t: &TestApp, th: &Thread, conversation: i64, text: &str) -> Value {
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{conversation}/messages",
            th.source_id
        ),
        None,
        Some(json!({ "content": text })),
    )
    .await
    .expect(200)
}

async fn messages_of(t: &TestApp, conversation: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{conversation}/messages")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone()
}

fn contents(messages: &[Value], message_type: i64) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["message_type"] == message_type)
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn agent_socket(t: &TestApp) -> WsClient {
    let mut ws = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", &t.token)],
    )
    .await
    .unwrap();
    ws.until("ready", WAIT).await;
    ws
}

/// The next event frame named `name` on the socket.
async fn event_named(ws: &mut WsClient, name: &str) -> Value {
    loop {
        let f = ws
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("socket closed before {name}"));
        if f["type"] == "event" && f["event"] == name {
            return f;
        }
    }
}

async fn merging_moves_every_message_and_redirects_the_customer(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site chat", None).await;
    let th = thread(&t, &inbox, "my order #881 is late").await;
    let second = another_conversation(&t, &th, "any news about #881?").await;
    let first = th.conversation_id;
    t.post(
        &t.acc(&format!("/conversations/{second}/labels")),
        json!({ "labels": ["delivery"] }),
    )
    .await;
    let held: Vec<Value> = messages_of(&t, second)
        .await
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(
        held.len(),
        2,
        "the customer's message and the label's activity line"
    );
    let mut ws = agent_socket(&t).await;

    let merged = t
        .post(
            &t.acc(&format!("/conversations/{first}/merge")),
            json!({ "source_conversation_id": second }),
        )
        .await;
    assert_eq!(merged["id"], first);

    let event = event_named(&mut ws, "conversation_merged").await;
    assert_eq!(event["conversation_id"], first);
    assert_eq!(event["data"]["from_conversation_id"], second);
    assert_eq!(event["data"]["to_conversation_id"], first);
    assert_eq!(
        event["data"]["message_ids"],
        json!(held),
        "every message moves"
    );

    let in_first = messages_of(&t, first).await;
    assert_eq!(
        contents(&in_first, 0),
        ["my order #881 is late", "any news about #881?"],
        "both customer messages, in time order"
    );
    assert!(
        contents(&in_first, 2)
            .iter()
            .any(|a| a.contains(&format!("#{second} was merged into this one"))),
        "an activity line names the merged conversation: {:?}",
        contents(&in_first, 2)
    );
    let labels = t
        .get(&t.acc(&format!("/conversations/{first}/labels")))
        .await;
    assert_eq!(labels["payload"], json!(["delivery"]), "labels follow");

    let closed = t.get(&t.acc(&format!("/conversations/{second}"))).await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["additional_attributes"]["merged_into"], first);
    let left = messages_of(&t, second).await;
    assert!(contents(&left, 0).is_empty(), "nothing is copied: {left:?}");
    assert!(
        contents(&left, 2)
            .iter()
            .any(|a| a.contains(&format!("Merged into conversation #{first}")))
    );

    for c in [first, second] {
        let audit = t.get(&t.acc(&format!("/conversations/{c}/moves"))).await;
        let records = audit["payload"].as_array().unwrap();
        assert_eq!(records.len(), 1, "{audit}");
        assert_eq!(records[0]["kind"], "merge");
        assert_eq!(records[0]["from_conversation_id"], second);
        assert_eq!(records[0]["to_conversation_id"], first);
        assert!(records[0]["user_id"].as_i64().is_some(), "who merged");
    }

    // The customer's widget still holds the old conversation: it reads the merged one…
    let ident = th.inbox["inbox_identifier"].as_str().unwrap();
    let seen = t
        .call(
            "GET",
            &format!(
                "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{second}/messages",
                th.source_id
            ),
            None,
            None,
        )
        .await
        .expect(200);
    let seen: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == 0)
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["my order #881 is late", "any news about #881?"]);
    // …and what it writes lands there.
    customer_writes(&t, &th, second, "still waiting").await;
    let in_first = messages_of(&t, first).await;
    assert_eq!(contents(&in_first, 0).last().unwrap(), "still waiting");
    assert!(contents(&messages_of(&t, second).await, 0).is_empty());
}

async fn splitting_starts_a_linked_conversation(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site chat", None).await;
    let th = thread(&t, &inbox, "the invoice is wrong").await;
    let c = th.conversation_id;
    let asked = customer_writes(&t, &th, c, "also: how do I change my password?").await;
    let reply = t
        .post(
            &t.acc(&format!("/conversations/{c}/messages")),
            json!({ "content": "Invoice fixed, sending it now." }),
        )
        .await;
    let asked_id = asked["id"].as_i64().unwrap();
    let mut ws = agent_socket(&t).await;

    let created = t
        .post(
            &t.acc(&format!("/conversations/{c}/split")),
            json!({ "message_ids": [asked_id, asked_id] }),
        )
        .await;
    let new_id = created["id"].as_i64().unwrap();
    assert_ne!(new_id, c);
    assert_eq!(created["status"], "open");
    assert_eq!(created["meta"]["sender"]["id"], th.contact_id);
    assert_eq!(created["additional_attributes"]["split_from"], c);

    let event = event_named(&mut ws, "conversation_split").await;
    assert_eq!(event["conversation_id"], new_id);
    assert_eq!(event["data"]["from_conversation_id"], c);
    assert_eq!(event["data"]["message_ids"], json!([asked_id]));

    let moved = messages_of(&t, new_id).await;
    assert_eq!(contents(&moved, 0), ["also: how do I change my password?"]);
    assert!(
        contents(&moved, 2)
            .iter()
            .any(|a| a.contains(&format!("Split out of conversation #{c}")))
    );
    let stayed = messages_of(&t, c).await;
    assert_eq!(contents(&stayed, 0), ["the invoice is wrong"]);
    assert_eq!(contents(&stayed, 1), ["Invoice fixed, sending it now."]);
    assert_eq!(reply["conversation_id"], c);

    // The new conversation waits for an answer; the old one was answered.
    let new_conv = t.get(&t.acc(&format!("/conversations/{new_id}"))).await;
    assert!(
        new_conv["waiting_since"].as_i64().unwrap_or(0) > 0,
        "{new_conv}"
    );
    let audit = t
        .get(&t.acc(&format!("/conversations/{new_id}/moves")))
        .await;
    assert_eq!(audit["payload"][0]["kind"], "split");
    assert_eq!(audit["payload"][0]["message_ids"], json!([asked_id]));

    // What must stay, stays.
    let refuse = |body: Value| {
        let t = &t;
        async move {
            t.call(
                "POST",
                &t.acc(&format!("/conversations/{c}/split")),
                Some(&t.token),
                Some(body),
            )
            .await
        }
    };
    let customer_msg = stayed.iter().find(|m| m["message_type"] == 0).unwrap()["id"].clone();
    let reply_id = reply["id"].clone();
    let all = refuse(json!({ "message_ids": [customer_msg, reply_id] })).await;
    assert_eq!(all.status, 422, "{:?}", all.body);
    assert!(all.body["message"].as_str().unwrap().contains("must stay"));
    let activity = stayed.iter().find(|m| m["message_type"] == 2).unwrap()["id"].clone();
    let a = refuse(json!({ "message_ids": [activity] })).await;
    assert_eq!(a.status, 422, "{:?}", a.body);
    let stranger = refuse(json!({ "message_ids": [asked_id] })).await;
    assert_eq!(
        stranger.status, 422,
        "a message now in the other conversation"
    );
    let empty = refuse(json!({ "message_ids": [] })).await;
    assert_eq!(empty.status, 422);
    let malformed = refuse(json!({ "message_ids": "all" })).await;
    assert_eq!(malformed.status, 422, "{:?}", malformed.body);
}

async fn moves_that_would_mix_customers_or_accounts_are_refused(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site chat", None).await;
    let ana = thread(&t, &inbox, "Ana here").await;
    let bruno = thread(&t, &inbox, "Bruno here").await;
    let merge = |target: i64, source: Value| {
        let t = &t;
        async move {
            t.call(
                "POST",
                &t.acc(&format!("/conversations/{target}/merge")),
                Some(&t.token),
                Some(json!({ "source_conversation_id": source })),
            )
            .await
        }
    };
    let other = merge(ana.conversation_id, json!(bruno.conversation_id)).await;
    assert_eq!(other.status, 422);
    assert!(
        other.body["message"]
            .as_str()
            .unwrap()
            .contains("different contacts"),
        "{:?}",
        other.body
    );
    let itself = merge(ana.conversation_id, json!(ana.conversation_id)).await;
    assert_eq!(itself.status, 422);
    let missing = merge(ana.conversation_id, json!(9999)).await;
    assert_eq!(missing.status, 422);
    let garbage = merge(ana.conversation_id, json!("x")).await;
    assert_eq!(garbage.status, 422);

    // Once merged, a conversation cannot be merged again or split.
    let second = another_conversation(&t, &ana, "again").await;
    merge(ana.conversation_id, json!(second)).await.expect(200);
    let again = merge(ana.conversation_id, json!(second)).await;
    assert_eq!(again.status, 422);
    let split_merged = t
        .call(
            "POST",
            &t.acc(&format!("/conversations/{second}/split")),
            Some(&t.token),
            Some(json!({ "message_ids": [1] })),
        )
        .await;
    assert_eq!(split_merged.status, 422);

    // Another account: its administrator cannot reach this account's conversations, and its
    // own display ids name its own conversations only.
    let beta = second_account(&t, "Beta", "admin@beta.test").await;
    let (beta_id, beta_token) = (beta.id, beta.token.as_str());
    let across = t
        .call(
            "POST",
            &t.acc(&format!("/conversations/{}/merge", bruno.conversation_id)),
            Some(beta_token),
            Some(json!({ "source_conversation_id": ana.conversation_id })),
        )
        .await;
    assert!(
        [401, 403, 404].contains(&across.status),
        "{} {:?}",
        across.status,
        across.body
    );
    let beta_merge = t
        .call(
            "POST",
            &format!("/api/v1/accounts/{beta_id}/conversations/1/merge"),
            Some(beta_token),
            Some(json!({ "source_conversation_id": ana.conversation_id })),
        )
        .await;
    assert_eq!(beta_merge.status, 404, "{:?}", beta_merge.body);
    let bruno_msgs = messages_of(&t, bruno.conversation_id).await;
    assert_eq!(contents(&bruno_msgs, 0), ["Bruno here"], "untouched");
}
