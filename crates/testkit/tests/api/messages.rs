//! Messages: creation, idempotency by external id, attachments, deletion.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::thread;

on_both_databases!(
    the_same_external_id_gives_one_message,
    api_inboxes_relay_incoming_messages,
    attachments_upload_and_download,
    deleting_keeps_the_line_and_drops_the_content,
    messages_page_backwards,
);

async fn the_same_external_id_gives_one_message(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Bridge", None).await;
    let id = thread(&t, &inbox, "first").await.conversation_id;
    let path = t.acc(&format!("/conversations/{id}/messages"));
    let body = json!({"content": "Olá do WhatsApp", "message_type": "incoming", "source_id": "wamid.HBgLNTUxMTk"});
    let first = t.post(&path, body.clone()).await;
    let second = t.post(&path, body.clone()).await;
    assert_eq!(first["id"], second["id"]);
    // Ten concurrent retries of the same id still make one message.
    let results = futures_all(
        &t,
        &path,
        &json!({"content": "again", "message_type": "incoming", "source_id": "wamid.X"}),
    )
    .await;
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    let list = t.get(&path).await["payload"].as_array().unwrap().clone();
    let ext: Vec<_> = list.iter().filter(|m| m["source_id"].is_string()).collect();
    assert_eq!(ext.len(), 2);
}

async fn futures_all(t: &TestApp, path: &str, body: &serde_json::Value) -> Vec<i64> {
    let mut handles = Vec::new();
    for _ in 0..10 {
        let client = t.client.clone();
        let url = t.url(path);
        let token = t.token.clone();
        let body = body.clone();
        handles.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("api_access_token", token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids
}

async fn api_inboxes_relay_incoming_messages(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Bridge", None).await;
    let th = thread(&t, &inbox, "hi").await;
    let path = t.acc(&format!("/conversations/{}/messages", th.conversation_id));
    let m = t
        .post(
            &path,
            json!({"content": "relayed", "message_type": "incoming"}),
        )
        .await;
    assert_eq!(m["message_type"], 0);
    assert_eq!(m["sender_type"], "Contact");
    assert_eq!(m["sender_id"], th.contact_id);
    let note = t
        .admin(
            "POST",
            &path,
            Some(json!({"content": "x", "message_type": "incoming", "private": true})),
        )
        .await;
    assert_eq!(note.status, 422);
    // Chatwoot's MessageBuilder takes `activity` from any client (bridges log
    // connection events that way); it is shown as an activity line.
    let activity = t
        .post(
            &path,
            json!({"content": "Connected", "message_type": "activity"}),
        )
        .await;
    assert_eq!(activity["message_type"], 2, "{activity}");
    let empty = t
        .admin("POST", &path, Some(json!({"content": "   "})))
        .await;
    assert_eq!(empty.status, 422);
}

async fn attachments_upload_and_download(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Files", None).await;
    let id = thread(&t, &inbox, "see attached").await.conversation_id;
    let png: Vec<u8> = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 1, 2, 3, 4];
    let form = reqwest::multipart::Form::new()
        .text("content", "Segue a nota fiscal")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("nota.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(b"<script>alert(1)</script>".to_vec())
                .file_name("page.html")
                .mime_str("text/html")
                .unwrap(),
        );
    let resp = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{id}/messages"))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let m: serde_json::Value = resp.json().await.unwrap();
    let attachments = m["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["file_type"], "image");
    let image = t
        .client
        .get(attachments[0]["data_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.unwrap().to_vec(), png);
    // HTML is served as a download, never rendered in our origin.
    let html = t
        .client
        .get(attachments[1]["data_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(html.headers()["content-type"], "application/octet-stream");
    assert!(
        html.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    // A guessed URL finds nothing.
    let data_url = attachments[0]["data_url"].as_str().unwrap();
    assert!(
        data_url.contains("/rails/active_storage/blobs/"),
        "{data_url}"
    );
    let guessed = data_url.replace("/blobs/", "/blobs/9");
    assert_eq!(t.client.get(guessed).send().await.unwrap().status(), 404);
    // Links sent before files moved under `/rails/` still open.
    let older = data_url.replace("/rails/active_storage/blobs/", "/attachments/");
    assert_eq!(t.client.get(older).send().await.unwrap().status(), 200);
}

async fn deleting_keeps_the_line_and_drops_the_content(b: Backend) {
    let t = TestApp::start(b).await;
    let (agent_id, agent) = t.agent("agent@acme.test", "agent").await;
    let inbox = t.api_inbox("App", None).await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": inbox["id"], "user_ids": [agent_id]}),
    )
    .await;
    let id = thread(&t, &inbox, "hello").await.conversation_id;
    let path = t.acc(&format!("/conversations/{id}/messages"));
    let mine = t
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"content": "typo"})),
        )
        .await
        .expect(200);
    let admins = t.post(&path, json!({"content": "admin's"})).await;
    assert_eq!(
        t.call(
            "DELETE",
            &format!("{path}/{}", admins["id"]),
            Some(&agent),
            None
        )
        .await
        .status,
        403
    );
    let deleted = t
        .call(
            "DELETE",
            &format!("{path}/{}", mine["id"]),
            Some(&agent),
            None,
        )
        .await
        .expect(200);
    assert_eq!(deleted["content"], "This message was deleted");
    assert_eq!(deleted["content_attributes"]["deleted"], true);
    assert_eq!(
        t.admin("DELETE", &format!("{path}/999999"), None)
            .await
            .status,
        404
    );
}

async fn messages_page_backwards(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("App", None).await;
    let id = thread(&t, &inbox, "m0").await.conversation_id;
    let path = t.acc(&format!("/conversations/{id}/messages"));
    for i in 1..30 {
        t.post(&path, json!({"content": format!("m{i}")})).await;
    }
    let latest = t.get(&path).await["payload"].as_array().unwrap().clone();
    assert_eq!(latest.len(), 20);
    assert_eq!(latest.last().unwrap()["content"], "m29");
    let oldest_shown = latest[0]["id"].as_i64().unwrap();
    let before = t.get(&format!("{path}?before={oldest_shown}")).await["payload"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(before.len(), 10);
    assert_eq!(before[0]["content"], "m0");
    let meta = t.get(&path).await["meta"].clone();
    assert_eq!(meta["contact"]["name"], "Ana Souza");
}
