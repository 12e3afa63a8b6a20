//! WAHA's ChatWoot app, replayed.
//!
//! `fetch github:devlikeapro/waha` only holds branches up to 2024 without `src/apps/chatwoot`;
//! these files were read from the stored index of github:devlikeapro/waha, each at the commit it
//! was stored from:
//! - `src/apps/chatwoot/client/ContactService.ts` @ 49878f943d3cda4ceaaa53bcb748760b9319789a
//!   (`search` through `contacts.filter`, `create` through the inbox's Client API then
//!   `contacts.get`, `upsertCustomAttributes`, `upsertPhoneNumber`, `updateAvatar`);
//! - `src/apps/chatwoot/client/ContactConversationService.ts` @
//!   3a97923a0870bcf2d065c0b59959494b35561672 (`getByContactInfo`, its chat-id cache);
//! - `src/apps/chatwoot/client/ConversationService.ts` @ 8fda7eb85154bdb4ec63026f1223364595e7d977
//!   (`find` through `contacts.listConversations`, `create` through the Client API,
//!   `markAsRead`: an axios POST to the Client API's `update_last_seen` with
//!   `api_access_token: <inbox identifier>` and `{}`);
//! - `src/apps/chatwoot/client/Conversation.ts` and `client/types.ts` @
//!   1c6081a8718cbc403820a19c33c47cb1a93b5491 (`send`/`incoming` through `messages.create`,
//!   `updateMessageStatus` through `messages.update` with only `status`);
//! - `src/apps/chatwoot/consumers/waha/base.ts` @ 034cc401fe95600277aa4d658fc60bc18ab93495
//!   (`handle`, `buildChatWootMessage`: `private`, `content_attributes.in_reply_to`; it keeps
//!   `id`, `created_at`, `conversation_id` of the created message);
//! - `src/apps/chatwoot/consumers/waha/message.any.ts` @ 267eedd7399b29577a135389bcb9a80fad6e3f67
//!   and `messages/to/chatwoot/TextMessage.ts` @ 0caae8e455f368c2e393f047726c5cf1acad30a1 (a
//!   file is a base64 attachment named `no-filename.<ext>` when WhatsApp gives no name);
//! - `src/apps/chatwoot/consumers/waha/message.ack.ts`, `message.ack.utils.ts`,
//!   `services/MessageStatusService.ts`, `services/ChatWootAppService.ts` and `di/DIContainer.ts` @
//!   1c6081a8718cbc403820a19c33c47cb1a93b5491 (device ack → `delivered`, read ack → `read` when
//!   `syncMessageStatus` is on; a read ack also marks the conversation read (`markAsRead`, on by
//!   default); on setup the custom attributes and the "connected" message to the inbox
//!   notifications contact);
//! - `src/apps/chatwoot/api/chatwoot.webhook.controller.ts` and
//!   `contacts/InboxContactInfo.ts` @ 193eb53d32716e1e7c1fc0d04c547e3d2489ca1d, and
//!   `consumers/inbox/message_created.ts` @ 08f4b9a28295ca567dc3ff703fa095c8dcae2cef,
//!   `consumers/inbox/base.ts` @ 0c42486af86cfb6572f6ca72582f00f7facd1c08 and
//!   `client/ids.ts` @ 0caae8e455f368c2e393f047726c5cf1acad30a1 (what it reads of the inbox's
//!   webhook: the chat id from `conversation.meta.sender.custom_attributes`, `content_type`,
//!   top-level `attachments[].data_url`/`file_type`, `content_attributes.in_reply_to`);
//! - `contacts/WhatsAppContactInfo.ts` @ 0caae8e455f368c2e393f047726c5cf1acad30a1 and
//!   `i18n/locales/en-US.yaml` @ 01369e7936f757c4a6bc3e0db8a8b2f6c3ebbb8f.
//!
//! `const.ts` (the `waha_whatsapp_chat_id`/`_jid`/`_lid` keys, `whatsapp.integration`) and
//! `client/CustomAttributesService.ts` (list per model, create with `attribute_model`) were found
//! in the index without their repository; `services/ConversationSelector.ts` is not stored: the
//! selection here follows DIContainer's defaults (this inbox, any status, newest first).
//!
//! Its SDK is `@figuro/chatwoot-sdk` (`^1.1.16`); the published 1.1.17 sends
//! `Accept: application/json`, `Authorization: Bearer <token>` and `api_access_token: <token>`
//! (the SDK's master, 8a2fcc863268e13259ae4373104c8db1aed291fd, sends `Api-Access-Token`
//! instead: see the report), JSON with `Content-Type: application/json`, and `messages.create`
//! and `messages.update` as multipart (non-strings JSON-encoded). Its Client API client is the
//! same SDK with the inbox identifier as its token.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{
    Body, Field, Flow, JPEG, agent_reply, agent_reply_with_picture, callback_for, download, id_of,
    truthy,
};

on_both_databases!(waha_replays_its_whatsapp_flow);

const CHAT_ID: &str = "5511987654321@c.us";
const LID: &str = "204553546952913@lid";
const PHONE: &str = "+5511987654321";
const INBOX_CONTACT_CHAT_ID: &str = "whatsapp.integration";
const LOGO: &str = "https://raw.githubusercontent.com/devlikeapro/waha/core/logo.png";

/// The app's configuration and its chat-id cache.
struct Waha {
    account: i64,
    token: String,
    inbox_id: i64,
    inbox_identifier: String,
    cache: HashMap<String, (i64, String)>,
}

/// A `ContactInfo`: what WAHA knows of a chat.
struct ContactInfo {
    chat_id: &'static str,
    jid: Option<&'static str>,
    lid: Option<&'static str>,
    phone: Option<&'static str>,
    attributes: Value,
    create: Value,
    avatar_url: Option<&'static str>,
}

fn customer() -> ContactInfo {
    let attributes = json!({
        "waha_whatsapp_chat_id": CHAT_ID,
        "waha_whatsapp_jid": CHAT_ID,
        "waha_whatsapp_lid": LID,
    });
    ContactInfo {
        chat_id: CHAT_ID,
        jid: Some(CHAT_ID),
        lid: Some(LID),
        phone: Some(PHONE),
        create: json!({"name": "Maria Silva", "custom_attributes": attributes, "phone_number": PHONE}),
        attributes,
        // The customer has no profile picture.
        avatar_url: None,
    }
}

fn inbox_notifications() -> ContactInfo {
    let attributes = json!({"waha_whatsapp_chat_id": INBOX_CONTACT_CHAT_ID});
    ContactInfo {
        chat_id: INBOX_CONTACT_CHAT_ID,
        jid: None,
        lid: None,
        phone: None,
        create: json!({
            "identifier": INBOX_CONTACT_CHAT_ID,
            "name": "WhatsApp Integration (WAHA)",
            "avatar_url": LOGO,
            "custom_attributes": attributes,
        }),
        attributes,
        avatar_url: Some(LOGO),
    }
}

impl Waha {
    fn path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{rest}", self.account)
    }

    fn public(&self, rest: &str) -> String {
        format!("/public/api/v1/inboxes/{}{rest}", self.inbox_identifier)
    }

    fn headers(token: &str, json_body: bool) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("accept", "application/json".to_owned()),
            ("authorization", format!("Bearer {token}")),
            ("api_access_token", token.to_owned()),
        ];
        if json_body {
            h.push(("content-type", "application/json".to_owned()));
        }
        h
    }

    /// The AccountAPI client.
    fn account_api(&self, json_body: bool) -> Vec<(&'static str, String)> {
        Self::headers(&self.token, json_body)
    }

    /// The InboxAPI client: the same SDK with the inbox identifier as its token.
    fn inbox_api(&self, json_body: bool) -> Vec<(&'static str, String)> {
        Self::headers(&self.inbox_identifier, json_body)
    }
}

/// `SearchClauseEqualTo`.
fn clause(key: &str, values: Vec<&str>) -> Value {
    json!({
        "attribute_key": key,
        "filter_operator": "equal_to",
        "values": values,
        "attribute_model": "standard",
        "custom_attribute_type": "",
        "query_operator": "OR",
    })
}

/// `ContactService.search`: the contact and its `source_id` in this inbox.
async fn search(flow: &mut Flow<'_>, w: &Waha, info: &ContactInfo) -> Option<(Value, String)> {
    let mut chat_ids: Vec<&str> = Vec::new();
    for id in [Some(info.chat_id), info.jid, info.lid]
        .into_iter()
        .flatten()
    {
        if !chat_ids.contains(&id) {
            chat_ids.push(id);
        }
    }
    let mut payload = vec![
        clause("waha_whatsapp_chat_id", chat_ids.clone()),
        clause("identifier", chat_ids),
    ];
    if let Some(jid) = info.jid {
        payload.push(clause("waha_whatsapp_jid", vec![jid]));
    }
    if let Some(lid) = info.lid {
        payload.push(clause("waha_whatsapp_lid", vec![lid]));
    }
    if let (Some(jid), Some(phone)) = (info.jid, info.phone)
        && jid.ends_with("@c.us")
    {
        payload.push(clause("phone_number", vec![phone, &phone[1..]]));
    }
    if let Some(last) = payload.last_mut().and_then(Value::as_object_mut) {
        last.remove("query_operator");
    }
    let answer = flow
        .send(
            "ContactService.search",
            "POST",
            &w.path("/contacts/filter"),
            &w.account_api(true),
            Body::Json(json!({ "payload": payload })),
        )
        .await;
    flow.ok(&answer);
    let contacts = answer.body["payload"].as_array().cloned();
    flow.check(
        contacts.is_some(),
        "`payload`: the matching contacts, each with `contact_inboxes[].inbox.id` and `.source_id`",
    );
    let mut candidates = Vec::new();
    for contact in contacts.unwrap_or_default() {
        let source = contact["contact_inboxes"].as_array().and_then(|list| {
            list.iter()
                .find(|ci| id_of(&ci["inbox"]["id"]) == Some(w.inbox_id))
                .map(|ci| ci["source_id"].as_str().unwrap_or_default().to_owned())
        });
        if let Some(source) = source {
            candidates.push((contact, source));
        }
    }
    let with_phone = candidates
        .iter()
        .position(|(c, _)| truthy(&c["phone_number"]));
    match with_phone {
        Some(i) => Some(candidates.swap_remove(i)),
        None => candidates.into_iter().next(),
    }
}

/// `findOrCreateContact`, then `getByContactInfo`'s attribute, avatar and conversation steps:
/// the conversation id and the contact's `source_id` (cached by chat id).
async fn conversation_by_contact(
    flow: &mut Flow<'_>,
    w: &mut Waha,
    info: &ContactInfo,
) -> Option<(i64, String)> {
    if let Some(ids) = w.cache.get(info.chat_id) {
        return Some(ids.clone());
    }
    let (mut contact, source_id) = match search(flow, w, info).await {
        Some((contact, source)) => {
            if !truthy(&contact["phone_number"])
                && let Some(phone) = info.phone
            {
                let answer = flow
                    .send(
                        "upsertPhoneNumber",
                        "PUT",
                        &w.path(&format!("/contacts/{}", contact["id"])),
                        &w.account_api(true),
                        Body::Json(json!({"phone_number": phone})),
                    )
                    .await;
                flow.ok(&answer);
            }
            (contact, source)
        }
        None => {
            let created = flow
                .send(
                    "ContactService.create (Client API)",
                    "POST",
                    &w.public("/contacts"),
                    &w.inbox_api(true),
                    Body::Json(info.create.clone()),
                )
                .await;
            flow.ok(&created);
            let id = id_of(&created.body["id"]);
            let source = created.body["source_id"].as_str().map(str::to_owned);
            flow.check(
                id.is_some() && source.is_some(),
                "the contact's `id` and `source_id`",
            );
            let id = flow.need(id, "the new contact's `id`");
            let source = flow.need(source, "the new contact's `source_id`");
            let got = flow
                .send(
                    "contacts.get",
                    "GET",
                    &w.path(&format!("/contacts/{id}")),
                    &w.account_api(false),
                    Body::Empty,
                )
                .await;
            flow.ok(&got);
            flow.check(
                id_of(&got.body["payload"]["id"]) == Some(id),
                "`payload`: the contact (`id`, `custom_attributes`, `thumbnail`, `phone_number`)",
            );
            (got.body["payload"].clone(), source)
        }
    };
    let contact_id = flow.need(id_of(&contact["id"]), "the contact's `id`");

    // upsertCustomAttributes: the chat ids, unless the contact has exactly them already.
    let mut attributes = info.attributes.clone();
    attributes["waha_whatsapp_chat_id"] = json!(info.chat_id);
    if contact["custom_attributes"] != attributes {
        let mut merged: Map<String, Value> = contact["custom_attributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in attributes.as_object().cloned().unwrap_or_default() {
            merged.insert(k, v);
        }
        let answer = flow
            .send(
                "upsertCustomAttributes",
                "PUT",
                &w.path(&format!("/contacts/{contact_id}")),
                &w.account_api(true),
                Body::Json(json!({"custom_attributes": merged})),
            )
            .await;
        flow.ok(&answer);
        contact["custom_attributes"] = Value::Object(merged);
    }
    // updateAvatar(IF_MISSING); an error is only logged.
    if !truthy(&contact["thumbnail"])
        && let Some(url) = info.avatar_url
    {
        flow.send(
            "updateAvatarUrlSafe",
            "PUT",
            &w.path(&format!("/contacts/{contact_id}")),
            &w.account_api(true),
            Body::Json(json!({"avatar_url": url})),
        )
        .await;
    }

    // ConversationService.upsert.
    let listed = flow
        .send(
            "contacts.listConversations",
            "GET",
            &w.path(&format!("/contacts/{contact_id}/conversations")),
            &w.account_api(false),
            Body::Empty,
        )
        .await;
    flow.ok(&listed);
    let conversations = listed.body["payload"].as_array().cloned();
    flow.check(
        conversations.is_some(),
        "`payload`: the contact's conversations (`id`, `inbox_id`, `status`, `created_at`)",
    );
    let selected = conversations
        .unwrap_or_default()
        .into_iter()
        .filter(|c| id_of(&c["inbox_id"]) == Some(w.inbox_id))
        .max_by_key(|c| (c["created_at"].as_i64(), id_of(&c["id"])))
        .and_then(|c| id_of(&c["id"]));
    let conversation_id = match selected {
        Some(id) => id,
        None => {
            let created = flow
                .send(
                    "ConversationService.create (Client API)",
                    "POST",
                    &w.public(&format!("/contacts/{source_id}/conversations")),
                    &w.inbox_api(false),
                    Body::Empty,
                )
                .await;
            flow.ok(&created);
            flow.need(id_of(&created.body["id"]), "the new conversation's `id`")
        }
    };
    w.cache.insert(
        info.chat_id.to_owned(),
        (conversation_id, source_id.clone()),
    );
    Some((conversation_id, source_id))
}

/// `Conversation.send` → `messages.create` (multipart): checks what `handle` keeps.
async fn send_message(
    flow: &mut Flow<'_>,
    w: &Waha,
    conversation_id: i64,
    fields: Vec<Field>,
) -> Option<Value> {
    let answer = flow
        .send(
            "Conversation.send",
            "POST",
            &w.path(&format!("/conversations/{conversation_id}/messages")),
            &w.account_api(false),
            Body::Multipart(fields),
        )
        .await;
    if !flow.ok(&answer) {
        return None;
    }
    flow.check(
        id_of(&answer.body["id"]).is_some()
            && answer.body["created_at"].is_number()
            && id_of(&answer.body["conversation_id"]) == Some(conversation_id),
        "`id`, `created_at` (seconds, a number: it does `created_at * 1000`) and \
         `conversation_id` (kept in its message mapping)",
    );
    Some(answer.body)
}

/// The inbox webhook as `ChatwootWebhookController` and `MessageHandler` read it.
fn check_callback(flow: &mut Flow<'_>, body: &Value, conversation_id: i64, content: &str) {
    let what = "the reply's callback to WAHA's webhook";
    flow.check_payload(
        what,
        body["event"] == "message_created"
            && body["message_type"] == "outgoing"
            && !truthy(&body["private"])
            && !truthy(&body["content_attributes"]["deleted"])
            && body["content"] == content,
        "`event` message_created, `message_type` \"outgoing\" (\"incoming\" is dropped), \
         `private` false, no `content_attributes.deleted`, `content`",
        body,
    );
    let attrs = &body["conversation"]["meta"]["sender"]["custom_attributes"];
    let chat_id = attrs["waha_whatsapp_chat_id"]
        .as_str()
        .or(attrs["waha_whatsapp_jid"].as_str())
        .or(attrs["waha_whatsapp_lid"].as_str());
    flow.check_payload(
        what,
        chat_id == Some(CHAT_ID),
        "`conversation.meta.sender.custom_attributes.waha_whatsapp_chat_id`: the chat it \
         sends to (else it asks WhatsApp about `phone_number`)",
        body,
    );
    flow.check_payload(
        what,
        body["content_type"] == "text" && body["content_attributes"].is_object(),
        "`content_type` \"text\" (anything else is not sent) and `content_attributes` an \
         object (`in_reply_to`)",
        body,
    );
    flow.check_payload(
        what,
        id_of(&body["id"]).is_some()
            && id_of(&body["conversation"]["id"]) == Some(conversation_id)
            && !body["created_at"].is_null(),
        "`id`, `conversation.id`, `created_at` (its message mapping)",
        body,
    );
}

async fn waha_replays_its_whatsapp_flow(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    // Done by hand in Chatwoot: an API inbox whose webhook is WAHA's
    // /webhooks/chatwoot/{session}/{app id}.
    let inbox = t.api_inbox("WhatsApp", Some(&rx.url)).await;
    let mut w = Waha {
        account: t.account_id,
        token: t.token.clone(),
        inbox_id: inbox["id"].as_i64().unwrap(),
        inbox_identifier: inbox["inbox_identifier"].as_str().unwrap().to_owned(),
        cache: HashMap::new(),
    };
    let mut flow = Flow::new(&t, "WAHA");

    // The app is created: setupCustomAttributes.
    let mut current: Vec<Vec<Value>> = Vec::new();
    for model in ["0", "1"] {
        let answer = flow
            .send(
                "customAttributes.list",
                "GET",
                &w.path(&format!(
                    "/custom_attribute_definitions?attribute_model={model}"
                )),
                &w.account_api(false),
                Body::Empty,
            )
            .await;
        flow.ok(&answer);
        flow.check(
            answer.body.is_array(),
            "an array of definitions (`attribute_key`, `id`)",
        );
        current.push(answer.body.as_array().cloned().unwrap_or_default());
    }
    for (key, name, description) in [
        (
            "waha_whatsapp_chat_id",
            "WhatsApp Chat ID",
            "WhatsApp Chat ID",
        ),
        (
            "waha_whatsapp_jid",
            "WhatsApp JID",
            "WhatsApp Phone Number ID",
        ),
        (
            "waha_whatsapp_lid",
            "WhatsApp LID",
            "WhatsApp Linked ID (Anonymous ID)",
        ),
    ] {
        let existing = current[1].iter().find(|a| a["attribute_key"] == key);
        let answer = match existing {
            Some(a) => {
                flow.send(
                    "customAttributes.update",
                    "PATCH",
                    &w.path(&format!("/custom_attribute_definitions/{}", a["id"])),
                    &w.account_api(true),
                    Body::Json(json!({
                        "attribute_key": key,
                        "attribute_display_name": name,
                        "attribute_display_type": 0,
                        "attribute_description": description,
                    })),
                )
                .await
            }
            None => {
                flow.send(
                    "customAttributes.create",
                    "POST",
                    &w.path("/custom_attribute_definitions"),
                    &w.account_api(true),
                    Body::Json(json!({
                        "attribute_key": key,
                        "attribute_display_name": name,
                        "attribute_display_type": 0,
                        "attribute_description": description,
                        "attribute_model": 1,
                    })),
                )
                .await
            }
        };
        flow.ok(&answer);
    }
    // sendConnectedMessage: to the inbox notifications contact.
    let notifications = conversation_by_contact(&mut flow, &mut w, &inbox_notifications()).await;
    if let Some((id, _)) = notifications {
        send_message(
            &mut flow,
            &w,
            id,
            vec![
                Field::text(
                    "content",
                    "🔗 **CONNECTED: WhatsApp Session to ChatWoot Inbox**\n\n✅ WhatsApp session \
                     **default** has been successfully connected to this ChatWoot Inbox.",
                ),
                Field::text("message_type", "incoming"),
            ],
        )
        .await;
    }

    // message.any: the customer's text.
    let info = customer();
    let found = conversation_by_contact(&mut flow, &mut w, &info).await;
    let (conversation_id, source_id) = flow.need(found, "a conversation for the WhatsApp chat");
    let text = "Oi, quero saber do meu pedido";
    let first = send_message(
        &mut flow,
        &w,
        conversation_id,
        vec![
            Field::text("content", text),
            Field::text("message_type", "incoming"),
            Field::text("private", "false"),
            Field::text("content_attributes", "{}"),
        ],
    )
    .await;
    if let Some(m) = &first {
        let seen = flow
            .agent_messages(conversation_id)
            .await
            .into_iter()
            .find(|x| x["id"] == m["id"])
            .unwrap_or(Value::Null);
        flow.check_payload(
            "the agent's view of the WhatsApp message",
            (seen["message_type"] == 0 || seen["message_type"] == "incoming")
                && seen["private"] == false
                && seen["content"] == text,
            "a public incoming message (`private` sent as the string \"false\")",
            &seen,
        );
    }
    // message.any: a photo with a caption (cached chat: no lookup).
    let cached = conversation_by_contact(&mut flow, &mut w, &info).await;
    let (again, _) = flow.need(cached, "the cached conversation");
    let photo = send_message(
        &mut flow,
        &w,
        again,
        vec![
            Field::text("content", "Foto do produto"),
            Field::text("message_type", "incoming"),
            Field::text("private", "false"),
            Field::text("content_attributes", "{}"),
            Field::File {
                name: "attachments[]",
                filename: "no-filename.jpeg".into(),
                mime: "image/jpeg",
                bytes: JPEG.to_vec(),
            },
        ],
    )
    .await;
    if let Some(p) = &photo {
        flow.check_payload(
            "the created photo message",
            p["attachments"][0]["file_type"] == "image",
            "the photo as an image attachment",
            p,
        );
    }

    // An agent answers; the inbox's webhook reaches WAHA.
    let reply_text = "Olá Maria! Seu pedido saiu para entrega.";
    let reply = agent_reply(&t, conversation_id, reply_text).await;
    let reply_id = id_of(&reply["id"]).unwrap();
    let got = flow.need(
        callback_for(&rx, &reply["id"]).await,
        "the reply's callback at the inbox's webhook",
    );
    check_callback(&mut flow, &got.body, conversation_id, reply_text);
    flow.check_payload(
        "the reply's callback",
        got.body["attachments"]
            .as_array()
            .is_none_or(|a| a.len() != 1),
        "no single attachment on a text reply (`attachments || []`: with exactly one it sends \
         only the file)",
        &got.body,
    );
    // An agent answers with a picture: WAHA hands `data_url` to WhatsApp, which downloads it;
    // the MIME type comes from the file name at the end of the URL.
    let picture =
        agent_reply_with_picture(&t, conversation_id, "Seu comprovante", "comprovante.png").await;
    let got_picture = flow.need(
        callback_for(&rx, &picture["id"]).await,
        "the picture reply's callback",
    );
    check_callback(
        &mut flow,
        &got_picture.body,
        conversation_id,
        "Seu comprovante",
    );
    let file = &got_picture.body["attachments"][0];
    let data_url = file["data_url"].as_str().unwrap_or_default().to_owned();
    let (status, bytes) = download(&t, &data_url).await;
    flow.check_payload(
        "the picture reply's callback",
        file["file_type"] == "image"
            && data_url
                .rsplit('/')
                .next()
                .is_some_and(|f| f.ends_with(".png"))
            && status == 200
            && bytes == super::PNG,
        "top-level `attachments[0]`: `file_type` \"image\" and `data_url`, an absolute URL \
         ending in the file name (jpeg or png are sent as pictures) that serves the file",
        &got_picture.body,
    );

    // WhatsApp acks the reply: delivered to the device, then read (syncMessageStatus on).
    for status in ["delivered", "read"] {
        let answer = flow
            .send(
                "Conversation.updateMessageStatus",
                "PATCH",
                &w.path(&format!(
                    "/conversations/{conversation_id}/messages/{reply_id}"
                )),
                &w.account_api(false),
                Body::Multipart(vec![Field::text("status", status)]),
            )
            .await;
        flow.ok(&answer);
        let seen = flow
            .agent_sees_status(conversation_id, reply_id, status)
            .await;
        flow.check_payload(
            "the agent's view of the reply after the status update",
            seen["status"] == status,
            &format!("the reply shown as {status}"),
            &seen,
        );
    }
    // The read ack also marks the conversation read (markAsRead; the chat is cached).
    let cached = conversation_by_contact(&mut flow, &mut w, &info).await;
    let (cached_conversation, cached_source) = flow.need(cached, "the cached conversation");
    flow.check(
        cached_conversation == conversation_id && cached_source == source_id,
        "the cached conversation",
    );
    let answer = flow
        .send(
            "markAsRead",
            "POST",
            &w.public(&format!(
                "/contacts/{cached_source}/conversations/{cached_conversation}/update_last_seen"
            )),
            &[
                ("accept", "application/json, text/plain, */*".to_owned()),
                ("api_access_token", w.inbox_identifier.clone()),
                ("content-type", "application/json".to_owned()),
            ],
            Body::Json(json!({})),
        )
        .await;
    flow.ok(&answer);
    let seen = flow
        .agent_sees_status(conversation_id, id_of(&picture["id"]).unwrap(), "read")
        .await;
    flow.check_payload(
        "the agent's view of the picture reply after update_last_seen",
        seen["status"] == "read",
        "the picture reply, sent before, shown as read too",
        &seen,
    );
    flow.finish();
}
