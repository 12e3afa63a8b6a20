//! Evolution API's Chatwoot integration, replayed.
//!
//! Read from github:EvolutionAPI/evolution-api at commit
//! 3454bec79f514995df9a5ea36a3554ab35cf1c82 (version 2.3.6):
//! `src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts` (`create` →
//! `initInstanceChatwoot`, `findContact`/`getFilterPayload`/`getNumbers`,
//! `findContactInContactList`/`mergeBrazilianContacts`, `createContact`, `updateContact`,
//! `createConversation`, `getInbox`, `createMessage`, `sendData`, `receiveWebhook`,
//! `updateChatwootMessageId`, `eventWhatsapp` for `messages.upsert` and `messages.read`),
//! `src/api/integrations/chatbot/chatwoot/dto/chatwoot.dto.ts`, `src/config/env.config.ts`
//! (`BOT_CONTACT` on unless turned off) and
//! `src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts` (what it keeps of a created
//! message: `id`, `inbox_id`, `conversation_id`; `messages.read` on a READ receipt of its own
//! message). Its SDK calls go through `@figuro/chatwoot-sdk` 1.1.17 (the version its
//! package-lock resolves; read from the npm tarball, `dist/core/request.js` and
//! `dist/services/*.js`): every request carries `Accept: application/json`,
//! `Authorization: Bearer <token>` and `api_access_token: <token>`; JSON bodies are sent with
//! `Content-Type: application/json`; `messages.create` is always multipart (strings as they are,
//! anything else JSON-encoded: `private` becomes `"false"`, `content_attributes` a JSON string);
//! `inboxes.create` posts to `…/inboxes/` with a trailing slash; `contacts.update` is a PUT.
//! `sendData` (a WhatsApp file) is a raw axios multipart POST with only `api_access_token`.
//!
//! Not replayable through the API: marking a sent reply (`chatwootImport.updateMessageSourceID`
//! writes `source_id` straight into Chatwoot's PostgreSQL) and `addLabelToContact` (inserts
//! into Chatwoot's `tags`/`taggings` tables); both need `CHATWOOT_IMPORT_DATABASE_CONNECTION_URI`.

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{
    Body, Field, Flow, JPEG, agent_reply, agent_reply_with_picture, callback_for, download, id_of,
    truthy,
};

on_both_databases!(
    evolution_replays_its_whatsapp_flow,
    evolution_merges_brazilian_duplicates
);

const INBOX_NAME: &str = "atendimento";
const CUSTOMER_JID: &str = "5511987654321@s.whatsapp.net";
const CUSTOMER_NUMBER: &str = "5511987654321";
const CUSTOMER_PUSH_NAME: &str = "Maria Silva";
const INSTANCE_NUMBER: &str = "5511999990000";

/// What one Evolution instance knows: its configuration and its caches.
struct Evolution {
    token: String,
    account: String,
    merge_brazil_contacts: bool,
    /// `getInbox`'s cache.
    inbox: Option<Value>,
    /// `createConversation`'s cache for the customer's JID.
    conversation: Option<i64>,
    /// What each `mergeBrazilianContacts` answered.
    merges: Vec<Value>,
}

impl Evolution {
    fn new(t: &TestApp, merge_brazil_contacts: bool) -> Evolution {
        Evolution {
            token: t.token.clone(),
            account: t.account_id.to_string(),
            merge_brazil_contacts,
            inbox: None,
            conversation: None,
            merges: Vec::new(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/accounts/{}{rest}", self.account)
    }

    /// The SDK's headers (`getHeaders`), with `Content-Type: application/json` for a JSON body.
    fn sdk(&self, json_body: bool) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("accept", "application/json".to_owned()),
            ("authorization", format!("Bearer {}", self.token)),
            ("api_access_token", self.token.clone()),
        ];
        if json_body {
            h.push(("content-type", "application/json".to_owned()));
        }
        h
    }

    /// `sendData`'s headers: axios' default Accept, the token, and form-data's own Content-Type.
    fn axios_form(&self) -> Vec<(&'static str, String)> {
        vec![
            ("accept", "application/json, text/plain, */*".to_owned()),
            ("api_access_token", self.token.clone()),
        ]
    }
}

/// `getNumbers`: a Brazilian number with and without the ninth digit.
fn numbers(query: &str) -> Vec<String> {
    let mut out = vec![query.to_owned()];
    if query.starts_with("+55") && query.len() == 14 {
        out.push(format!("{}{}", &query[..5], &query[6..]));
    } else if query.starts_with("+55") && query.len() == 13 {
        out.push(format!("{}9{}", &query[..5], &query[5..]));
    }
    out
}

/// `getFilterPayload`: `phone_number equal_to` each number without its `+`, OR-ed.
fn filter_payload(query: &str) -> Value {
    let numbers = numbers(query);
    let last = numbers.len() - 1;
    let clauses: Vec<Value> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "attribute_key": "phone_number",
                "filter_operator": "equal_to",
                "values": [n.replacen('+', "", 1)],
                "query_operator": if i == last { Value::Null } else { json!("OR") },
            })
        })
        .collect();
    json!({ "payload": clauses })
}

/// `findContact` for a phone number (digits only): the filter request, then the contact it
/// picks (or what `mergeBrazilianContacts` answers when it finds the same person twice).
async fn find_contact(flow: &mut Flow<'_>, ev: &mut Evolution, digits: &str) -> Option<Value> {
    let query = format!("+{digits}");
    let answer = flow
        .send(
            "findContact",
            "POST",
            &ev.path("/contacts/filter"),
            &ev.sdk(true),
            Body::Json(filter_payload(&query)),
        )
        .await;
    flow.ok(&answer);
    let payload = answer.body["payload"].as_array().cloned();
    flow.check(
        payload.is_some(),
        "`payload`: the array of matching contacts (it reads `payload.length` and `payload[0]`)",
    );
    let contacts = payload.unwrap_or_default();
    if contacts.len() > 1 {
        return find_in_list(flow, ev, &contacts, &query).await;
    }
    contacts.into_iter().next()
}

/// `findContactInContactList`.
async fn find_in_list(
    flow: &mut Flow<'_>,
    ev: &mut Evolution,
    contacts: &[Value],
    query: &str,
) -> Option<Value> {
    let numbers = numbers(query);
    if contacts.len() == 2 && ev.merge_brazil_contacts && query.starts_with("+55") {
        let by_length = |n: usize| {
            contacts
                .iter()
                .find(|c| c["phone_number"].as_str().map(str::len) == Some(n))
                .map(|c| c["id"].clone())
        };
        let mut body = json!({});
        if let Some(base) = by_length(14) {
            body["base_contact_id"] = base;
        }
        if let Some(mergee) = by_length(13) {
            body["mergee_contact_id"] = mergee;
        }
        let answer = flow
            .send(
                "mergeBrazilianContacts",
                "POST",
                &ev.path("/actions/contact_merge"),
                &ev.sdk(true),
                Body::Json(body.clone()),
            )
            .await;
        // `findContact` returns what the merge answers; on an error the SDK throws and
        // `mergeBrazilianContacts` resolves to null.
        if !flow.ok(&answer) {
            return None;
        }
        flow.check(
            id_of(&answer.body["id"]).is_some()
                && id_of(&answer.body["id"]) == id_of(&body["base_contact_id"]),
            "the base contact itself (`id`, `identifier`), as Chatwoot's contact_merge answers",
        );
        ev.merges.push(answer.body.clone());
        return Some(answer.body);
    }
    let phone = numbers.iter().fold(
        String::new(),
        |a, n| if n.len() > a.len() { n.clone() } else { a },
    );
    if let Some(c) = contacts
        .iter()
        .find(|c| c["phone_number"] == phone.as_str())
    {
        return Some(c.clone());
    }
    contacts
        .iter()
        .find(|c| {
            c["phone_number"]
                .as_str()
                .is_some_and(|p| numbers.iter().any(|n| n == p))
        })
        .cloned()
}

/// `getInbox`: the inbox named `nameInbox` in the inbox list (cached).
async fn get_inbox(flow: &mut Flow<'_>, ev: &mut Evolution) -> Option<Value> {
    if let Some(inbox) = &ev.inbox {
        return Some(inbox.clone());
    }
    let answer = flow
        .send(
            "getInbox",
            "GET",
            &ev.path("/inboxes"),
            &ev.sdk(false),
            Body::Empty,
        )
        .await;
    flow.ok(&answer);
    let found = answer.body["payload"]
        .as_array()
        .and_then(|list| list.iter().find(|i| i["name"] == INBOX_NAME).cloned());
    flow.check(
        found.is_some(),
        "`payload`: the inboxes, with its own found by `name`",
    );
    if let Some(inbox) = &found {
        flow.check(
            id_of(&inbox["id"]).is_some() && inbox["inbox_identifier"].is_string(),
            "the inbox's `id` and `inbox_identifier` (used for `update_last_seen`)",
        );
    }
    ev.inbox = found.clone();
    found
}

/// `updateContact`: a PUT; the SDK's exception makes it answer null.
async fn update_contact(
    flow: &mut Flow<'_>,
    ev: &Evolution,
    id: &Value,
    data: Value,
) -> Option<Value> {
    let answer = flow
        .send(
            "updateContact",
            "PUT",
            &ev.path(&format!("/contacts/{id}")),
            &ev.sdk(true),
            Body::Json(data),
        )
        .await;
    flow.ok(&answer).then_some(answer.body)
}

/// `createContact` for a WhatsApp contact or the bot contact, as `createContact` builds it.
async fn create_contact(
    flow: &mut Flow<'_>,
    ev: &mut Evolution,
    digits: &str,
    inbox_id: i64,
    name: &str,
    avatar_url: Value,
    jid: Option<&str>,
) -> Option<Value> {
    let mut data = json!({"inbox_id": inbox_id, "name": name});
    if let Some(jid) = jid {
        data["identifier"] = json!(jid);
    }
    data["avatar_url"] = avatar_url;
    if jid.is_none_or(|j| j.contains('@')) {
        data["phone_number"] = json!(format!("+{digits}"));
    }
    let answer = flow
        .send(
            "createContact",
            "POST",
            &ev.path("/contacts"),
            &ev.sdk(true),
            Body::Json(data),
        )
        .await;
    if !flow.ok(&answer) {
        return None;
    }
    flow.check(
        id_of(&answer.body["payload"]["contact"]["id"]).is_some(),
        "`payload.contact.id` (it reads `payload.id || payload.contact.id || id`)",
    );
    // `createContact` looks the contact up again for `addLabelToContact` (which then needs a
    // database connection to Chatwoot and does nothing here).
    let again = find_contact(flow, ev, digits).await;
    flow.check(
        again.is_some_and(|c| c["id"] == answer.body["payload"]["contact"]["id"]),
        "the contact it just created, found by its phone number without `+` (`payload[0].id`)",
    );
    Some(answer.body)
}

/// `createConversation` for the customer writing from `CUSTOMER_JID`: the conversation id.
async fn create_conversation(flow: &mut Flow<'_>, ev: &mut Evolution) -> Option<i64> {
    // "Processa atualização de contatos já criados @lid".
    if let Some(contact) = find_contact(flow, ev, CUSTOMER_NUMBER).await
        && contact["identifier"] != CUSTOMER_JID
    {
        let updated = update_contact(
            flow,
            ev,
            &contact["id"],
            json!({"identifier": CUSTOMER_JID, "phone_number": format!("+{CUSTOMER_NUMBER}")}),
        )
        .await;
        if updated.is_none()
            && let Some(base) = find_contact(flow, ev, CUSTOMER_NUMBER).await
        {
            let answer = flow
                .send(
                    "mergeContacts",
                    "POST",
                    &ev.path("/actions/contact_merge"),
                    &ev.sdk(true),
                    Body::Json(
                        json!({"base_contact_id": base["id"], "mergee_contact_id": contact["id"]}),
                    ),
                )
                .await;
            flow.ok(&answer);
        }
    }
    if let Some(id) = ev.conversation {
        let answer = flow
            .send(
                "conversations.get (cached id)",
                "GET",
                &ev.path(&format!("/conversations/{id}")),
                &ev.sdk(false),
                Body::Empty,
            )
            .await;
        if flow.ok(&answer) && truthy(&answer.body) {
            return Some(id);
        }
        ev.conversation = None;
    }
    let inbox = get_inbox(flow, ev).await?;
    let inbox_id = id_of(&inbox["id"])?;
    let mut contact = find_contact(flow, ev, CUSTOMER_NUMBER).await;
    if let Some(found) = contact.clone() {
        // No profile picture on WhatsApp: '' against the file name of Chatwoot's thumbnail.
        let thumbnail_file = found["thumbnail"]
            .as_str()
            .unwrap_or_default()
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let picture_needs_update = !thumbnail_file.is_empty();
        let name = found["name"].as_str().unwrap_or_default();
        let name_needs_update = name.is_empty()
            || name == CUSTOMER_NUMBER
            || numbers(&format!("+{CUSTOMER_NUMBER}"))
                .iter()
                .any(|v| name == v || name == &v[3..] || name == &v[1..]);
        if picture_needs_update || name_needs_update {
            let mut data = json!({});
            if name_needs_update {
                data["name"] = json!(CUSTOMER_PUSH_NAME);
            }
            data["avatar"] = Value::Null;
            contact = update_contact(flow, ev, &found["id"], data).await;
        }
    } else {
        contact = create_contact(
            flow,
            ev,
            CUSTOMER_NUMBER,
            inbox_id,
            CUSTOMER_PUSH_NAME,
            Value::Null,
            Some(CUSTOMER_JID),
        )
        .await;
    }
    let contact = contact?;
    let contact_id = [
        &contact["payload"]["id"],
        &contact["payload"]["contact"]["id"],
        &contact["id"],
    ]
    .into_iter()
    .find_map(id_of)?;
    let answer = flow
        .send(
            "contacts.listConversations",
            "GET",
            &ev.path(&format!("/contacts/{contact_id}/conversations")),
            &ev.sdk(false),
            Body::Empty,
        )
        .await;
    flow.ok(&answer);
    let listed = answer.body["payload"].as_array().cloned();
    flow.check(
        listed.is_some(),
        "`payload`: the contact's conversations (`inbox_id`, `status`, `id`)",
    );
    // `reopenConversation` off: an unresolved conversation of this inbox is reused.
    if let Some(found) = listed
        .unwrap_or_default()
        .iter()
        .find(|c| id_of(&c["inbox_id"]) == Some(inbox_id) && c["status"] != "resolved")
    {
        let id = id_of(&found["id"]);
        ev.conversation = id;
        return id;
    }
    let answer = flow
        .send(
            "conversations.create",
            "POST",
            &ev.path("/conversations"),
            &ev.sdk(true),
            Body::Json(json!({
                "contact_id": contact_id.to_string(),
                "inbox_id": inbox_id.to_string(),
            })),
        )
        .await;
    flow.ok(&answer);
    let id = id_of(&answer.body["id"]);
    flow.check(id.is_some(), "the new conversation's `id`");
    ev.conversation = id;
    id
}

/// `createMessage` through the SDK: always multipart.
async fn create_message(
    flow: &mut Flow<'_>,
    ev: &Evolution,
    conversation_id: i64,
    content: &str,
    message_type: &str,
    source_id: &str,
) -> Option<Value> {
    let fields = vec![
        Field::text("content", content),
        Field::text("message_type", message_type),
        Field::text("private", "false"),
        Field::text("source_id", source_id),
        Field::text(
            "content_attributes",
            r#"{"in_reply_to":null,"in_reply_to_external_id":null}"#,
        ),
    ];
    let answer = flow
        .send(
            "createMessage",
            "POST",
            &ev.path(&format!("/conversations/{conversation_id}/messages")),
            &ev.sdk(false),
            Body::Multipart(fields),
        )
        .await;
    flow.ok(&answer).then_some(answer.body)
}

/// What `messages.upsert` keeps of the created message.
fn check_kept(flow: &mut Flow<'_>, message: &Value, inbox_id: i64, conversation_id: i64) {
    flow.check(
        id_of(&message["id"]).is_some()
            && id_of(&message["inbox_id"]) == Some(inbox_id)
            && id_of(&message["conversation_id"]) == Some(conversation_id),
        "`id`, `inbox_id` and `conversation_id` (kept as chatwootMessageId, chatwootInboxId, \
         chatwootConversationId)",
    );
}

/// The agent's view of an incoming WhatsApp message Evolution created.
async fn check_incoming(
    flow: &mut Flow<'_>,
    conversation_id: i64,
    created: &Value,
    content: &str,
    source_id: &str,
) -> Value {
    let seen = flow
        .agent_messages(conversation_id)
        .await
        .into_iter()
        .find(|m| m["id"] == created["id"])
        .unwrap_or(Value::Null);
    let incoming = seen["message_type"] == 0 || seen["message_type"] == "incoming";
    flow.check_payload(
        "the agent's view of the WhatsApp message (GET …/messages)",
        incoming
            && seen["private"] == false
            && seen["content"] == content
            && seen["source_id"] == source_id,
        "a public incoming message with its text and `source_id` WAID:<WhatsApp id> \
         (multipart `private=false` is the string \"false\")",
        &seen,
    );
    seen
}

/// The agent's reply as Evolution's `receiveWebhook` reads it, for a conversation with the
/// customer: what decides whether and where it sends it. Returns `contact_inbox.source_id`.
fn check_reply_callback(
    flow: &mut Flow<'_>,
    body: &Value,
    inbox_id: i64,
    conversation_id: i64,
    content: &str,
) -> Option<String> {
    let what = "the reply's callback to Evolution's webhook_url";
    flow.check_payload(
        what,
        body["event"] == "message_created"
            && !truthy(&body["private"])
            && body["message_type"] == "outgoing"
            && body["content"] == content,
        "`event` message_created, `private` false, `message_type` \"outgoing\", `content`",
        body,
    );
    let sender = &body["conversation"]["meta"]["sender"];
    let chat_id = sender["identifier"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            sender["phone_number"]
                .as_str()
                .map(|p| p.replacen('+', "", 1))
        });
    flow.check_payload(
        what,
        chat_id.as_deref() == Some(CUSTOMER_JID),
        "`conversation.meta.sender.identifier` (the WhatsApp JID it sends to; else \
         `phone_number` without +)",
        body,
    );
    let messages = body["conversation"]["messages"].as_array();
    flow.check_payload(
        what,
        messages.is_some_and(|m| {
            m.len() == 1
                && m[0]["id"] == body["id"]
                && !m[0]["source_id"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("WAID:"))
        }),
        "`conversation.messages`: exactly this message (it sends every entry; one whose \
         `source_id` starts with WAID: and whose `id` is this one is an echo and is skipped)",
        body,
    );
    let sender_name = body["conversation"]["messages"][0]["sender"]["available_name"]
        .as_str()
        .or(body["sender"]["name"].as_str());
    flow.check_payload(
        what,
        sender_name.is_some_and(|n| !n.is_empty()),
        "the agent's name for the signature: `conversation.messages[0].sender.available_name` \
         or `sender.name`",
        body,
    );
    flow.check_payload(
        what,
        id_of(&body["id"]).is_some()
            && id_of(&body["inbox"]["id"]) == Some(inbox_id)
            && id_of(&body["conversation"]["id"]) == Some(conversation_id),
        "`id`, `inbox.id`, `conversation.id` (kept with the WhatsApp message)",
        body,
    );
    let source = body["conversation"]["contact_inbox"]["source_id"]
        .as_str()
        .map(str::to_owned);
    flow.check_payload(
        what,
        source.is_some(),
        "`conversation.contact_inbox.source_id` (kept for `update_last_seen`)",
        body,
    );
    source
}

/// `initInstanceChatwoot` with `autoCreate`, the bot contact and the QR-code conversation.
async fn set_up(flow: &mut Flow<'_>, ev: &mut Evolution, rx: &Receiver) -> i64 {
    let list = flow
        .send(
            "inboxes.list",
            "GET",
            &ev.path("/inboxes"),
            &ev.sdk(false),
            Body::Empty,
        )
        .await;
    flow.ok(&list);
    let names: Vec<Value> = list.body["payload"]
        .as_array()
        .map(|l| l.iter().map(|i| i["name"].clone()).collect())
        .unwrap_or_default();
    flow.check(
        list.body["payload"].is_array() && !names.contains(&json!(INBOX_NAME)),
        "`payload`: the inboxes by `name` (none named after the instance yet)",
    );
    let created = flow
        .send(
            "inboxes.create",
            "POST",
            &ev.path("/inboxes/"),
            &ev.sdk(true),
            Body::Json(json!({
                "name": INBOX_NAME,
                "channel": {"type": "api", "webhook_url": rx.url},
            })),
        )
        .await;
    flow.ok(&created);
    let inbox_id = flow.need(
        id_of(&created.body["id"]),
        "the new API inbox's `id` (POST …/inboxes/ with a trailing slash)",
    );

    // The bot contact "123456" and its conversation, where the QR code is posted.
    let bot = match find_contact(flow, ev, "123456").await {
        Some(c) => Some(c),
        None => {
            create_contact(
                flow,
                ev,
                "123456",
                inbox_id,
                "EvolutionAPI",
                json!("https://evolution-api.com/files/evolution-api-favicon.png"),
                None,
            )
            .await
        }
    };
    let bot_id = bot
        .as_ref()
        .and_then(|c| id_of(&c["id"]).or_else(|| id_of(&c["payload"]["contact"]["id"])));
    flow.check(
        bot_id.is_some(),
        "the bot contact (+123456) created: `id || payload.contact.id`",
    );
    let Some(bot_id) = bot_id else {
        return inbox_id;
    };
    let conversation = flow
        .send(
            "conversations.create (bot)",
            "POST",
            &ev.path("/conversations"),
            &ev.sdk(true),
            Body::Json(json!({
                "contact_id": bot_id.to_string(),
                "inbox_id": inbox_id.to_string(),
            })),
        )
        .await;
    flow.ok(&conversation);
    let Some(bot_conversation) = id_of(&conversation.body["id"]) else {
        flow.check(false, "the bot conversation's `id`");
        return inbox_id;
    };
    let init = format!("init:{INSTANCE_NUMBER}");
    let answer = flow
        .send(
            "messages.create (init)",
            "POST",
            &ev.path(&format!("/conversations/{bot_conversation}/messages")),
            &ev.sdk(false),
            Body::Multipart(vec![
                Field::text("content", init.clone()),
                Field::text("message_type", "outgoing"),
            ]),
        )
        .await;
    flow.ok(&answer);
    flow.check(truthy(&answer.body), "the created message");
    // The outgoing "init" comes back to the webhook: a command for the bot contact.
    if let Some(r) = callback_for(rx, &answer.body["id"]).await {
        let sender = &r.body["conversation"]["meta"]["sender"];
        let chat_id = sender["identifier"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                sender["phone_number"]
                    .as_str()
                    .map(|p| p.replacen('+', "", 1))
            });
        flow.check_payload(
            "the init command's callback",
            chat_id.as_deref() == Some("123456")
                && r.body["message_type"] == "outgoing"
                && r.body["content"] == init.as_str()
                && r.body["inbox"]["name"] == INBOX_NAME,
            "chat id 123456 (`identifier` empty, `phone_number` +123456), outgoing, the \
             command in `content`, `inbox.name`",
            &r.body,
        );
    } else {
        flow.check(
            false,
            "the init message's callback at the inbox's webhook_url",
        );
    }
    inbox_id
}

async fn evolution_replays_its_whatsapp_flow(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let mut flow = Flow::new(&t, "Evolution API");
    let mut ev = Evolution::new(&t, false);
    let inbox_id = set_up(&mut flow, &mut ev, &rx).await;

    // messages.upsert: the customer's first WhatsApp message (text).
    let conversation_id = create_conversation(&mut flow, &mut ev).await;
    let conversation_id = flow.need(conversation_id, "a conversation for the WhatsApp message");
    let text = "Oi, quero saber do meu pedido";
    let first = create_message(
        &mut flow,
        &ev,
        conversation_id,
        text,
        "incoming",
        "WAID:3EB0C767D26A1D5B2C47",
    )
    .await;
    if let Some(m) = &first {
        check_kept(&mut flow, m, inbox_id, conversation_id);
        check_incoming(
            &mut flow,
            conversation_id,
            m,
            text,
            "WAID:3EB0C767D26A1D5B2C47",
        )
        .await;
    }

    // messages.upsert: a photo with a caption, uploaded by `sendData`.
    let again = create_conversation(&mut flow, &mut ev).await;
    flow.check(
        again == Some(conversation_id),
        "the same conversation for the same customer",
    );
    let caption = "Foto do produto";
    let photo = flow
        .send(
            "sendData",
            "POST",
            &ev.path(&format!("/conversations/{conversation_id}/messages")),
            &ev.axios_form(),
            Body::Multipart(vec![
                Field::text("content", caption),
                Field::text("message_type", "incoming"),
                Field::File {
                    name: "attachments[]",
                    filename: "k3j9x2.jpeg".into(),
                    mime: "image/jpeg",
                    bytes: JPEG.to_vec(),
                },
                Field::text("source_id", "WAID:3EB0D1E2F3A4B5C6D7E8"),
            ]),
        )
        .await;
    if flow.ok(&photo) {
        check_kept(&mut flow, &photo.body, inbox_id, conversation_id);
        let seen = check_incoming(
            &mut flow,
            conversation_id,
            &photo.body,
            caption,
            "WAID:3EB0D1E2F3A4B5C6D7E8",
        )
        .await;
        flow.check_payload(
            "the agent's view of the photo",
            seen["attachments"][0]["file_type"] == "image",
            "the photo as an image attachment",
            &seen,
        );
    }

    // An agent answers: the callback reaches the inbox's webhook_url.
    let reply_text = "Olá Maria! Seu pedido saiu para entrega.";
    let reply = agent_reply(&t, conversation_id, reply_text).await;
    let got = callback_for(&rx, &reply["id"]).await;
    let got = flow.need(got, "the reply's callback at the API inbox's webhook_url");
    let source_id =
        check_reply_callback(&mut flow, &got.body, inbox_id, conversation_id, reply_text);
    let attachments = &got.body["conversation"]["messages"][0]["attachments"];
    flow.check_payload(
        "the reply's callback",
        attachments.as_array().is_none_or(|a| a.is_empty()),
        "no attachments on a text reply (it sends each attachment instead of the text)",
        &got.body,
    );

    // An agent answers with a picture: Evolution hands `data_url` to WhatsApp, which
    // downloads it; the file type comes from the extension in the URL.
    let picture =
        agent_reply_with_picture(&t, conversation_id, "Seu comprovante", "comprovante.png").await;
    let got_picture = callback_for(&rx, &picture["id"]).await;
    let got_picture = flow.need(got_picture, "the picture reply's callback");
    check_reply_callback(
        &mut flow,
        &got_picture.body,
        inbox_id,
        conversation_id,
        "Seu comprovante",
    );
    let data_url = got_picture.body["conversation"]["messages"][0]["attachments"][0]["data_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, bytes) = download(&t, &data_url).await;
    flow.check_payload(
        "the picture reply's callback",
        data_url
            .rsplit('/')
            .next()
            .is_some_and(|f| f.ends_with(".png"))
            && status == 200
            && bytes == super::PNG,
        "`conversation.messages[0].attachments[0].data_url`: an absolute URL ending in the \
         file's name and extension, serving the file",
        &got_picture.body,
    );

    // Marking the reply sent writes source_id straight into Chatwoot's database: nothing to
    // replay. WhatsApp reports the customer read it: `messages.read`.
    let inbox = get_inbox(&mut flow, &mut ev).await;
    let identifier = inbox
        .as_ref()
        .and_then(|i| i["inbox_identifier"].as_str().map(str::to_owned));
    let source_id = match source_id {
        Some(s) => Some(s),
        None => {
            let answer = flow
                .send(
                    "conversations.get (source id)",
                    "GET",
                    &ev.path(&format!("/conversations/{conversation_id}")),
                    &ev.sdk(false),
                    Body::Empty,
                )
                .await;
            flow.ok(&answer);
            let s = answer.body["last_non_activity_message"]["conversation"]["contact_inbox"]
                ["source_id"]
                .as_str()
                .map(str::to_owned);
            flow.check(
                s.is_some(),
                "`last_non_activity_message.conversation.contact_inbox.source_id`",
            );
            s
        }
    };
    if let (Some(source_id), Some(identifier)) = (source_id, identifier) {
        let answer = flow
            .send(
                "update_last_seen",
                "POST",
                &format!(
                    "/public/api/v1/inboxes/{identifier}/contacts/{source_id}/conversations/{conversation_id}/update_last_seen"
                ),
                &ev.sdk(false),
                Body::Empty,
            )
            .await;
        flow.ok(&answer);
        let seen = flow
            .agent_sees_status(conversation_id, id_of(&reply["id"]).unwrap_or(0), "read")
            .await;
        flow.check_payload(
            "the agent's view of the reply after update_last_seen",
            seen["status"] == "read",
            "the reply shown as read (Chatwoot marks messages before contact_last_seen_at read)",
            &seen,
        );
    }
    flow.finish();
}

async fn evolution_merges_brazilian_duplicates(b: Backend) {
    let t = TestApp::start(b).await;
    let rx = Receiver::start(Behaviour::Accept).await;
    let mut flow = Flow::new(&t, "Evolution API (mergeBrazilContacts)");
    let mut ev = Evolution::new(&t, true);
    let inbox = t.api_inbox(INBOX_NAME, Some(&rx.url)).await;
    let inbox_id = inbox["id"].as_i64().unwrap();

    // An agent saved the customer before the ninth digit; later someone saved the new number
    // as a second card. Chatwoot keeps both as written; Throughline may see one person and
    // refuse the second: then Evolution's filter finds one contact and nothing is merged.
    let old = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Maria Silva", "phone_number": "+551187654321"}),
        )
        .await;
    let old = id_of(&old["payload"]["contact"]["id"]).unwrap();
    let second = t
        .admin(
            "POST",
            &t.acc("/contacts"),
            Some(json!({"name": "Maria Silva", "phone_number": "+5511987654321"})),
        )
        .await;
    let base = (second.status == 200)
        .then(|| id_of(&second.body["payload"]["contact"]["id"]))
        .flatten();

    // messages.upsert from 5511987654321: createConversation's first findContact (the number
    // with and without the ninth digit) finds the customer, merging two cards into the one
    // with the 14-character number; the contact then gets its WhatsApp JID.
    let conversation_id = create_conversation(&mut flow, &mut ev).await;
    let survivor = match base {
        Some(base) => {
            flow.check_payload(
                "the merges Evolution made",
                ev.merges.len() == 1 && id_of(&ev.merges[0]["id"]) == Some(base),
                "one merge: the filter finds +5511987654321 and +551187654321 (phone_number \
                 equal_to the digits without +), and POST …/actions/contact_merge keeps the \
                 14-character one",
                &Value::Array(ev.merges.clone()),
            );
            base
        }
        None => {
            flow.check_payload(
                "the merges Evolution made",
                ev.merges.is_empty(),
                "no merge: one contact for both forms of the number",
                &Value::Array(ev.merges.clone()),
            );
            old
        }
    };
    let conversation_id = flow.need(conversation_id, "a conversation for the customer");
    let text = "Oi, mudei de número";
    if let Some(m) = create_message(
        &mut flow,
        &ev,
        conversation_id,
        text,
        "incoming",
        "WAID:3EB0AA",
    )
    .await
    {
        check_kept(&mut flow, &m, inbox_id, conversation_id);
    }
    let after = find_contact(&mut flow, &mut ev, CUSTOMER_NUMBER).await;
    flow.check(
        after.is_some_and(|c| {
            id_of(&c["id"]) == Some(survivor)
                && c["identifier"] == CUSTOMER_JID
                && c["phone_number"] == "+5511987654321"
        }),
        "one contact: the customer's card, with the WhatsApp JID as `identifier` and the \
         number with its ninth digit",
    );
    if base.is_some() {
        let gone = t
            .admin("GET", &t.acc(&format!("/contacts/{old}")), None)
            .await;
        flow.check_payload(
            "the mergee after the merge (GET …/contacts/{id})",
            gone.status == 404,
            "the mergee deleted by the merge (404)",
            &gone.body,
        );
    }
    flow.finish();
}
