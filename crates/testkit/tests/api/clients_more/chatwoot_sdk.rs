//! The JavaScript SDK the WhatsApp bridges use, `@figuro/chatwoot-sdk`, replayed call for call.
//!
//! Read from github.com/figurolatam/chatwoot-sdk at commit
//! 8a2fcc863268e13259ae4373104c8db1aed291fd (the repository's HEAD, package.json 1.1.16):
//! `src/core/request.ts` (every request carries `Accept: application/json` and, with a token,
//! `Authorization: Bearer <token>` plus `Api-Access-Token: <token>` — commit 7cc8724 changed the
//! `api_access_token` spelling, which proxies such as nginx drop by default, to this one; JSON
//! bodies go with `Content-Type: application/json`; query strings are built with
//! `encodeURIComponent`, undefined values left out; form fields that are not strings are sent as
//! their JSON text), `src/core/ChatwootAPI.ts`, `src/index.ts`, and the services and models used
//! below: `src/services/{Inboxes,Contacts,ContactInboxes,Conversations,ConversationAssignments,
//! ConversationLabels,Messages,Profile}.ts`, `src/models/*.ts`. Note that `inboxes.create` posts
//! to `/inboxes/` and `inboxes.get` reads `/inboxes/{id}/`, both with a trailing slash, that
//! `messages.create` is always `multipart/form-data`, and that list calls send `page=1` unless
//! told otherwise. The release on npm (1.1.17) still sends `api_access_token`; it is replayed
//! with Evolution API in `tests/api/clients/evolution.rs`.
//!
//! Its main calls are the ones the bridges make, in the order and with the arguments Evolution
//! API makes them (github.com/EvolutionAPI/evolution-api at commit
//! 3454bec79f514995df9a5ea36a3554ab35cf1c82,
//! `src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts`: `initInstanceChatwoot`,
//! `findContact` with `getFilterPayload` — phone numbers without their `+`, the Brazilian number
//! also without its ninth digit —, `createContact`, `updateContact`, `createConversation`,
//! `getInbox`, `createMessage`, `getReplyToIds`, the `messages.read` and `MESSAGES_DELETE`
//! branches; `whatsapp.baileys.service.ts` keeps a created message's `id`, `inbox_id` and
//! `conversation_id`), then the rest of the Application API surface the SDK offers an
//! integration (profile, inbox, contact and conversation reads, contact inboxes, assignment,
//! labels, filters, message lists). What each call's caller reads is checked: the fields the
//! bridge reads, or for the other calls the fields of the SDK's declared return type that
//! Chatwoot fills.
//!
//! The story: the bridge starts (finds or creates its inbox), the business writes first from the
//! phone (the contact is created named after its number), the customer answers quoting it after
//! the bridge restarted (the contact is renamed, its conversation found again), the integration
//! reads around, the customer reads and deletes a message, a WhatsApp group writes, and after an
//! agent resolved the conversation the bridge sets it pending again.

use serde_json::{Value, json};
use throughline_testkit::receiver::{Behaviour, Receiver};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{Body, Replay, id_at};

on_both_databases!(chatwoot_sdk_drives_a_whatsapp_bridge);

const JID: &str = "5521987654321@s.whatsapp.net";
const GROUP_JID: &str = "120363025555555555@g.us";

/// `getFilterPayload("+5521987654321")`: both spellings of the number, without `+`.
fn filter_payload() -> Value {
    json!({"payload": [
        {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["5521987654321"], "query_operator": "OR"},
        {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["552187654321"], "query_operator": null},
    ]})
}

async fn chatwoot_sdk_drives_a_whatsapp_bridge(b: Backend) {
    let t = TestApp::start(b).await;
    let bridge = Receiver::start(Behaviour::Accept).await;
    let token = t.token.clone();
    let bearer = format!("Bearer {token}");
    let sdk: [(&str, &str); 3] = [
        ("accept", "application/json"),
        ("authorization", &bearer),
        ("api-access-token", &token),
    ];
    let a = t.account_id;
    let acc = |rest: &str| format!("/api/v1/accounts/{a}{rest}");
    let mut r = Replay::new(&t, "@figuro/chatwoot-sdk (Evolution API)");

    // initInstanceChatwoot: inboxes.list, then inboxes.create when none has the name.
    let list = r
        .send("inboxes.list", "GET", &acc("/inboxes"), &sdk, Body::None)
        .await;
    r.check(
        list.status == 200
            && list.body["payload"]
                .as_array()
                .is_some_and(|l| l.iter().all(|i| i["name"] != "Evolution")),
        "200 with `payload`, an array of inboxes (their `name` and `id`)",
    );
    let created = r
        .send(
            "inboxes.create",
            "POST",
            &acc("/inboxes/"),
            &sdk,
            Body::Json(
                json!({"name": "Evolution", "channel": {"type": "api", "webhook_url": bridge.url}}),
            ),
        )
        .await;
    r.check(created.status == 200, "200 with the inbox's `id`");
    let inbox_id = r.need(id_at(&created.body, "/id"), "the new inbox's `id`");

    // getInbox: inboxes.list again, the inbox found by its name.
    let list = r
        .send(
            "inboxes.list (getInbox)",
            "GET",
            &acc("/inboxes"),
            &sdk,
            Body::None,
        )
        .await;
    let inbox = list.body["payload"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == "Evolution"))
        .cloned();
    r.check(
        inbox
            .as_ref()
            .is_some_and(|i| i["id"] == json!(inbox_id) && i["inbox_identifier"].is_string()),
        "the inbox named \"Evolution\" in `payload`, with its `id` and `inbox_identifier`",
    );
    let inbox_identifier = inbox
        .as_ref()
        .and_then(|i| i["inbox_identifier"].as_str())
        .unwrap_or_default()
        .to_owned();

    // The business writes first from the phone (fromMe): findContact, createContact (named
    // after the number), findContact again, listConversations, conversations.create,
    // messages.create (outgoing).
    let none = r
        .send(
            "findContact (request → contacts/filter)",
            "POST",
            &acc("/contacts/filter"),
            &sdk,
            Body::Json(filter_payload()),
        )
        .await;
    r.check(
        none.status == 200 && none.body["payload"] == json!([]),
        "200 with an empty `payload`: nobody has this number yet",
    );
    let contact = r
        .send(
            "contacts.create (createContact)",
            "POST",
            &acc("/contacts"),
            &sdk,
            Body::Json(json!({
                "inbox_id": inbox_id,
                "name": "5521987654321",
                "identifier": JID,
                "avatar_url": null,
                "phone_number": "+5521987654321",
            })),
        )
        .await;
    r.check(contact.status == 200, "200 with `payload.contact.id`");
    let contact_id = r.need(
        id_at(&contact.body, "/payload/id").or(id_at(&contact.body, "/payload/contact/id")),
        "`payload.id` or `payload.contact.id` (the bridge tries both, then `id`)",
    );
    let found = r
        .send(
            "findContact after create",
            "POST",
            &acc("/contacts/filter"),
            &sdk,
            Body::Json(filter_payload()),
        )
        .await;
    r.check(
        found.status == 200
            && found.body["payload"]
                .as_array()
                .is_some_and(|l| l.len() == 1)
            && found.body["payload"][0]["id"] == json!(contact_id),
        "200 with `payload` = [the contact]: the filter's \"5521987654321\" is \"+5521987654321\"",
    );
    let convs = r
        .send(
            "contacts.listConversations",
            "GET",
            &acc(&format!("/contacts/{contact_id}/conversations")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        convs.status == 200 && convs.body["payload"] == json!([]),
        "200 with `payload`, an empty array",
    );
    let conv = r
        .send(
            "conversations.create",
            "POST",
            &acc("/conversations"),
            &sdk,
            Body::Json(
                json!({"contact_id": contact_id.to_string(), "inbox_id": inbox_id.to_string()}),
            ),
        )
        .await;
    r.check(conv.status == 200, "200 with the conversation's `id`");
    let conversation_id = r.need(id_at(&conv.body, "/id"), "the conversation's `id`");
    let messages = acc(&format!("/conversations/{conversation_id}/messages"));
    let out = r
        .send(
            "messages.create (outgoing, fromMe)",
            "POST",
            &messages,
            &sdk,
            Body::Form(vec![
                ("content", "Olá Ana, seu pedido saiu para entrega".into()),
                ("message_type", "outgoing".into()),
                ("private", "false".into()),
                ("source_id", "WAID:3EB0C431C26A1916E2A1".into()),
                ("content_attributes", r#"{"in_reply_to":null}"#.into()),
            ]),
        )
        .await;
    r.check(
        out.status == 200
            && out.body["inbox_id"] == json!(inbox_id)
            && out.body["conversation_id"] == json!(conversation_id),
        "200 with `id`, `inbox_id` and `conversation_id`, which the bridge stores with the WhatsApp message",
    );
    let out_id = r.need(id_at(&out.body, "/id"), "the message's `id`");

    // The customer answers, quoting it, after the bridge restarted (its cache is empty):
    // findContact for the @lid check, findContact, updateContact (the name was the number),
    // listConversations finds the conversation, messages.create (incoming).
    for step in [
        "findContact (@lid check)",
        "findContact (createConversation)",
    ] {
        let f = r
            .send(
                step,
                "POST",
                &acc("/contacts/filter"),
                &sdk,
                Body::Json(filter_payload()),
            )
            .await;
        let c = &f.body["payload"][0];
        r.check(
            f.status == 200
                && c["id"] == json!(contact_id)
                && c["identifier"] == JID
                && c["name"] == "5521987654321"
                && c["phone_number"] == "+5521987654321",
            "200 with the contact first in `payload`: its `id`, `identifier`, `name`, `phone_number` (and `thumbnail`)",
        );
    }
    let renamed = r
        .send(
            "contacts.update (updateContact)",
            "PUT",
            &acc(&format!("/contacts/{contact_id}")),
            &sdk,
            Body::Json(json!({"name": "Ana Souza", "avatar": null})),
        )
        .await;
    r.check(
        renamed.status == 200 && renamed.body["payload"]["id"] == json!(contact_id),
        "200 with `payload.id` (the bridge takes the contact's id from it)",
    );
    let convs = r
        .send(
            "contacts.listConversations (finds it)",
            "GET",
            &acc(&format!("/contacts/{contact_id}/conversations")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        convs.status == 200
            && convs.body["payload"].as_array().is_some_and(|l| {
                l.iter().any(|c| {
                    c["id"] == json!(conversation_id)
                        && c["inbox_id"] == json!(inbox_id)
                        && c["status"] == "open"
                })
            }),
        "200 with the conversation in `payload`: its `id`, `inbox_id` and `status` (not resolved)",
    );
    let quoted =
        format!(r#"{{"in_reply_to":{out_id},"in_reply_to_external_id":"3EB0C431C26A1916E2A1"}}"#);
    let inc = r
        .send(
            "messages.create (incoming, quoting)",
            "POST",
            &messages,
            &sdk,
            Body::Form(vec![
                ("content", "Obrigada! Que horas chega?".into()),
                ("message_type", "incoming".into()),
                ("private", "false".into()),
                ("source_id", "WAID:3EB0C431C26A1916E2B2".into()),
                ("content_attributes", quoted),
            ]),
        )
        .await;
    r.check(
        inc.status == 200
            && inc.body["inbox_id"] == json!(inbox_id)
            && inc.body["conversation_id"] == json!(conversation_id),
        "200 with `id`, `inbox_id` and `conversation_id`",
    );
    let in_id = r.need(id_at(&inc.body, "/id"), "the message's `id`");

    // What the agents see of those two form posts.
    let seen = t.get(&messages).await;
    let by_id = |id: i64| {
        seen["payload"]
            .as_array()
            .and_then(|l| l.iter().find(|m| m["id"] == json!(id)).cloned())
            .unwrap_or(Value::Null)
    };
    let (o, i) = (by_id(out_id), by_id(in_id));
    r.observe(
        "what agents see of the form posts",
        "GET …/messages as an administrator",
        &json!([o, i]),
    );
    r.check(
        o["message_type"] == 1
            && o["private"] == false
            && o["source_id"] == "WAID:3EB0C431C26A1916E2A1"
            && i["message_type"] == 0
            && i["private"] == false
            && i["source_id"] == "WAID:3EB0C431C26A1916E2B2"
            && i["content_attributes"]["in_reply_to"] == json!(out_id),
        "the first message outgoing, the answer incoming, both public with their WAID source ids, the answer `in_reply_to` the first",
    );

    // The rest of the SDK's main calls, as an integration reads around the conversation.
    let me = r
        .send(
            "profile.profile",
            "GET",
            "/api/v1/profile",
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        me.status == 200
            && me.body["email"] == throughline_testkit::ADMIN_EMAIL
            && me.body["accounts"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["id"] == json!(a))),
        "200 with the user's `id`, `email` and `accounts[].id`",
    );
    let admin_id = me.body["id"].as_i64().unwrap_or(1);
    let one = r
        .send(
            "inboxes.get",
            "GET",
            &acc(&format!("/inboxes/{inbox_id}/")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        one.status == 200
            && one.body["id"] == json!(inbox_id)
            && one.body["name"] == "Evolution"
            && one.body["channel_type"] == "Channel::Api",
        "200 with the inbox's `id`, `name` and `channel_type` \"Channel::Api\"",
    );
    let all = r
        .send(
            "contacts.list",
            "GET",
            &acc("/contacts?page=1"),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        all.status == 200
            && all.body["payload"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["id"] == json!(contact_id))),
        "200 with the contact in `payload`",
    );
    let c = r
        .send(
            "contacts.get",
            "GET",
            &acc(&format!("/contacts/{contact_id}")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        c.status == 200
            && c.body["payload"]["id"] == json!(contact_id)
            && c.body["payload"]["name"] == "Ana Souza"
            && c.body["payload"]["phone_number"] == "+5521987654321",
        "200 with `payload` {id, name: \"Ana Souza\", phone_number}",
    );
    let ci = r
        .send(
            "contact.getContactable",
            "GET",
            &acc(&format!("/contacts/{contact_id}/contactable_inboxes")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        ci.status == 200
            && ci.body["payload"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|x| x["inbox"]["id"] == json!(inbox_id) && x["source_id"].is_string())
            }),
        "200 with `payload` holding the inbox (`inbox.id`) and the contact's `source_id` there",
    );
    let list = r
        .send(
            "conversations.list",
            "GET",
            &acc("/conversations?assignee_type=all&status=open&page=1"),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        list.status == 200
            && list.body["data"]["meta"]["all_count"].as_i64().is_some_and(|n| n >= 1)
            && list.body["data"]["payload"].as_array().is_some_and(|l| {
                l.iter().any(|c| {
                    c["id"] == json!(conversation_id) && c["meta"]["sender"]["id"] == json!(contact_id)
                })
            }),
        "200 with `data.meta.all_count` and the conversation in `data.payload` (`id`, `meta.sender.id`)",
    );
    let meta = r
        .send(
            "conversations.getMeta",
            "GET",
            &acc("/conversations/meta?status=open"),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        meta.status == 200
            && meta.body["meta"]["all_count"]
                .as_i64()
                .is_some_and(|n| n >= 1),
        "200 with `meta.all_count`",
    );
    let filtered = r
        .send(
            "conversations.filter",
            "POST",
            &acc("/conversations/filter"),
            &sdk,
            Body::Json(json!({"payload": [
                {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": null},
            ]})),
        )
        .await;
    r.check(
        filtered.status == 200
            && filtered.body["payload"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["id"] == json!(conversation_id))),
        "200 with the conversation in `payload`",
    );
    let assigned = r
        .send(
            "conversationAssignment.assign",
            "POST",
            &acc(&format!("/conversations/{conversation_id}/assignments")),
            &sdk,
            Body::Json(json!({"assignee_id": admin_id})),
        )
        .await;
    r.check(
        assigned.status == 200 && assigned.body["id"] == json!(admin_id),
        "200 with the assignee (`id`)",
    );
    let labels = r
        .send(
            "conversationLabels.add",
            "POST",
            &acc(&format!("/conversations/{conversation_id}/labels")),
            &sdk,
            Body::Json(json!({"labels": ["whatsapp"]})),
        )
        .await;
    r.check(
        labels.status == 200 && labels.body["payload"] == json!(["whatsapp"]),
        "200 with `payload` [\"whatsapp\"]",
    );
    let labels = r
        .send(
            "conversationLabels.list",
            "GET",
            &acc(&format!("/conversations/{conversation_id}/labels")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        labels.status == 200 && labels.body["payload"] == json!(["whatsapp"]),
        "200 with `payload` [\"whatsapp\"]",
    );
    let listed = r
        .send("messages.list", "GET", &messages, &sdk, Body::None)
        .await;
    r.check(
        listed.status == 200
            && listed.body["payload"].as_array().is_some_and(|l| {
                l.iter().any(|m| m["id"] == json!(out_id))
                    && l.iter().any(|m| m["id"] == json!(in_id))
            }),
        "200 with both messages in `payload`",
    );

    // The customer reads (messages.read): conversations.get for the contact's source id, then
    // update_last_seen on the Client API through the SDK's request.
    let shown = r
        .send(
            "conversations.get",
            "GET",
            &acc(&format!("/conversations/{conversation_id}")),
            &sdk,
            Body::None,
        )
        .await;
    let source_id = shown
        .body
        .pointer("/last_non_activity_message/conversation/contact_inbox/source_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    r.check(
        shown.status == 200 && source_id.is_some(),
        "200 with `last_non_activity_message.conversation.contact_inbox.source_id`",
    );
    let source_id = r.need(source_id, "the contact's `source_id` in this inbox");
    r.send(
        "request → update_last_seen",
        "POST",
        &format!("/public/api/v1/inboxes/{inbox_identifier}/contacts/{source_id}/conversations/{conversation_id}/update_last_seen"),
        &sdk,
        Body::None,
    )
    .await;
    r.check_success("a 2xx");

    // The customer deletes their message on WhatsApp (MESSAGES_DELETE).
    r.send(
        "messages.delete",
        "DELETE",
        &acc(&format!(
            "/conversations/{conversation_id}/messages/{in_id}"
        )),
        &sdk,
        Body::None,
    )
    .await;
    r.check_success("a 2xx");

    // A WhatsApp group writes: findContact searches by the group's id, createContact (a group
    // has no phone number), findContact again.
    let search = format!(
        "/contacts/search?q={}&page=1",
        GROUP_JID.replace('@', "%40")
    );
    let s = r
        .send(
            "contacts.search (group)",
            "GET",
            &acc(&search),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        s.status == 200
            && s.body["payload"]
                .as_array()
                .is_some_and(|l| l.iter().all(|c| c["identifier"] != GROUP_JID)),
        "200 with `payload`, an array without the group",
    );
    let g = r
        .send(
            "contacts.create (group)",
            "POST",
            &acc("/contacts"),
            &sdk,
            Body::Json(json!({
                "inbox_id": inbox_id,
                "name": "Família Souza (GROUP)",
                "identifier": GROUP_JID,
                "avatar_url": null,
            })),
        )
        .await;
    r.check(
        g.status == 200 && id_at(&g.body, "/payload/contact/id").is_some(),
        "200 with `payload.contact.id`",
    );
    let group_id = id_at(&g.body, "/payload/contact/id").unwrap_or_default();
    let cin = r
        .send(
            "contact.create (contact inbox)",
            "POST",
            &acc(&format!("/contacts/{group_id}/contact_inboxes")),
            &sdk,
            Body::Json(json!({"inbox_id": inbox_id, "source_id": GROUP_JID})),
        )
        .await;
    r.check(
        cin.status == 200
            && cin.body["source_id"] == GROUP_JID
            && cin.body["inbox"]["id"] == json!(inbox_id),
        "200 with `source_id` and `inbox`",
    );
    let s = r
        .send(
            "contacts.search (group, after create)",
            "GET",
            &acc(&search),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        s.status == 200
            && s.body["payload"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["identifier"] == GROUP_JID)),
        "200 with the group in `payload`, found by its `identifier`",
    );

    // An agent resolved the conversation; the customer writes again and the bridge (reopen and
    // pending mode) finds it not open and sets it pending.
    t.post(
        &acc(&format!("/conversations/{conversation_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    let convs = r
        .send(
            "contacts.listConversations (resolved)",
            "GET",
            &acc(&format!("/contacts/{contact_id}/conversations")),
            &sdk,
            Body::None,
        )
        .await;
    r.check(
        convs.status == 200
            && convs.body["payload"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|c| c["id"] == json!(conversation_id) && c["status"] == "resolved")
            }),
        "200 with the conversation's `status` \"resolved\"",
    );
    r.send(
        "conversations.toggleStatus (pending)",
        "POST",
        &acc(&format!("/conversations/{conversation_id}/toggle_status")),
        &sdk,
        Body::Json(json!({"status": "pending"})),
    )
    .await;
    r.check_success("a 2xx");
    let now = t
        .get(&acc(&format!("/conversations/{conversation_id}")))
        .await;
    r.observe(
        "what agents see after toggleStatus",
        "GET …/conversations/{id} as an administrator",
        &json!({"status": now["status"]}),
    );
    r.check(now["status"] == "pending", "the conversation pending");
    r.finish();
}
