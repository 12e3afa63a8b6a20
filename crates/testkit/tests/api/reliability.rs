//! Slow or dead receivers never hold up what customers send.

use std::time::Duration;

use serde_json::json;
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::ws::WsClient;
use throughline_testkit::{Backend, TestApp};

use crate::thread;

throughline_testkit::on_both_databases!(a_hanging_webhook_receiver_never_delays_ingest);

async fn a_hanging_webhook_receiver_never_delays_ingest(b: Backend) {
    // Deliveries wait a whole minute on a receiver that never answers.
    let t = TestApp::start_with(b, |s| s.webhook_timeout_secs = Some(60)).await;
    let dead = Receiver::start(Behaviour::Hang).await;
    let healthy = Receiver::start(Behaviour::Accept).await;
    for url in [&dead.url, &healthy.url] {
        t.post(
            &t.acc("/webhooks"),
            json!({"url": url, "subscriptions": ["message_created"]}),
        )
        .await;
    }
    // The API inbox's own callback is the dead one too.
    let inbox = t.api_inbox("Shop", Some(&dead.url)).await;
    let th = thread(&t, &inbox, "first").await;
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let mut agent = WsClient::connect(
        &t.ws_url("/api/v1/realtime"),
        &[("api_access_token", t.token.as_str())],
    )
    .await
    .unwrap();
    agent.until("ready", Duration::from_secs(10)).await;
    t.eventually(
        Duration::from_secs(10),
        "the dead receiver is holding requests",
        || async { (!dead.received().is_empty()).then_some(()) },
    )
    .await;

    let path = format!(
        "/public/api/v1/inboxes/{ident}/contacts/{}/conversations/{}/messages",
        th.source_id, th.conversation_id
    );
    for i in 0..40 {
        let content = format!("still here {i}");
        t.call("POST", &path, None, Some(json!({ "content": content })))
            .await
            .expect(200);
        // Stored, and on the agent's screen, while every delivery to the dead receiver hangs.
        let seen = agent.next_event(Duration::from_secs(10)).await.unwrap();
        assert_eq!(seen["data"]["content"], content.as_str(), "{seen}");
    }
    // A healthy receiver is not starved by the dead one either.
    t.eventually(
        Duration::from_secs(20),
        "the healthy receiver got everything",
        || async {
            let got = healthy
                .received()
                .iter()
                .filter(|r| {
                    r.body["content"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("still here"))
                })
                .count();
            (got == 40).then_some(())
        },
    )
    .await;
    assert!(
        !dead.received().is_empty(),
        "deliveries to the dead receiver were attempted (and are still hanging)"
    );
}
