//! Messaging channels (issue #14) through their real HTTP entries, against the provider fakes
//! in `throughline_testkit::providers`: each provider's signatures and handshake, repeats, media
//! both ways, replies with their status callbacks, provider errors; and the story of one
//! customer across WhatsApp, SMS and Telegram.

mod meta;
mod story;
mod telegram;
pub(crate) mod twilio;
mod whatsapp;

use std::time::Duration;

use serde_json::Value;
use throughline_testkit::TestApp;

pub const WAIT: Duration = Duration::from_secs(20);

/// The conversations started in an inbox, newest first.
pub async fn conversations_in(t: &TestApp, inbox_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations?inbox_id={inbox_id}&status=all")))
        .await["data"]["payload"]
        .as_array()
        .unwrap()
        .clone()
}

/// A conversation's messages, oldest first.
pub async fn messages_of(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone()
}

/// The customer's messages in a conversation.
pub async fn incoming(t: &TestApp, display_id: i64) -> Vec<Value> {
    messages_of(t, display_id)
        .await
        .into_iter()
        .filter(|m| m["message_type"] == 0)
        .collect()
}

/// Waits until message `id` of the conversation has `status`, and returns it.
pub async fn message_with_status(t: &TestApp, display_id: i64, id: &Value, status: &str) -> Value {
    t.eventually(WAIT, &format!("message {id} to be {status}"), || async {
        messages_of(t, display_id)
            .await
            .into_iter()
            .find(|m| &m["id"] == id && m["status"] == status)
    })
    .await
}

/// The bytes behind an attachment's `data_url`.
pub async fn attachment_bytes(t: &TestApp, attachment: &Value) -> Vec<u8> {
    let url = attachment["data_url"].as_str().unwrap();
    let resp = t.client.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.bytes().await.unwrap().to_vec()
}

/// Posts the same request `n` times at once, as a provider retrying impatiently does; every
/// answer's status and body text.
pub async fn post_at_once(
    t: &TestApp,
    n: usize,
    path: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Vec<(u16, String)> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let mut req = t
                .client
                .post(t.url(path))
                .header("content-type", content_type)
                .body(body.to_vec());
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            tokio::spawn(async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.text().await.unwrap_or_default())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    answers
}

/// An agent's reply with one file (multipart, as the web app sends it).
pub async fn reply_with_file(
    t: &TestApp,
    display_id: i64,
    text: &str,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) {
    let form = reqwest::multipart::Form::new()
        .text("content", text.to_owned())
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(file_name.to_owned())
                .mime_str(content_type)
                .unwrap(),
        );
    let resp = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{display_id}/messages"))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// An agent's reply (JSON body as given); the stored message.
pub async fn reply(t: &TestApp, display_id: i64, body: serde_json::Value) -> Value {
    t.post(
        &t.acc(&format!("/conversations/{display_id}/messages")),
        body,
    )
    .await
}
