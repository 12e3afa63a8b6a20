//! Outgoing webhooks: signatures, retries, the delivery log, API-channel callbacks, and
//! exactly-once delivery (by delivery id) across consumer crashes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use throughline_core::crypto::hmac_sha256_hex;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    deliveries_are_signed_and_shaped_like_chatwoot,
    a_failing_receiver_gets_retries_with_the_same_delivery_id,
    api_inbox_callbacks_carry_replies_and_failures_show_on_the_message,
    every_event_is_delivered_once_per_delivery_id_across_consumer_crashes,
    webhook_input_is_validated,
    a_rotated_secret_signs_the_next_deliveries,
);

async fn deliveries_are_signed_and_shaped_like_chatwoot(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let hook = t.post(&t.acc("/webhooks"), json!({"url": rx.url, "subscriptions": ["message_created", "conversation_created", "contact_created"]})).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let inbox = t.api_inbox("App", None).await;
    let th = thread(&t, &inbox, "Olá, tudo bem?").await;

    let got = t
        .eventually(Duration::from_secs(15), "three deliveries", || {
            let rx = &rx;
            async move { (rx.received().len() >= 3).then(|| rx.received()) }
        })
        .await;
    // Deliveries go out in parallel and may arrive in any order; the event id says which
    // change came first.
    let mut got = got;
    got.sort_by_key(|r| {
        r.header("x-throughline-event-id")
            .unwrap()
            .parse::<i64>()
            .unwrap()
    });
    let events: Vec<&str> = got
        .iter()
        .map(|r| r.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        vec!["contact_created", "conversation_created", "message_created"]
    );
    for r in &got {
        let ts = r.header("x-throughline-timestamp").unwrap();
        let mut signed = ts.clone().into_bytes();
        signed.push(b'.');
        signed.extend_from_slice(&r.raw);
        let expected = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &signed));
        assert_eq!(r.header("x-throughline-signature").unwrap(), expected);
        assert!(r.header("x-throughline-delivery").is_some());
        assert_eq!(
            r.header("x-throughline-event").unwrap(),
            r.body["event"].as_str().unwrap()
        );
    }
    let message = &got[2].body;
    assert_eq!(message["content"], "Olá, tudo bem?");
    assert_eq!(message["message_type"], "incoming");
    assert_eq!(message["account"]["name"], "Acme");
    assert_eq!(message["inbox"]["id"], inbox["id"]);
    assert_eq!(message["conversation"]["id"], th.conversation_id);
    assert_eq!(message["sender"]["name"], "Ana Souza");
    assert!(message.get("view").is_none(), "internal keys stay internal");
    // A tampered body does not verify.
    let mut tampered = got[2].raw.clone();
    tampered[1] ^= 1;
    let ts = got[2].header("x-throughline-timestamp").unwrap();
    let forged = format!(
        "sha256={}",
        hmac_sha256_hex(
            secret.as_bytes(),
            &[ts.as_bytes(), b".", &tampered].concat()
        )
    );
    assert_ne!(forged, got[2].header("x-throughline-signature").unwrap());
}

async fn a_failing_receiver_gets_retries_with_the_same_delivery_id(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::FailFirst(2)).await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": rx.url, "subscriptions": ["contact_created"]}),
        )
        .await;
    t.post(&t.acc("/contacts"), json!({"name": "Retry Me"}))
        .await;
    let got = t
        .eventually(Duration::from_secs(20), "three attempts", || {
            let rx = &rx;
            async move { (rx.received().len() >= 3).then(|| rx.received()) }
        })
        .await;
    let ids: BTreeSet<String> = got
        .iter()
        .map(|r| r.header("x-throughline-delivery").unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "retries reuse the delivery id");
    assert!(
        got.windows(2).all(|w| w[0].raw == w[1].raw),
        "retries send the same bytes"
    );

    let log_path = t.acc(&format!("/webhooks/{}/deliveries", hook["id"]));
    let log = t
        .eventually(
            Duration::from_secs(10),
            "the delivery to be recorded as delivered",
            || {
                let (t, p) = (&t, log_path.clone());
                async move {
                    let log = t.get(&p).await;
                    (log[0]["state"] == "delivered").then_some(log)
                }
            },
        )
        .await;
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["last_status_code"], 200);
    assert_eq!(log[0]["event"], "contact_created");
    assert_eq!(rx.received().len(), 3, "nothing after success");
}

async fn api_inbox_callbacks_carry_replies_and_failures_show_on_the_message(b: Backend) {
    let t = TestApp::start_with(b, |s| s.webhook_max_attempts = Some(2)).await;
    let ok_rx = Receiver::start(Behaviour::Accept).await;
    let inbox = t.api_inbox("Bridge", Some(&ok_rx.url)).await;
    let th = thread(&t, &inbox, "ping").await;
    t.post(
        &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
        json!({"content": "pong"}),
    )
    .await;
    let got = t
        .eventually(Duration::from_secs(15), "the reply callback", || {
            let rx = &ok_rx;
            async move {
                rx.received()
                    .into_iter()
                    .find(|r| r.body["content"] == "pong")
            }
        })
        .await;
    assert_eq!(got.body["event"], "message_created");
    assert_eq!(got.body["message_type"], "outgoing");
    let secret = inbox["hmac_token"].as_str().unwrap();
    let ts = got.header("x-throughline-timestamp").unwrap();
    assert_eq!(
        got.header("x-throughline-signature").unwrap(),
        format!(
            "sha256={}",
            hmac_sha256_hex(secret.as_bytes(), &[ts.as_bytes(), b".", &got.raw].concat())
        )
    );

    // A callback that never succeeds marks the reply failed, with the reason.
    let bad_rx = Receiver::start(Behaviour::AlwaysFail).await;
    let id = inbox["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"channel": {"webhook_url": bad_rx.url}})),
    )
    .await
    .expect(200);
    let reply = t
        .post(
            &t.acc(&format!("/conversations/{}/messages", th.conversation_id)),
            json!({"content": "lost"}),
        )
        .await;
    let path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let failed = t
        .eventually(
            Duration::from_secs(20),
            "the reply to be marked failed",
            || {
                let (t, p, rid) = (&t, path.clone(), reply["id"].clone());
                async move {
                    let list = t.get(&p).await;
                    list["payload"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|m| m["id"] == rid && m["status"] == "failed")
                        .cloned()
                }
            },
        )
        .await;
    assert!(
        failed["content_attributes"]["external_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
}

async fn every_event_is_delivered_once_per_delivery_id_across_consumer_crashes(b: Backend) {
    let mut t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Slow(Duration::from_millis(30))).await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": rx.url, "subscriptions": ["message_created"]}),
    )
    .await;
    let inbox = t.api_inbox("App", None).await;
    let th = thread(&t, &inbox, "m-0").await;
    let path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let total = 40;
    for i in 1..total {
        t.post(
            &path,
            json!({"content": format!("m-{i}"), "message_type": "incoming"}),
        )
        .await;
        if i == 12 || i == 27 {
            // Kill the consumers mid-stream (deliveries in flight, fan-out maybe mid-batch),
            // then start them again: they resume from their durable cursors and leases.
            t.app.crash_jobs();
            tokio::time::sleep(Duration::from_millis(50)).await;
            t.app.restart_jobs().unwrap();
        }
    }
    let received = t
        .eventually(Duration::from_secs(60), "every message delivered", || {
            let rx = &rx;
            async move {
                let contents: BTreeSet<String> = rx
                    .received()
                    .iter()
                    .filter_map(|r| r.body["content"].as_str().map(str::to_owned))
                    .collect();
                (contents.len() == total).then(|| rx.received())
            }
        })
        .await;
    // Each event reached the receiver under exactly one delivery id (retries repeat the id).
    let mut ids_per_event: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &received {
        ids_per_event
            .entry(r.header("x-throughline-event-id").unwrap())
            .or_default()
            .insert(r.header("x-throughline-delivery").unwrap());
    }
    assert_eq!(ids_per_event.len(), total, "one event per message");
    assert!(
        ids_per_event.values().all(|ids| ids.len() == 1),
        "{ids_per_event:?}"
    );
    let contents: BTreeSet<String> = received
        .iter()
        .map(|r| r.body["content"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (0..total).map(|i| format!("m-{i}")).collect();
    assert_eq!(contents, expected);
}

async fn webhook_input_is_validated(b: Backend) {
    let t = TestApp::start(b).await;
    for bad in [
        json!({"url": "not a url", "subscriptions": ["message_created"]}),
        json!({"url": "http://127.0.0.1:9/h", "subscriptions": ["message_exploded"]}),
        json!({"url": "http://127.0.0.1:9/h", "subscriptions": []}),
        json!({"url": "http://127.0.0.1:9/h", "subscriptions": ["message_created"], "inbox_id": 999_999}),
    ] {
        assert_eq!(
            t.admin("POST", &t.acc("/webhooks"), Some(bad.clone()))
                .await
                .status,
            422,
            "{bad}"
        );
    }
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": "http://127.0.0.1:9/h", "name": "CRM"}),
        )
        .await;
    assert!(
        hook["subscriptions"].as_array().unwrap().len() >= 7,
        "all events by default"
    );
    let id = hook["id"].as_i64().unwrap();
    let patched = t
        .admin(
            "PATCH",
            &t.acc(&format!("/webhooks/{id}")),
            Some(json!({"subscriptions": ["contact_updated"]})),
        )
        .await
        .expect(200);
    assert_eq!(patched["subscriptions"], json!(["contact_updated"]));
    assert_eq!(
        t.get(&t.acc(&format!("/webhooks/{id}"))).await["name"],
        "CRM"
    );
    assert_eq!(
        t.get(&t.acc("/webhooks")).await.as_array().unwrap().len(),
        1
    );
    t.admin("DELETE", &t.acc(&format!("/webhooks/{id}")), None)
        .await
        .expect(200);
    assert_eq!(
        t.admin("GET", &t.acc(&format!("/webhooks/{id}")), None)
            .await
            .status,
        404
    );
}

async fn a_rotated_secret_signs_the_next_deliveries(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": rx.url, "subscriptions": ["contact_created"]}),
        )
        .await;
    let id = hook["id"].as_i64().unwrap();
    let old = hook["secret"].as_str().unwrap().to_owned();
    let (_, agent) = t.agent("agent@example.com", "agent").await;
    let rotate = t.acc(&format!("/webhooks/{id}/rotate_secret"));
    t.call("POST", &rotate, Some(&agent), None)
        .await
        .expect(403);
    t.admin("POST", &t.acc("/webhooks/424242/rotate_secret"), None)
        .await
        .expect(404);
    let new = t.post(&rotate, json!({})).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    t.post(&t.acc("/contacts"), json!({"name": "Ana"})).await;
    let got = t
        .eventually(Duration::from_secs(15), "the delivery", || {
            let rx = &rx;
            async move { rx.received().into_iter().next() }
        })
        .await;
    let ts = got.header("x-throughline-timestamp").unwrap();
    let signed = [ts.as_bytes(), b".", &got.raw].concat();
    assert_eq!(
        got.header("x-throughline-signature").unwrap(),
        format!("sha256={}", hmac_sha256_hex(new.as_bytes(), &signed))
    );
}
