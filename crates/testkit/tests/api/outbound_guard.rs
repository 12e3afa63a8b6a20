//! The outbound guard against server-side request forgery, through the real API: webhooks and
//! API-inbox callbacks to loopback, link-local or private addresses are refused before any
//! connection (entered as an IP literal: 422 at once; a name: at send time, with the reason in
//! the delivery log); redirects are never followed; an operator's allowance delivers.
//!
//! `TestApp` allows private networks (every fake listens on 127.0.0.1): these tests turn that
//! off.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use throughline::Settings;
use throughline_store::{AccountScope, webhooks};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    a_stored_webhook_to_a_loopback_address_is_refused_before_connecting,
    a_name_resolving_to_loopback_is_refused_at_send_time,
    private_ip_literals_are_refused_where_urls_are_entered,
    a_redirect_to_another_local_receiver_is_not_followed,
    hosts_the_operator_allows_are_delivered,
    allowing_private_networks_delivers_to_loopback,
    an_api_inbox_callback_to_a_private_host_fails_the_reply_with_the_reason,
);

fn guarded(s: &mut Settings) {
    s.outbound_allow_private_networks = Some(false);
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches("/hook")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The webhook's only delivery, once it is no longer pending.
async fn settled_delivery(t: &TestApp, hook_id: &Value) -> Value {
    let path = t.acc(&format!("/webhooks/{hook_id}/deliveries"));
    t.eventually(Duration::from_secs(20), "the delivery to settle", || {
        let (t, p) = (t, path.clone());
        async move {
            let log = t.get(&p).await;
            let first = log.as_array()?.first()?.clone();
            (first["state"] != "pending").then_some(first)
        }
    })
    .await
}

async fn a_stored_webhook_to_a_loopback_address_is_refused_before_connecting(b: Backend) {
    let t = TestApp::start_with(b, guarded).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    // Entered through the API, the address is refused at once.
    let refused = t
        .admin(
            "POST",
            &t.acc("/webhooks"),
            Some(json!({"url": rx.url, "subscriptions": ["contact_created"]})),
        )
        .await
        .expect(422);
    assert_eq!(refused["errors"][0]["field"], "url");
    // A webhook saved before the guard (or before the operator withdrew an allowance) is
    // refused when it is sent.
    let hook = {
        let mut tx = t.app.store.begin().await.unwrap();
        let hook = webhooks::create(
            tx.conn(),
            t.app.store.key(),
            &AccountScope::system(t.account_id),
            &rx.url,
            None,
            &["contact_created".to_owned()],
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        hook
    };
    t.post(&t.acc("/contacts"), json!({"name": "Probe"})).await;
    let d = settled_delivery(&t, &json!(hook.id)).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["attempts"], 1, "a refusal is final: {d}");
    assert!(d.get("last_status_code").is_none(), "nothing answered: {d}");
    let error = d["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("refused to connect to 127.0.0.1: a loopback address"),
        "{error}"
    );
    let port = port_of(&rx.url);
    assert!(
        error.contains(&format!("outbound_allowed_hosts = [\"127.0.0.1:{port}\"]")),
        "the refusal says how to allow it: {error}"
    );
    assert!(error.contains("outbound_allow_private_networks"), "{error}");
    assert!(rx.received().is_empty(), "the receiver got nothing");
}

async fn a_name_resolving_to_loopback_is_refused_at_send_time(b: Backend) {
    let t = TestApp::start_with(b, guarded).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let port = port_of(&rx.url);
    // A name is accepted where it is entered: what it resolves to is checked at each send.
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": format!("http://localhost:{port}/hook"), "subscriptions": ["contact_created"]}),
        )
        .await;
    t.post(&t.acc("/contacts"), json!({"name": "Probe"})).await;
    let d = settled_delivery(&t, &hook["id"]).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert!(d.get("last_status_code").is_none(), "{d}");
    let error = d["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("refused to connect to localhost: it resolves to"),
        "{error}"
    );
    assert!(error.contains("loopback"), "{error}");
    assert!(
        error.contains(&format!("[\"localhost:{port}\"]")),
        "{error}"
    );
    assert!(rx.received().is_empty(), "the receiver got nothing");
}

async fn private_ip_literals_are_refused_where_urls_are_entered(b: Backend) {
    let t = TestApp::start_with(b, guarded).await;
    let cases = [
        ("http://[::1]:3000/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/hook", "private network"),
        // Another spelling of 127.0.0.1.
        ("http://2130706433/hook", "loopback"),
    ];
    for (url, reason) in cases {
        let body = t
            .admin(
                "POST",
                &t.acc("/webhooks"),
                Some(json!({"url": url, "subscriptions": ["contact_created"]})),
            )
            .await
            .expect(422);
        let e = &body["errors"][0];
        assert_eq!(e["field"], "url", "{url}: {body}");
        assert_eq!(e["code"], "forbidden_address", "{url}: {body}");
        let message = e["message"].as_str().unwrap();
        assert!(message.starts_with("url points at "), "{message}");
        assert!(message.contains(reason), "{url}: {message}");
        assert!(message.contains("outbound_allowed_hosts"), "{message}");
    }
    assert_eq!(
        t.get(&t.acc("/webhooks"))
            .await
            .as_array()
            .map_or(0, Vec::len),
        0,
        "nothing was saved"
    );

    // Names and public addresses are accepted; a change to a private literal is refused.
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": "http://localhost:9/hook", "subscriptions": ["conversation_typing_on"]}),
        )
        .await;
    let id = hook["id"].as_i64().unwrap();
    let body = t
        .admin(
            "PATCH",
            &t.acc(&format!("/webhooks/{id}")),
            Some(json!({"url": "http://192.168.1.1/hook"})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "url", "{body}");
    t.admin(
        "PATCH",
        &t.acc(&format!("/webhooks/{id}")),
        Some(json!({"url": "https://93.184.215.14/hook"})),
    )
    .await
    .expect(200);

    // An API inbox's callback.
    let body = t
        .admin(
            "POST",
            &t.acc("/inboxes"),
            Some(json!({"name": "Bridge", "channel": {"type": "api", "webhook_url": "http://169.254.169.254/"}})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "channel.webhook_url", "{body}");
    let inbox = t.api_inbox("Bridge", None).await;
    let body = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{}", inbox["id"])),
            Some(json!({"channel": {"webhook_url": "http://[fd00::1]/cb"}})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "channel.webhook_url", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unique local"),
        "{body}"
    );

    // An agent bot's outgoing URL.
    let body = t
        .admin(
            "POST",
            &t.acc("/agent_bots"),
            Some(json!({"name": "Bot", "outgoing_url": "http://[::ffff:127.0.0.1]:8080/"})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "outgoing_url", "{body}");
    let bot = t
        .post(
            &t.acc("/agent_bots"),
            json!({"name": "Bot", "outgoing_url": "https://bot.example/hook"}),
        )
        .await;
    let body = t
        .admin(
            "PATCH",
            &t.acc(&format!("/agent_bots/{}", bot["id"])),
            Some(json!({"outgoing_url": "http://100.64.0.1/"})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "outgoing_url", "{body}");
}

/// A receiver that answers every POST with a redirect to `target` (307: a client that follows
/// it POSTs the same body there), counting them.
async fn redirector(target: String) -> (String, Arc<AtomicUsize>) {
    use axum::http::{StatusCode, header};
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (hits, target) = (counted.clone(), target.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, target)],
                    "moved",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

async fn a_redirect_to_another_local_receiver_is_not_followed(b: Backend) {
    let inner = Receiver::start(Behaviour::Accept).await;
    let (outer, hits) = redirector(inner.url.clone()).await;
    // The first receiver is allowed by the operator; where it redirects to is not.
    let allowed = format!("127.0.0.1:{}", port_of(&outer));
    let t = TestApp::start_with(b, move |s| {
        guarded(s);
        s.outbound_allowed_hosts = Some(vec![allowed]);
        s.webhook_max_attempts = Some(1);
    })
    .await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": outer, "subscriptions": ["contact_created"]}),
        )
        .await;
    t.post(&t.acc("/contacts"), json!({"name": "Probe"})).await;
    let d = settled_delivery(&t, &hook["id"]).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["last_status_code"], 307, "{d}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the allowed receiver was called"
    );
    assert!(
        inner.received().is_empty(),
        "the redirect's target was never contacted"
    );
}

async fn hosts_the_operator_allows_are_delivered(b: Backend) {
    let by_address = Receiver::start(Behaviour::Accept).await;
    let by_name = Receiver::start(Behaviour::Accept).await;
    let unlisted = Receiver::start(Behaviour::Accept).await;
    let allowed = vec![
        format!("127.0.0.1:{}", port_of(&by_address.url)),
        format!("localhost:{}", port_of(&by_name.url)),
    ];
    let t = TestApp::start_with(b, move |s| {
        guarded(s);
        s.outbound_allowed_hosts = Some(allowed);
    })
    .await;
    t.post(
        &t.acc("/webhooks"),
        json!({"url": by_address.url, "subscriptions": ["contact_created"]}),
    )
    .await;
    t.post(
        &t.acc("/webhooks"),
        json!({
            "url": format!("http://localhost:{}/hook", port_of(&by_name.url)),
            "subscriptions": ["contact_created"],
        }),
    )
    .await;
    // The same address on a port not listed is still refused.
    let body = t
        .admin(
            "POST",
            &t.acc("/webhooks"),
            Some(json!({"url": unlisted.url, "subscriptions": ["contact_created"]})),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "url", "{body}");

    t.post(&t.acc("/contacts"), json!({"name": "Allowed"}))
        .await;
    for rx in [&by_address, &by_name] {
        let got = t
            .eventually(Duration::from_secs(15), "the delivery", || async {
                rx.received().into_iter().next()
            })
            .await;
        assert_eq!(got.body["event"], "contact_created");
        assert_eq!(got.body["name"], "Allowed");
    }
    assert!(unlisted.received().is_empty());
}

async fn allowing_private_networks_delivers_to_loopback(b: Backend) {
    let t = TestApp::start_with(b, |s| {
        s.outbound_allow_private_networks = Some(true);
    })
    .await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let hook = t
        .post(
            &t.acc("/webhooks"),
            json!({"url": rx.url, "subscriptions": ["contact_created"]}),
        )
        .await;
    t.post(&t.acc("/contacts"), json!({"name": "Next door"}))
        .await;
    let d = settled_delivery(&t, &hook["id"]).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(rx.received().len(), 1);
    assert_eq!(rx.received()[0].body["name"], "Next door");
}

async fn an_api_inbox_callback_to_a_private_host_fails_the_reply_with_the_reason(b: Backend) {
    let t = TestApp::start_with(b, guarded).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let callback = format!("http://localhost:{}/hook", port_of(&rx.url));
    let inbox = t.api_inbox("Bridge", Some(&callback)).await;
    let th = thread(&t, &inbox, "ping").await;
    let path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let reply = t.post(&path, json!({"content": "pong"})).await;
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
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("refused to connect to localhost: it resolves to"),
        "{reason}"
    );
    assert!(reason.contains("loopback"), "{reason}");
    assert!(rx.received().is_empty(), "the callback was never called");
}
