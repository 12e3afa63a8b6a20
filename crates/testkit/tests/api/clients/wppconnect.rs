//! wppconnect-server's Chatwoot client, replayed.
//!
//! Read from github:wppconnect-team/wppconnect-server at commit
//! 348a672ccfdf21c7a63f0b49c89d8761003fe472: `src/util/chatWootClient.ts` (`sendMessage`,
//! `findContact`, `createContact`, `findConversation`, `createConversation`; the QR-code and
//! status messages on `qrcode-…`/`status-…`), `src/controller/deviceController.ts` (`chatWoot`:
//! what it reads of the webhook Chatwoot posts to `/api/:session/chatwoot`),
//! `src/util/createSessionUtil.ts` (the `chatWoot` settings are the session's start body) and
//! `src/config.ts` (`sendQrCode`/`sendStatus` on).
//!
//! Its axios instance sends `Content-Type: application/json;charset=utf-8` and
//! `api_access_token` on every request, plus axios' `Accept: application/json, text/plain, */*`;
//! paths are relative to `baseURL` (`api/v1/…`, so `/api/v1/…`), the contact search keeps a
//! slash before its query string (`contacts/search/?q=5511…`, the digits without `+`), ids are
//! sent as the numbers of its JSON settings, and a conversation is created with the chat's
//! number as a new `source_id`. A file is a raw axios multipart POST (`api_access_token` and
//! form-data's Content-Type only). It reports no delivery or read status and never marks a
//! reply sent.

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{
    Body, Field, Flow, JPEG, PNG, agent_reply, agent_reply_with_picture, callback_for, download,
    id_of, truthy,
};

on_both_databases!(wppconnect_replays_its_whatsapp_flow);

const MOBILE_NUMBER: &str = "5511999999999";
const CUSTOMER: &str = "5511987654321";

/// The session's `chatWoot` settings.
struct Wpp {
    base: String,
    account_id: i64,
    inbox_id: i64,
    token: String,
}

/// A WhatsApp message as wppconnect hands it to `sendMessage`.
struct Message {
    sender_id: String,
    pushname: &'static str,
    chat_id: String,
    kind: Kind,
}

enum Kind {
    Text(&'static str),
    /// A file: its MIME type, `timestamp` (its file name) and caption.
    File {
        mimetype: &'static str,
        timestamp: &'static str,
        caption: &'static str,
        bytes: Vec<u8>,
    },
}

impl Wpp {
    fn path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{rest}", self.account_id)
    }

    /// The axios instance's headers.
    fn api(&self) -> Vec<(&'static str, String)> {
        vec![
            ("accept", "application/json, text/plain, */*".to_owned()),
            ("content-type", "application/json;charset=utf-8".to_owned()),
            ("api_access_token", self.token.clone()),
        ]
    }
}

/// `createContact` (with `findContact` first): the contact.
async fn create_contact(flow: &mut Flow<'_>, w: &Wpp, message: &Message) -> Option<Value> {
    let phone_number = format!(
        "+{}",
        message.sender_id.split('@').next().unwrap_or_default()
    );
    let found = flow
        .send(
            "findContact",
            "GET",
            &w.path(&format!(
                "/contacts/search/?q={}",
                phone_number.replacen('+', "", 1)
            )),
            &w.api(),
            Body::Empty,
        )
        .await;
    // findContact catches errors and answers null: then the contact is created.
    let found_ok = flow.ok(&found);
    if found_ok {
        flow.check(
            found.body["meta"]["count"].is_number() && found.body["payload"].is_array(),
            "`meta.count` and `payload` (it takes `payload[0]` when `meta.count > 0`)",
        );
    }
    if found_ok && found.body["meta"]["count"].as_i64().unwrap_or(0) > 0 {
        return found.body["payload"].get(0).cloned();
    }
    let created = flow
        .send(
            "createContact",
            "POST",
            &w.path("/contacts"),
            &w.api(),
            Body::Json(json!({
                "inbox_id": w.inbox_id,
                "name": message.pushname,
                "phone_number": phone_number,
            })),
        )
        .await;
    if !flow.ok(&created) {
        return None;
    }
    let contact = created.body["payload"]["contact"].clone();
    flow.check(
        id_of(&contact["id"]).is_some(),
        "`payload.contact` (its `id`)",
    );
    Some(contact)
}

/// `createConversation` (with `findConversation` first): the conversation.
async fn create_conversation(
    flow: &mut Flow<'_>,
    w: &Wpp,
    contact: &Value,
    source_id: &str,
) -> Option<Value> {
    let listed = flow
        .send(
            "findConversation",
            "GET",
            &w.path(&format!("/contacts/{}/conversations", contact["id"])),
            &w.api(),
            Body::Empty,
        )
        .await;
    if flow.ok(&listed) {
        flow.check(
            listed.body["payload"].is_array(),
            "`payload`: the contact's conversations (`inbox_id`, `status`)",
        );
        if let Some(found) = listed.body["payload"].as_array().and_then(|list| {
            list.iter()
                .find(|c| id_of(&c["inbox_id"]) == Some(w.inbox_id) && c["status"] != "resolved")
        }) {
            return Some(found.clone());
        }
    }
    let created = flow
        .send(
            "createConversation",
            "POST",
            &w.path("/conversations"),
            &w.api(),
            Body::Json(json!({
                "source_id": source_id,
                "inbox_id": w.inbox_id,
                "contact_id": contact["id"],
                "status": "open",
            })),
        )
        .await;
    if !flow.ok(&created) {
        return None;
    }
    flow.check(
        id_of(&created.body["id"]).is_some(),
        "the conversation (its `id`)",
    );
    Some(created.body)
}

/// `sendMessage`: the contact, the conversation, then the message. Returns the conversation id
/// and the created message.
async fn send_message(
    flow: &mut Flow<'_>,
    w: &Wpp,
    message: Message,
) -> (Option<i64>, Option<Value>) {
    let Some(contact) = create_contact(flow, w, &message).await else {
        flow.check(false, "a contact for the sender");
        return (None, None);
    };
    let source_id = message
        .chat_id
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let Some(conversation) = create_conversation(flow, w, &contact, &source_id).await else {
        flow.check(false, "a conversation for the chat");
        return (None, None);
    };
    let conversation_id = id_of(&conversation["id"]);
    let Some(id) = conversation_id else {
        return (None, None);
    };
    let endpoint = w.path(&format!("/conversations/{id}/messages"));
    let answer = match message.kind {
        Kind::Text(body) => {
            flow.send(
                "sendMessage (text)",
                "POST",
                &endpoint,
                &w.api(),
                Body::Json(json!({"content": body, "message_type": "incoming"})),
            )
            .await
        }
        Kind::File {
            mimetype,
            timestamp,
            caption,
            bytes,
        } => {
            let extension = match mimetype {
                "image/png" => "png",
                _ => "jpeg",
            };
            flow.send(
                "sendMessage (file)",
                "POST",
                &endpoint,
                &[
                    ("accept", "application/json, text/plain, */*".to_owned()),
                    ("api_access_token", w.token.clone()),
                ],
                Body::Multipart(vec![
                    Field::text("content", caption),
                    Field::File {
                        name: "attachments[]",
                        filename: format!("{timestamp}.{extension}"),
                        mime: mimetype,
                        bytes,
                    },
                    Field::text("message_type", "incoming"),
                    Field::text("private", "false"),
                ]),
            )
            .await
        }
    };
    let ok = flow.ok(&answer);
    (conversation_id, ok.then_some(answer.body))
}

/// What `chatWoot` (deviceController) reads of the webhook: the number to send to and the
/// message (`conversation.messages[0]`, unless the body has top-level `phone`/`message`).
fn check_callback(flow: &mut Flow<'_>, body: &Value, content: &str) -> Value {
    let what = "the reply's callback to wppconnect's /api/:session/chatwoot";
    flow.check_payload(
        what,
        body["event"] == "message_created"
            && !truthy(&body["private"])
            && !truthy(&body["is_private"])
            && body["message_type"] == "outgoing",
        "`event` message_created, `private`/`is_private` false, `message_type` \"outgoing\"",
        body,
    );
    flow.check_payload(
        what,
        body.get("phone").is_none() && body.get("message").is_none(),
        "no top-level `phone` or `message` (they would replace the defaults it reads from \
         `conversation`)",
        body,
    );
    flow.check_payload(
        what,
        body["conversation"]["meta"]["sender"]["phone_number"]
            .as_str()
            .map(|p| p.replacen('+', "", 1))
            .as_deref()
            == Some(CUSTOMER),
        "`conversation.meta.sender.phone_number` (+5511987654321: it sends to the digits)",
        body,
    );
    let message = body["conversation"]["messages"][0].clone();
    flow.check_payload(
        what,
        message["content"] == content && message["id"] == body["id"],
        "`conversation.messages[0]`: this message, with its `content`",
        body,
    );
    message
}

async fn wppconnect_replays_its_whatsapp_flow(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    // Done by hand in Chatwoot: an API inbox pointed at wppconnect's /api/:session/chatwoot.
    let inbox = t.api_inbox("WhatsApp", Some(&rx.url)).await;
    let w = Wpp {
        base: t.base.clone(),
        account_id: t.account_id,
        inbox_id: inbox["id"].as_i64().unwrap(),
        token: t.token.clone(),
    };
    let mut flow = Flow::new(&t, "wppconnect-server");

    // Session start: the QR code, then the status, from the configured number.
    let (qr_conversation, qr) = send_message(
        &mut flow,
        &w,
        Message {
            sender_id: MOBILE_NUMBER.into(),
            pushname: "WPPConnect",
            chat_id: format!("{MOBILE_NUMBER}@c.us"),
            kind: Kind::File {
                mimetype: "image/png",
                timestamp: "qrcode",
                caption: "leia o qrCode",
                bytes: PNG.to_vec(),
            },
        },
    )
    .await;
    flow.check(qr.is_some(), "the QR code posted");
    let (status_conversation, _) = send_message(
        &mut flow,
        &w,
        Message {
            sender_id: MOBILE_NUMBER.into(),
            pushname: "WPPConnect",
            chat_id: format!("{MOBILE_NUMBER}@c.us"),
            kind: Kind::Text("wppconnect status: inChat "),
        },
    )
    .await;
    flow.check(
        status_conversation.is_some() && status_conversation == qr_conversation,
        "the status in the QR code's conversation (found again by the number, without +)",
    );

    // The customer writes.
    let text = "Oi, quero saber do meu pedido";
    let (conversation_id, first) = send_message(
        &mut flow,
        &w,
        Message {
            sender_id: format!("{CUSTOMER}@c.us"),
            pushname: "Maria Silva",
            chat_id: format!("{CUSTOMER}@c.us"),
            kind: Kind::Text(text),
        },
    )
    .await;
    let conversation_id = flow.need(conversation_id, "a conversation for the customer");
    if let Some(m) = &first {
        flow.check_payload(
            "the created message",
            m["content"] == text,
            "the message created with its text",
            m,
        );
    }
    let (again, photo) = send_message(
        &mut flow,
        &w,
        Message {
            sender_id: format!("{CUSTOMER}@c.us"),
            pushname: "Maria Silva",
            chat_id: format!("{CUSTOMER}@c.us"),
            kind: Kind::File {
                mimetype: "image/jpeg",
                timestamp: "1760000000",
                caption: "Foto do produto",
                bytes: JPEG.to_vec(),
            },
        },
    )
    .await;
    flow.check(
        again == Some(conversation_id),
        "the customer's open conversation, found again",
    );
    if let Some(p) = &photo {
        flow.check_payload(
            "the created photo message",
            p["attachments"][0]["file_type"] == "image",
            "the photo as an image attachment",
            p,
        );
    }
    // The agent sees one conversation with both messages, public and incoming.
    let seen = flow.agent_messages(conversation_id).await;
    let incoming: Vec<&Value> = seen
        .iter()
        .filter(|m| m["message_type"] == 0 || m["message_type"] == "incoming")
        .filter(|m| m["private"] == false)
        .collect();
    flow.check_payload(
        "the agent's view of the customer's conversation",
        incoming.len() == 2,
        "both WhatsApp messages, public and incoming, in one conversation",
        &Value::Array(seen.clone()),
    );

    // An agent answers: text.
    let reply_text = "Olá Maria! Seu pedido saiu para entrega.";
    let reply = agent_reply(&t, conversation_id, reply_text).await;
    let got = flow.need(
        callback_for(&rx, &reply["id"]).await,
        "the reply's callback at the inbox's webhook",
    );
    let message = check_callback(&mut flow, &got.body, reply_text);
    flow.check_payload(
        "the reply's callback",
        !truthy(&message["attachments"]),
        "no `attachments` key on a text message (any array, even empty, makes it send \
         `attachments[0]` as a file)",
        &got.body,
    );

    // An agent answers with a picture: wppconnect rebuilds the file's URL from `baseURL` and
    // the part of `data_url` from `rails/` on, and sends that to WhatsApp.
    let picture =
        agent_reply_with_picture(&t, conversation_id, "Seu comprovante", "comprovante.png").await;
    let got_picture = flow.need(
        callback_for(&rx, &picture["id"]).await,
        "the picture reply's callback",
    );
    let message = check_callback(&mut flow, &got_picture.body, "Seu comprovante");
    let data_url = message["attachments"][0]["data_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let from = data_url.find("/rails/").map_or(0, |i| i + 1);
    let url = format!("{}/{}", w.base, &data_url[from..]);
    let (status, bytes) = download(&t, &url).await;
    flow.check_payload(
        "the picture reply's callback",
        message["attachments"][0]["file_type"] == "image"
            && data_url.contains("/rails/")
            && status == 200
            && bytes == PNG,
        "`conversation.messages[0].attachments[0]`: `file_type` (audio is sent as a voice \
         note) and a `data_url` with a `/rails/` path, so that baseURL + \"/\" + \
         data_url.substring(indexOf('/rails/') + 1) serves the file",
        &got_picture.body,
    );
    flow.finish();
}
