//! n8n's Chatwoot node, replayed.
//!
//! n8n ships no Chatwoot node of its own (`packages/nodes-base/nodes/` of n8n-io/n8n has no
//! `Chatwoot/`, and n8n's documentation has no Chatwoot page); workflows use a community node.
//! The one replayed is the npm package named `n8n-nodes-chatwoot` (the most installed one, and
//! the one n8n's community lists link), github.com/sufficit/n8n-nodes-chatwoot at commit
//! beb2a3137fcf22ffc2f50953b75004d39158938e (version 0.1.40). Files read:
//! `nodes/ChatWoot/ChatWoot.node.ts` (resources, the credential test),
//! `nodes/ChatWoot/GenericFunctions.ts` (`apiRequest`: `Accept: application/json`, JSON bodies
//! only when not empty, `requestAccountOptions`), `nodes/ChatWoot/methods/{Account,Contact,
//! Public}Methods.ts` (each operation's path, query and body), `nodes/ChatWoot/descriptions/*.ts`
//! (which parameters each operation shows, and their `''` defaults),
//! `credentials/ChatWootTokenApi.credentials.ts` (base URL, access token, account id).
//!
//! What it sends: the user's access token in an `api_access_token` header (Account and Contact
//! resources; the Public resource sends none). Parameters the operation shows but the user left
//! empty go out as `""` (n8n fills shown parameters with their default), parameters it does not
//! show as `null`; Contact → Create sends only the filled ones, Contact → Update and Public →
//! Create Contact send them all. Inbox ids are typed as strings. What it returns to the workflow
//! is the answer's JSON, unchanged: the checks below are the fields a workflow's next node takes
//! from it (ids, `source_id`, the contact's fields, the messages).
//!
//! The node lists "Create Conversation" and "Get All Conversation" for the Public resource but
//! implements neither (`PublicMethods.ts` has no branch for them: they output nothing), so the
//! conversation a workflow posts into comes from elsewhere — here the Client API, as an HTTP
//! Request node would open it.

use serde_json::json;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{Body, Replay, id_at};

on_both_databases!(n8n_chatwoot_node_runs_its_operations);

async fn n8n_chatwoot_node_runs_its_operations(b: Backend) {
    let t = TestApp::start(b).await;
    // The user's set-up: an API inbox, and the credential (base URL, access token, account id).
    let inbox = t.api_inbox("n8n bridge", None).await;
    let inbox_id = inbox["id"].as_i64().unwrap().to_string();
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_owned();
    let token = t.token.clone();
    let account = t.account_id.to_string();
    let authed: [(&str, &str); 2] = [("accept", "application/json"), ("api_access_token", &token)];
    let public: [(&str, &str); 1] = [("accept", "application/json")];
    let mut r = Replay::new(&t, "n8n-nodes-chatwoot");

    // The credential test (`chatWootTokenTest` → `requestAccountOptions`): any 2xx passes.
    r.send(
        "credential test",
        "GET",
        &format!("/api/v1/accounts/{account}"),
        &authed,
        Body::None,
    )
    .await;
    r.check_success("a 2xx: the credential is accepted");

    // Account → Information.
    let a = r
        .send(
            "Account → Information",
            "GET",
            &format!("/api/v1/accounts/{account}"),
            &authed,
            Body::None,
        )
        .await;
    r.check(
        a.status == 200 && a.body["id"] == json!(t.account_id) && a.body["name"] == "Acme",
        "200 with the account's `id` and `name`",
    );

    // Contact → Create, the filled parameters only.
    let created = r
        .send(
            "Contact → Create",
            "POST",
            &format!("/api/v1/accounts/{account}/contacts"),
            &authed,
            Body::Json(json!({
                "name": "Maria Silva",
                "inbox_id": inbox_id,
                "phone_number": "+5511987654321",
                "email": "maria@example.com",
                "source_id": "n8n-maria-1",
                "identifier": "crm-42",
                "custom_attributes": {"plan": "gold"},
            })),
        )
        .await;
    r.check(
        created.status == 200
            && created.body.pointer("/payload/contact_inbox/source_id")
                == Some(&json!("n8n-maria-1")),
        "200 with `payload.contact.id` and `payload.contact_inbox.source_id` = \"n8n-maria-1\"",
    );
    let contact_id = r.need(
        id_at(&created.body, "/payload/contact/id"),
        "`payload.contact.id`, the id the next nodes use",
    );

    // Contact → Search Contacts.
    let found = r
        .send(
            "Contact → Search Contacts",
            "GET",
            &format!("/api/v1/accounts/{account}/contacts/search?q=maria"),
            &authed,
            Body::None,
        )
        .await;
    let hit = found.body["payload"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["id"] == json!(contact_id)));
    r.check(
        found.status == 200
            && found.body["meta"]["count"] == 1
            && hit.is_some_and(|c| {
                c["email"] == "maria@example.com" && c["phone_number"] == "+5511987654321"
            }),
        "200 with `meta.count` 1 and the contact in `payload` (its `id`, `email`, `phone_number`)",
    );

    // Contact → Get Contact Details.
    let shown = r
        .send(
            "Contact → Get Contact Details",
            "GET",
            &format!("/api/v1/accounts/{account}/contacts/{contact_id}"),
            &authed,
            Body::None,
        )
        .await;
    let p = &shown.body["payload"];
    r.check(
        shown.status == 200
            && p["id"] == json!(contact_id)
            && p["name"] == "Maria Silva"
            && p["email"] == "maria@example.com"
            && p["phone_number"] == "+5511987654321"
            && p["identifier"] == "crm-42"
            && p["custom_attributes"]["plan"] == "gold",
        "200 with `payload` {id, name, email, phone_number, identifier, custom_attributes.plan}",
    );

    // Contact → Update | Put: every shown parameter, the ones left empty as "".
    let updated = r
        .send(
            "Contact → Update | Put (all fields)",
            "PUT",
            &format!("/api/v1/accounts/{account}/contacts/{contact_id}"),
            &authed,
            Body::Json(json!({
                "name": "Maria S. Silva",
                "inbox_id": "",
                "phone_number": "+5511987654321",
                "email": "maria@example.com",
                "source_id": "",
                "identifier": "crm-42",
                "custom_attributes": {"plan": "platinum"},
            })),
        )
        .await;
    let p = &updated.body["payload"];
    r.check(
        updated.status == 200
            && p["id"] == json!(contact_id)
            && p["name"] == "Maria S. Silva"
            && p["custom_attributes"]["plan"] == "platinum",
        "200 with `payload` {id, name: \"Maria S. Silva\", custom_attributes.plan: \"platinum\"}",
    );
    // The same operation when the workflow only renames: the other shown fields go out empty.
    let renamed = r
        .send(
            "Contact → Update | Put (name only, other fields \"\")",
            "PUT",
            &format!("/api/v1/accounts/{account}/contacts/{contact_id}"),
            &authed,
            Body::Json(json!({
                "name": "Maria Souza Silva",
                "inbox_id": "",
                "phone_number": "",
                "email": "",
                "source_id": "",
                "identifier": "",
            })),
        )
        .await;
    r.check(
        renamed.status == 200
            && renamed.body["payload"]["id"] == json!(contact_id)
            && renamed.body["payload"]["name"] == "Maria Souza Silva",
        "200 with `payload.name` = \"Maria Souza Silva\" (Chatwoot takes \"\" as blank)",
    );

    // Public → Create Contact: no token; `identifier` is not shown for this operation (null).
    let pc = r
        .send(
            "Public → Create Contact",
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            &public,
            Body::Json(json!({
                "name": "João Pereira",
                "inbox_id": "",
                "phone_number": "",
                "email": "joao@example.com",
                "source_id": "wa-5511912345678",
                "identifier": null,
            })),
        )
        .await;
    r.check(
        pc.status == 200
            && pc.body["source_id"] == "wa-5511912345678"
            && pc.body["id"].is_i64()
            && pc.body["pubsub_token"].is_string(),
        "200 with `id`, `source_id` = \"wa-5511912345678\" and `pubsub_token`",
    );

    // Public → Get Contact Details.
    let got = r
        .send(
            "Public → Get Contact Details",
            "GET",
            &format!("/public/api/v1/inboxes/{ident}/contacts/wa-5511912345678"),
            &public,
            Body::None,
        )
        .await;
    r.check(
        got.status == 200
            && got.body["source_id"] == "wa-5511912345678"
            && got.body["name"] == "João Pereira"
            && got.body["email"] == "joao@example.com",
        "200 with `source_id`, `name` and `email`",
    );

    // The conversation, opened outside the node (it cannot: see the module's documentation).
    let conv = r
        .send(
            "(outside the node) open a conversation through the Client API",
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/wa-5511912345678/conversations"),
            &public,
            Body::Json(json!({})),
        )
        .await;
    let conversation = r
        .need(
            id_at(&conv.body, "/id"),
            "200 with the conversation's `id`, for the node's Conversation ID parameter",
        )
        .to_string();

    // Public → Create Message.
    let sent = r
        .send(
            "Public → Create Message",
            "POST",
            &format!(
                "/public/api/v1/inboxes/{ident}/contacts/wa-5511912345678/conversations/{conversation}/messages"
            ),
            &public,
            Body::Json(json!({"content": "Meu pedido não chegou"})),
        )
        .await;
    r.check(
        sent.status == 200
            && sent.body["id"].is_i64()
            && sent.body["content"] == "Meu pedido não chegou"
            && sent.body["message_type"] == 0,
        "200 with the message's `id`, `content` and `message_type` 0 (incoming)",
    );

    // Public → Get All Messages.
    let listed = r
        .send(
            "Public → Get All Messages",
            "GET",
            &format!(
                "/public/api/v1/inboxes/{ident}/contacts/wa-5511912345678/conversations/{conversation}/messages"
            ),
            &public,
            Body::None,
        )
        .await;
    let mine = listed.body.as_array().and_then(|list| {
        list.iter()
            .find(|m| m["id"] == sent.body["id"] && m["content"] == "Meu pedido não chegou")
    });
    r.check(
        listed.status == 200 && mine.is_some_and(|m| m["message_type"] == 0),
        "200 with a JSON array holding the message (`id`, `content`, `message_type`)",
    );
    r.finish();
}
