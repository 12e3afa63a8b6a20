//! Receivers written for Chatwoot verify our deliveries (issue #17).
//!
//! The verifier here follows Chatwoot's own scheme as its code and its pull request describe
//! it (lib/webhooks/trigger.rb `request_headers`; chatwoot/chatwoot#13573, #13892):
//! `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of "{X-Chatwoot-Timestamp}.{raw body}">`
//! under the target's secret — an account webhook's `secret`, an API inbox's `secret` (not its
//! `hmac_token`) — a timestamp no older than five minutes, and `X-Chatwoot-Delivery` to
//! deduplicate by, the same on every retry. It is written with the `hmac` crate directly, not
//! with Throughline's signing code.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Received, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    chatwoot_receivers_verify_account_webhooks_and_api_callbacks,
    the_chatwoot_delivery_id_is_the_same_across_retries,
    outgoing_message_payloads_carry_what_bridges_read,
);

/// How old a timestamp a careful receiver accepts (Chatwoot's PR suggests about five minutes).
const TOLERANCE_SECS: i64 = 300;

/// What a receiver written for Chatwoot does with a request: `Ok(delivery id)` when it
/// accepts it, the reason otherwise.
fn chatwoot_accepts(secret: &str, headers: &Received, body: &[u8]) -> Result<String, String> {
    let signature = headers
        .header("x-chatwoot-signature")
        .ok_or("no X-Chatwoot-Signature")?;
    let timestamp = headers
        .header("x-chatwoot-timestamp")
        .ok_or("no X-Chatwoot-Timestamp")?;
    let delivery = headers
        .header("x-chatwoot-delivery")
        .ok_or("no X-Chatwoot-Delivery")?;
    let sent: i64 = timestamp.parse().map_err(|_| "timestamp is not a number")?;
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    if (now - sent).abs() > TOLERANCE_SECS {
        return Err(format!("stale timestamp {sent} (now {now})"));
    }
    let hex = signature
        .strip_prefix("sha256=")
        .ok_or("signature without sha256=")?;
    let given: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| "signature is not hex")?;
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| "signature does not match".to_owned())?;
    Ok(delivery)
}

fn accepted(secret: &str, r: &Received) -> String {
    match chatwoot_accepts(secret, r, &r.raw) {
        Ok(id) => id,
        Err(e) => panic!("a Chatwoot receiver refuses {}: {e}", r.body),
    }
}

/// The same request with one byte of the body changed.
fn tampered(r: &Received) -> Vec<u8> {
    let mut raw = r.raw.clone();
    let at = raw.len() / 2;
    raw[at] ^= 0x01;
    raw
}

async fn chatwoot_receivers_verify_account_webhooks_and_api_callbacks(b: Backend) {
    let t = TestApp::start(b).await;
    let hook_rx = Receiver::start(Behaviour::Accept).await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": hook_rx.url, "subscriptions": ["message_created", "contact_created"]}),
        )
        .await;
    let hook_secret = hook["secret"].as_str().unwrap().to_owned();
    let callback_rx = Receiver::start(Behaviour::Accept).await;
    let inbox = t.api_inbox("Bridge", Some(&callback_rx.url)).await;
    // Chatwoot 4.13 signs an API inbox's callbacks with the inbox's own `secret`, shown to
    // administrators beside (and apart from) the `hmac_token`.
    let shown = t.get(&t.acc(&format!("/inboxes/{}", inbox["id"]))).await;
    let inbox_secret = shown["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        inbox["secret"], shown["secret"],
        "the same secret every time"
    );
    assert_ne!(shown["secret"], shown["hmac_token"]);
    let (agent_id, agent_token) = t.agent("olga@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [agent_id]}),
    )
    .await;
    let as_agent = t
        .call(
            "GET",
            &t.acc(&format!("/inboxes/{}", inbox["id"])),
            Some(&agent_token),
            None,
        )
        .await
        .expect(200);
    assert!(as_agent.get("secret").is_none(), "administrators only");

    let th = thread(&t, &inbox, "Olá, preciso de ajuda").await;
    t.post(
        &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
        json!({"content": "Claro, como posso ajudar?"}),
    )
    .await;

    // Account webhook: the contact, the customer's message and the reply.
    let got = t
        .eventually(Duration::from_secs(15), "three webhook deliveries", || {
            let rx = &hook_rx;
            async move { (rx.received().len() >= 3).then(|| rx.received()) }
        })
        .await;
    let mut ids = BTreeSet::new();
    for r in &got {
        ids.insert(accepted(&hook_secret, r));
        assert_eq!(
            r.header("x-chatwoot-delivery"),
            r.header("x-throughline-delivery"),
            "one delivery id, whichever header a receiver reads"
        );
        assert!(
            chatwoot_accepts(&hook_secret, r, &tampered(r)).is_err(),
            "a tampered body is refused"
        );
        assert!(
            chatwoot_accepts("not-the-secret", r, &r.raw).is_err(),
            "another secret is refused"
        );
    }
    assert_eq!(ids.len(), got.len(), "each delivery has its own id");
    let events: BTreeSet<&str> = got
        .iter()
        .map(|r| r.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        BTreeSet::from(["contact_created", "message_created"])
    );

    // API inbox callbacks: the conversation, the customer's message and the reply, each signed
    // with the inbox's secret and not with its hmac_token.
    let calls = t
        .eventually(Duration::from_secs(15), "the reply's callback", || {
            let rx = &callback_rx;
            async move {
                let all = rx.received();
                all.iter()
                    .any(|r| r.body["content"] == "Claro, como posso ajudar?")
                    .then_some(all)
            }
        })
        .await;
    assert!(calls.len() >= 2, "{calls:?}");
    let hmac_token = shown["hmac_token"].as_str().unwrap();
    for r in &calls {
        accepted(&inbox_secret, r);
        assert!(chatwoot_accepts(&inbox_secret, r, &tampered(r)).is_err());
        assert!(
            chatwoot_accepts(hmac_token, r, &r.raw).is_err(),
            "the hmac_token is not the signing secret"
        );
    }
}

async fn the_chatwoot_delivery_id_is_the_same_across_retries(b: Backend) {
    let t = TestApp::start(b).await;
    let hook_rx = Receiver::start(Behaviour::FailFirst(2)).await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": hook_rx.url, "subscriptions": ["contact_created"]}),
        )
        .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    t.post(&t.acc("/contacts"), json!({"name": "Retry Me"}))
        .await;
    let got = t
        .eventually(Duration::from_secs(20), "three attempts", || {
            let rx = &hook_rx;
            async move { (rx.received().len() >= 3).then(|| rx.received()) }
        })
        .await;
    // Every attempt verifies on its own (a fresh timestamp each time), and all carry one id.
    let ids: BTreeSet<String> = got.iter().map(|r| accepted(&secret, r)).collect();
    assert_eq!(ids.len(), 1, "retries reuse X-Chatwoot-Delivery");

    // The same for an API inbox's callback.
    // The callback also gets the conversation's other events; only the reply is refused once.
    let callback_rx = Receiver::start(Behaviour::FailFirstContaining("retry me", 1)).await;
    let inbox = t.api_inbox("Flaky bridge", Some(&callback_rx.url)).await;
    let inbox_secret = inbox["secret"].as_str().unwrap().to_owned();
    let th = thread(&t, &inbox, "oi").await;
    let reply = t
        .post(
            &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
            json!({"content": "retry me"}),
        )
        .await;
    let attempts = t
        .eventually(Duration::from_secs(20), "the reply delivered twice", || {
            let rx = &callback_rx;
            async move {
                let mine: Vec<Received> = rx
                    .received()
                    .into_iter()
                    .filter(|r| r.body["content"] == "retry me")
                    .collect();
                (mine.len() >= 2).then_some(mine)
            }
        })
        .await;
    let ids: BTreeSet<String> = attempts
        .iter()
        .map(|r| accepted(&inbox_secret, r))
        .collect();
    assert_eq!(ids.len(), 1, "the callback's retry reuses its delivery id");
    assert_eq!(attempts[0].body["id"], reply["id"]);
}

/// The fields the Chatwoot bridges (WhatsApp, Telegram and SMS gateways built on the API
/// channel) read from an outgoing message, as Chatwoot's `Message#webhook_data` sends them.
async fn outgoing_message_payloads_carry_what_bridges_read(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let inbox = t.api_inbox("Gateway", Some(&rx.url)).await;
    let th = thread(&t, &inbox, "Quero a segunda via").await;
    let png: Vec<u8> = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 9, 9];
    let form = reqwest::multipart::Form::new()
        .text("content", "Segue o boleto")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("boleto.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let resp = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{}/messages", th.conversation_id))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent: Value = resp.json().await.unwrap();
    let profile = t.get("/api/v1/profile").await;

    let r = t
        .eventually(Duration::from_secs(15), "the outgoing message", || {
            let rx = &rx;
            async move {
                rx.received()
                    .into_iter()
                    .find(|r| r.body["content"] == "Segue o boleto")
            }
        })
        .await;
    let m = &r.body;
    assert_eq!(m["event"], "message_created");
    assert_eq!(m["id"], sent["id"]);
    assert_eq!(m["message_type"], "outgoing");
    assert_eq!(m["private"], false);
    assert_eq!(m["content_type"], "text");
    // The conversation: `id` is the display id; `contact_inbox.source_id` is whom to reply to.
    assert_eq!(m["conversation"]["id"], th.conversation_id);
    assert_eq!(
        m["conversation"]["contact_inbox"]["source_id"],
        th.source_id.as_str()
    );
    assert_eq!(m["conversation"]["contact_inbox"]["inbox_id"], inbox["id"]);
    assert_eq!(
        m["conversation"]["contact_inbox"]["contact_id"],
        th.contact_id
    );
    assert_eq!(m["conversation"]["channel"], "Channel::Api");
    assert_eq!(m["conversation"]["inbox_id"], inbox["id"]);
    assert_eq!(m["conversation"]["status"], "open");
    assert!(
        m["conversation"]["contact_inbox"]
            .get("pubsub_token")
            .is_none(),
        "the visitor's socket credential stays here"
    );
    // The agent who wrote it, as `User#webhook_data`.
    assert_eq!(
        m["sender"],
        json!({"id": profile["id"], "name": profile["available_name"], "email": profile["email"], "type": "user"})
    );
    assert_eq!(m["inbox"], json!({"id": inbox["id"], "name": "Gateway"}));
    assert_eq!(m["account"], json!({"id": t.account_id, "name": "Acme"}));
    // The file, as `Attachment#push_event_data`: a URL the bridge downloads without a token.
    let attachment = &m["attachments"][0];
    assert_eq!(attachment["file_type"], "image");
    assert_eq!(attachment["message_id"], sent["id"]);
    assert_eq!(attachment["account_id"], t.account_id);
    let file = t
        .client
        .get(attachment["data_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), png);

    // The customer's message carries the contact as sender (`Contact#webhook_data`).
    let incoming = rx
        .received()
        .into_iter()
        .find(|r| r.body["content"] == "Quero a segunda via")
        .unwrap();
    assert_eq!(incoming.body["message_type"], "incoming");
    assert_eq!(incoming.body["sender"]["id"], th.contact_id);
    assert_eq!(incoming.body["sender"]["name"], "Ana Souza");
    assert_eq!(
        incoming.body["conversation"]["contact_inbox"]["source_id"],
        th.source_id.as_str()
    );
}
