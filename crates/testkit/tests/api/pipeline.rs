//! The rules the channel pipeline holds in one place, seen from every entry point: what a
//! visitor may see (Client API, visitor socket, socket replay), and continue-or-start
//! (email, an integration's relay, a proven visitor), on both databases.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_service::email::{Ingested, ThreadedBy};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::email::{ingest, mail};
use crate::omnichannel::{hmac_secret, verified_visitor};
use crate::thread;

on_both_databases!(
    two_unproven_identities_of_one_contact_see_only_their_own,
    continue_or_start_is_decided_alike_from_every_entry_point,
    provider_webhooks_are_verified_stored_once_and_answered_after_the_commit,
);

const WAIT: Duration = Duration::from_secs(10);

async fn visitor_socket(t: &TestApp, ident: &str, source: &str, after: Option<i64>) -> WsClient {
    let mut path = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/realtime");
    if let Some(a) = after {
        path.push_str(&format!("?after={a}"));
    }
    WsClient::connect(&t.ws_url(&path), &[])
        .await
        .unwrap_or_else(|e| panic!("visitor socket refused: {e:?}"))
}

/// Every event frame before `ready` (the replay), and the ready frame.
async fn replayed(ws: &mut WsClient) -> (Vec<Value>, Value) {
    let mut frames = Vec::new();
    loop {
        let f = ws.next_json(WAIT).await.expect("the socket closed");
        match f["type"].as_str() {
            Some("ready") => return (frames, f),
            Some("event") => frames.push(f),
            _ => {}
        }
    }
}

/// Two visitors of one inbox, each unproven, become one contact when an agent merges them:
/// neither may read what the other wrote, whichever way they ask.
async fn two_unproven_identities_of_one_contact_see_only_their_own(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Site", None).await;
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let laptop = thread(&t, &inbox, "from the laptop").await;
    let phone = thread(&t, &inbox, "from the phone").await;
    t.post(
        &t.acc("/actions/contact_merge"),
        json!({"base_contact_id": laptop.contact_id, "mergee_contact_id": phone.contact_id}),
    )
    .await;
    let merged = t
        .get(&t.acc(&format!("/conversations/{}", phone.conversation_id)))
        .await;
    assert_eq!(
        merged["meta"]["sender"]["id"].as_i64(),
        Some(laptop.contact_id),
        "one contact now holds both identities: {merged}"
    );

    // The Client API: the laptop's visitor lists and reads only its own conversation.
    let public = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}",
        laptop.source_id
    );
    let listed = t
        .call("GET", &format!("{public}/conversations"), None, None)
        .await
        .expect(200);
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [laptop.conversation_id], "{listed}");
    for path in ["", "/messages"] {
        t.call(
            "GET",
            &format!("{public}/conversations/{}{path}", phone.conversation_id),
            None,
            None,
        )
        .await
        .expect(404);
    }

    // The live socket: an agent answers the phone's conversation, then the laptop's; the
    // laptop's socket gets its own answer first and the phone's never.
    let mut live = visitor_socket(&t, &ident, &laptop.source_id, None).await;
    let (_, ready) = replayed(&mut live).await;
    let before = ready["last_event_id"].as_i64().unwrap();
    for (conversation, text) in [
        (phone.conversation_id, "for the phone"),
        (laptop.conversation_id, "for the laptop"),
    ] {
        t.post(
            &t.acc(&format!("/conversations/{conversation}/messages")),
            json!({"content": text}),
        )
        .await;
    }
    let f = live.next_event(WAIT).await.unwrap();
    assert_eq!(f["data"]["content"], "for the laptop", "{f}");
    assert_eq!(f["conversation_id"].as_i64(), Some(laptop.conversation_id));

    // The replay after a reconnect agrees with both: from the beginning, nothing of the
    // phone's conversation; from before the two answers, only the laptop's.
    for after in [0, before] {
        let mut again = visitor_socket(&t, &ident, &laptop.source_id, Some(after)).await;
        let (frames, _) = replayed(&mut again).await;
        assert!(!frames.is_empty(), "the laptop's own messages are replayed");
        for f in &frames {
            assert_eq!(
                f["conversation_id"].as_i64(),
                Some(laptop.conversation_id),
                "replayed from {after}: {f}"
            );
            assert_ne!(f["data"]["content"], "for the phone");
        }
        assert!(
            frames
                .iter()
                .any(|f| f["data"]["content"] == "for the laptop"),
            "replayed from {after}: {frames:?}"
        );
    }

    // The phone's visitor, symmetrically, never sees the laptop's answer.
    let mut other = visitor_socket(&t, &ident, &phone.source_id, Some(0)).await;
    let (frames, _) = replayed(&mut other).await;
    assert!(
        frames
            .iter()
            .all(|f| f["conversation_id"].as_i64() == Some(phone.conversation_id)),
        "{frames:?}"
    );
}

/// Bob writes by email; the shop's WhatsApp integration and its signed-in website then reach
/// him. Each entry point takes the same decision: continue his open conversation — unless it
/// says it starts a new one.
async fn continue_or_start_is_decided_alike_from_every_entry_point(b: Backend) {
    let t = TestApp::start(b).await;
    let email = t.email_inbox("Support", "support@acme.test", None).await;
    let email_id = email["id"].as_i64().unwrap();
    let relay = t.api_inbox("WhatsApp relay", None).await;
    let relay_id = relay["id"].as_i64().unwrap();
    let site = t.api_inbox("Shop", None).await;

    // 1. Email: a new subject starts a conversation.
    let first = mail(
        "Bob <bob@example.com>",
        "support@acme.test",
        "Order 77 is late",
        "bob-1@example.com",
        None,
        &[],
        "",
        "Where is my order?",
    );
    let Ingested::Message {
        display_id,
        threaded_by,
        ..
    } = ingest(&t, email_id, &first).await
    else {
        panic!("the email was not stored");
    };
    assert_eq!(threaded_by, ThreadedBy::New);

    // 2. The integration vouches for his address and relays him: his conversation continues.
    let relayed = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": relay_id, "name": "Bob", "email": "bob@example.com",
                   "source_id": "wa-bob"}),
        )
        .await;
    let bob_id = relayed["payload"]["contact"]["id"].as_i64().unwrap();
    let continued = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": relay_id, "source_id": "wa-bob"}),
        )
        .await;
    assert_eq!(continued["id"].as_i64(), Some(display_id), "{continued}");
    // Said explicitly, even with an assignee (which alone would read as an agent's start).
    let (agent_id, _) = t.agent("agent@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": relay_id, "user_ids": [agent_id]}),
    )
    .await;
    let explicit = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": relay_id, "source_id": "wa-bob", "assignee_id": agent_id,
                   "continue_conversation": true}),
        )
        .await;
    assert_eq!(explicit["id"].as_i64(), Some(display_id), "{explicit}");

    // 3. The shop's website signs him in: a proven visitor continues it too.
    let secret = hmac_secret(&t, &site).await;
    let (visitor, source) = verified_visitor(
        &t,
        &site,
        &secret,
        json!({"identifier": "shop-bob", "name": "Bob", "email": "bob@example.com"}),
    )
    .await;
    assert_eq!(visitor["id"].as_i64(), Some(bob_id), "{visitor}");
    let site_ident = site["inbox_identifier"].as_str().unwrap();
    let from_site = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{site_ident}/contacts/{source}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    assert_eq!(from_site["id"].as_i64(), Some(display_id), "{from_site}");

    // 4. His email answer threads to it; an email on a new subject is a thread of its own
    // (email keeps threads apart), and an agent's explicit start is new.
    let answer = mail(
        "Bob <bob@example.com>",
        "support@acme.test",
        "Re: Order 77 is late",
        "bob-2@example.com",
        Some("bob-1@example.com"),
        &["bob-1@example.com"],
        "",
        "Any news?",
    );
    let Ingested::Message {
        display_id: answered,
        threaded_by,
        ..
    } = ingest(&t, email_id, &answer).await
    else {
        panic!("the answer was not stored");
    };
    assert_eq!(
        (answered, threaded_by),
        (display_id, ThreadedBy::References)
    );
    let other_topic = mail(
        "Bob <bob@example.com>",
        "support@acme.test",
        "Invoice address",
        "bob-3@example.com",
        None,
        &[],
        "",
        "Please change it.",
    );
    let Ingested::Message {
        display_id: separate,
        ..
    } = ingest(&t, email_id, &other_topic).await
    else {
        panic!("the email was not stored");
    };
    assert_ne!(separate, display_id);
    let by_agent = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": relay_id, "source_id": "wa-bob", "continue_conversation": false}),
        )
        .await;
    assert_ne!(by_agent["id"].as_i64(), Some(display_id), "{by_agent}");
    assert_ne!(by_agent["id"].as_i64(), Some(separate), "{by_agent}");
}

async fn post_raw(
    t: &TestApp,
    identifier: &str,
    body: &[u8],
    signature: Option<&str>,
) -> (u16, Value) {
    let mut req = throughline_testkit::http_client()
        .post(t.url(&format!("/webhooks/inboxes/{identifier}")))
        .header("content-type", "message/rfc822")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("x-throughline-signature", sig);
    }
    let answer = throughline_testkit::read(req.send().await.unwrap()).await;
    (answer.status, answer.body)
}

/// The shared provider entry, with the email channel's relay: only the inbox's signature is
/// accepted, a stored message is readable as soon as the provider is answered, and a retry of
/// the same message is answered alike and stored once.
async fn provider_webhooks_are_verified_stored_once_and_answered_after_the_commit(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.email_inbox("Support", "support@acme.test", None).await;
    let identifier = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let secret = hmac_secret(&t, &inbox).await;
    let raw = mail(
        "Marta <marta@example.pl>",
        "support@acme.test",
        "Zamówienie",
        "marta-1@example.pl",
        None,
        &[],
        "",
        "Gdzie jest moja paczka?",
    );
    let signed = format!(
        "sha256={}",
        throughline_core::crypto::hmac_sha256_hex(secret.as_bytes(), &raw)
    );

    // Refusals, none of which stores anything.
    let (status, body) = post_raw(&t, &identifier, &raw, None).await;
    assert_eq!(status, 401, "unsigned: {body}");
    let (status, body) = post_raw(&t, &identifier, &raw, Some("sha256=00ff")).await;
    assert_eq!(status, 401, "wrong signature: {body}");
    let mut tampered = raw.clone();
    tampered.extend_from_slice(b"P.S. send it to my other address\r\n");
    let (status, _) = post_raw(&t, &identifier, &tampered, Some(&signed)).await;
    assert_eq!(status, 401, "a body changed after signing");
    let (status, _) = post_raw(&t, "no-such-inbox", &raw, Some(&signed)).await;
    assert_eq!(status, 404);
    let api = t.api_inbox("Site", None).await;
    let (status, _) = post_raw(
        &t,
        api["inbox_identifier"].as_str().unwrap(),
        &raw,
        Some(&signed),
    )
    .await;
    assert_eq!(
        status, 404,
        "an API inbox takes messages through the Client API"
    );
    let empty_sig = format!(
        "sha256={}",
        throughline_core::crypto::hmac_sha256_hex(secret.as_bytes(), b"")
    );
    let (status, _) = post_raw(&t, &identifier, b"", Some(&empty_sig)).await;
    assert_eq!(status, 422, "an empty payload");
    let listed = t.get(&t.acc("/conversations?status=all")).await;
    assert_eq!(
        listed["data"]["meta"]["all_count"], 0,
        "nothing stored: {listed}"
    );

    // Accepted: readable the moment the provider has its answer; a retry changes nothing.
    for attempt in 0..2 {
        let (status, body) = post_raw(&t, &identifier, &raw, Some(&signed)).await;
        assert_eq!(status, 200, "attempt {attempt}: {body}");
        let listed = t.get(&t.acc("/conversations?status=all")).await;
        let conversations = listed["data"]["payload"].as_array().unwrap();
        assert_eq!(conversations.len(), 1, "attempt {attempt}: {listed}");
        let id = conversations[0]["id"].as_i64().unwrap();
        let messages = t
            .get(&t.acc(&format!("/conversations/{id}/messages")))
            .await;
        let texts: Vec<&str> = messages["payload"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["message_type"] == 0)
            .filter_map(|m| m["content"].as_str())
            .collect();
        assert_eq!(texts, ["Gdzie jest moja paczka?"], "attempt {attempt}");
    }
}
