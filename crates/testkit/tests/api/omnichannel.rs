//! One customer, one conversation across channels: identity linking on proof (including a
//! Brazilian number without its ninth digit), continuity, reply on any channel, merge
//! suggestions, and business events on the journey.

use serde_json::{Value, json};
use throughline_core::crypto::hmac_sha256_hex;
use throughline_testkit::{Backend, TestApp, on_both_databases};

/// A verified Client API visitor: contact, source id, and a conversation with one message.
pub(crate) async fn verified_visitor(
    t: &TestApp,
    inbox: &Value,
    secret: &str,
    body: Value,
) -> (Value, String) {
    let ident = inbox["inbox_identifier"].as_str().unwrap();
    let identifier = body["identifier"].as_str().unwrap().to_owned();
    let mut body = body;
    body["identifier_hash"] = json!(hmac_sha256_hex(secret.as_bytes(), identifier.as_bytes()));
    let contact = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(body),
        )
        .await
        .expect(200);
    let source = contact["source_id"].as_str().unwrap().to_owned();
    (contact, source)
}

/// A WhatsApp integration relays Ana's number as WhatsApp gives it (no ninth digit) with the
/// API token, opens a conversation and posts `text`: the number must resolve to `ana_id` and
/// continue `conv_id`.
pub(crate) async fn whatsapp_relays_ana(
    t: &TestApp,
    wa_id: i64,
    ana_id: i64,
    conv_id: i64,
    text: &str,
) {
    let relayed = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": wa_id, "name": "Ana", "phone_number": "+55 11 8765-4321",
                   "source_id": "551187654321"}),
        )
        .await;
    assert_eq!(
        relayed["payload"]["contact"]["id"].as_i64(),
        Some(ana_id),
        "the number without the ninth digit is Ana's: {relayed}"
    );
    let wa_conv = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": wa_id, "source_id": "551187654321"}),
        )
        .await;
    assert_eq!(
        wa_conv["id"].as_i64(),
        Some(conv_id),
        "the open conversation continues on WhatsApp: {wa_conv}"
    );
    t.post(
        &t.acc(&format!("/conversations/{conv_id}/messages")),
        json!({"content": text, "message_type": "incoming", "inbox_id": wa_id}),
    )
    .await;
}

pub(crate) async fn hmac_secret(t: &TestApp, inbox: &Value) -> String {
    let id = inbox["id"].as_i64().unwrap();
    let shown = t.get(&t.acc(&format!("/inboxes/{id}"))).await;
    shown["hmac_token"].as_str().unwrap().to_owned()
}

fn inbox_ids_of(messages: &Value) -> Vec<i64> {
    messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == 0)
        .map(|m| m["inbox_id"].as_i64().unwrap())
        .collect()
}

async fn a_customer_continues_one_conversation_across_channels(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Site chat", None).await;
    let whatsapp = t.api_inbox("WhatsApp relay", None).await;
    let other = t.api_inbox("Partner portal", None).await;
    let (chat_id, wa_id, other_id) = (
        chat["id"].as_i64().unwrap(),
        whatsapp["id"].as_i64().unwrap(),
        other["id"].as_i64().unwrap(),
    );
    let secret = hmac_secret(&t, &chat).await;

    // 1. Ana identifies in the chat (the shop signed her identifier) and writes.
    let (ana, source) = verified_visitor(
        &t,
        &chat,
        &secret,
        json!({"identifier": "crm-42", "name": "Ana Souza", "email": "Ana@Example.com",
               "phone_number": "+55 11 98765-4321"}),
    )
    .await;
    let ana_id = ana["id"].as_i64().unwrap();
    let ident = chat["inbox_identifier"].as_str().unwrap();
    let conv = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    let conv_id = conv["id"].as_i64().unwrap();
    t.call(
        "POST",
        &format!(
            "/public/api/v1/inboxes/{ident}/contacts/{source}/conversations/{conv_id}/messages"
        ),
        None,
        Some(json!({"content": "Meu pedido não chegou"})),
    )
    .await
    .expect(200);

    // 2. The WhatsApp integration relays her number as WhatsApp gives it: no ninth digit.
    whatsapp_relays_ana(&t, wa_id, ana_id, conv_id, "Oi, mandei no chat também").await;
    // Each message records the channel it travelled through.
    let msgs = t
        .get(&t.acc(&format!("/conversations/{conv_id}/messages")))
        .await;
    assert_eq!(inbox_ids_of(&msgs), [chat_id, wa_id], "{msgs}");

    // One contact, one conversation.
    let convs = t
        .get(&t.acc(&format!("/contacts/{ana_id}/conversations")))
        .await;
    assert_eq!(convs["payload"].as_array().unwrap().len(), 1, "{convs}");

    // 3. Reply on any channel: chat (her identity), WhatsApp (identity and phone); not the
    // partner portal, where she has no identity.
    let options = t
        .get(&t.acc(&format!("/conversations/{conv_id}/reply_channels")))
        .await;
    let by_inbox = |id: i64| {
        options["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["inbox_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_inbox(chat_id)["available"], true, "{options}");
    assert_eq!(by_inbox(wa_id)["available"], true, "{options}");
    assert_eq!(by_inbox(other_id)["available"], false, "{options}");
    assert_eq!(by_inbox(other_id)["reason"], "no_address", "{options}");
    let defaults: Vec<_> = options["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1, "exactly one default: {options}");

    let via_wa = t
        .post(
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            json!({"content": "Vou verificar agora", "inbox_id": wa_id}),
        )
        .await;
    assert_eq!(via_wa["inbox_id"].as_i64(), Some(wa_id), "{via_wa}");
    let refused = t
        .admin(
            "POST",
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            Some(json!({"content": "?", "inbox_id": other_id})),
        )
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.body["errors"][0]["code"], "no_address");
    let unknown = t
        .admin(
            "POST",
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            Some(json!({"content": "?", "inbox_id": 999_999})),
        )
        .await;
    assert_eq!(unknown.status, 422);

    // 4. Resolved, then she writes again within the window: the same conversation re-opens.
    t.post(
        &t.acc(&format!("/conversations/{conv_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    let again = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": wa_id, "source_id": "551187654321"}),
        )
        .await;
    assert_eq!(again["id"].as_i64(), Some(conv_id));
    assert_eq!(again["status"], "open", "{again}");

    // 5. With a zero re-open window, a message after resolution starts a new conversation.
    t.admin("PATCH", &t.acc(""), Some(json!({"reopen_window_hours": 0})))
        .await
        .expect(200);
    t.post(
        &t.acc(&format!("/conversations/{conv_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let fresh = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": wa_id, "source_id": "551187654321"}),
        )
        .await;
    assert_ne!(fresh["id"].as_i64(), Some(conv_id), "{fresh}");
    let convs = t
        .get(&t.acc(&format!("/contacts/{ana_id}/conversations")))
        .await;
    assert_eq!(convs["payload"].as_array().unwrap().len(), 2, "{convs}");

    // The verified visitor sees the continued conversations from the chat too.
    let seen = t
        .call(
            "GET",
            &format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(seen.as_array().unwrap().len(), 2, "{seen}");
}

async fn continuity_follows_the_account_and_inbox_settings(b: Backend) {
    let t = TestApp::start(b).await;
    let a = t.api_inbox("A", None).await;
    let sep = t.api_inbox("Separate", None).await;
    let (a_id, sep_id) = (a["id"].as_i64().unwrap(), sep["id"].as_i64().unwrap());
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{sep_id}")),
        Some(json!({"keep_conversations_separate": true})),
    )
    .await
    .expect(200);
    let bad = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{sep_id}")),
            Some(json!({"keep_conversations_separate": "yes"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    for body in [
        json!({"reopen_window_hours": -1}),
        json!({"reopen_window_hours": 100_000}),
    ] {
        let r = t.admin("PATCH", &t.acc(""), Some(body)).await;
        assert_eq!(r.status, 422, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "reopen_window_hours");
    }

    let contact = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": a_id, "email": "jan@example.pl", "source_id": "jan-a"}),
        )
        .await;
    let jan = contact["payload"]["contact"]["id"].as_i64().unwrap();
    let first = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": a_id, "source_id": "jan-a"}),
        )
        .await;
    // The separate inbox keeps its own conversation.
    t.post(
        &t.acc("/contacts"),
        json!({"inbox_id": sep_id, "email": "jan@example.pl", "source_id": "jan-s"}),
    )
    .await;
    let separate = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": sep_id, "source_id": "jan-s"}),
        )
        .await;
    assert_ne!(first["id"], separate["id"]);
    // With the account setting off, a second plain inbox keeps its own too.
    let b_inbox = t.api_inbox("B", None).await;
    let b_id = b_inbox["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(""),
        Some(json!({"continue_across_channels": false})),
    )
    .await
    .expect(200);
    let linked = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": b_id, "email": "JAN@example.pl", "source_id": "jan-b"}),
        )
        .await;
    assert_eq!(linked["payload"]["contact"]["id"].as_i64(), Some(jan));
    let own = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": b_id, "source_id": "jan-b"}),
        )
        .await;
    assert_ne!(own["id"], first["id"]);
    // An agent starting a conversation for a contact always gets a new one.
    let started = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": a_id, "contact_id": jan}),
        )
        .await;
    assert_ne!(started["id"], first["id"]);
}

async fn unproven_claims_become_suggestions_never_links(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Chat", None).await;
    let ident = chat["inbox_identifier"].as_str().unwrap();
    let owner = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana Souza", "email": "ana@example.com"}),
        )
        .await;
    let ana = owner["payload"]["contact"]["id"].as_i64().unwrap();
    // Someone types Ana's email into the chat form, unverified.
    let visitor = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Ana?", "email": "ana@example.com"})),
        )
        .await
        .expect(200);
    let visitor_id = visitor["id"].as_i64().unwrap();
    assert_ne!(visitor_id, ana, "an unverified email never links");
    let suggestions = t
        .get(&t.acc(&format!("/contacts/{ana}/merge_suggestions")))
        .await;
    let list = suggestions["payload"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{suggestions}");
    assert_eq!(list[0]["reason"], "same_address_unverified");
    let ids = [
        list[0]["contact_id"].as_i64(),
        list[0]["candidate_id"].as_i64(),
    ];
    assert!(ids.contains(&Some(ana)) && ids.contains(&Some(visitor_id)));

    // A new visitor's own unverified email links nobody later either.
    let typed = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Piotr", "email": "piotr@example.pl"})),
        )
        .await
        .expect(200);
    let proven = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": chat["id"], "email": "piotr@example.pl", "source_id": "piotr-mail"}),
        )
        .await;
    assert_ne!(
        proven["payload"]["contact"]["id"], typed["id"],
        "a proven sender is not attached to a contact whose email was only typed"
    );

    // Dismissed suggestions leave the list; another account cannot touch them.
    let id = list[0]["id"].as_i64().unwrap();
    let (_, agent_token) = t.agent("agent@acme.test", "agent").await;
    let dismissed = t
        .call(
            "POST",
            &t.acc(&format!("/merge_suggestions/{id}/dismiss")),
            Some(&agent_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(dismissed["status"], "dismissed");
    let all = t.get(&t.acc("/merge_suggestions")).await;
    assert!(
        all["payload"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != id),
        "{all}"
    );
    let missing = t
        .admin("POST", &t.acc("/merge_suggestions/999999/dismiss"), None)
        .await;
    assert_eq!(missing.status, 404);
}

/// Addresses a visitor sets later are as unproven as those given at creation; an agent's
/// edit vouches for them.
async fn addresses_edited_by_visitors_stay_unproven(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Chat", None).await;
    let relay = t.api_inbox("Relay", None).await;
    let ident = chat["inbox_identifier"].as_str().unwrap();
    let visitor = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Visitor"})),
        )
        .await
        .expect(200);
    let source = visitor["source_id"].as_str().unwrap();
    let visitor_id = visitor["id"].as_i64().unwrap();
    t.call(
        "PATCH",
        &format!("/public/api/v1/inboxes/{ident}/contacts/{source}"),
        None,
        Some(json!({"email": "ceo@bigcorp.example"})),
    )
    .await
    .expect(200);
    let proven = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": relay["id"], "email": "ceo@bigcorp.example", "source_id": "ceo-1"}),
        )
        .await;
    assert_ne!(
        proven["payload"]["contact"]["id"].as_i64(),
        Some(visitor_id),
        "an email the visitor typed later must not pull the real owner in: {proven}"
    );

    // An agent confirms another visitor's typed email: from then on it links.
    let other = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            None,
            Some(json!({"name": "Jan", "email": "jan@firma.pl"})),
        )
        .await
        .expect(200);
    let jan = other["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/contacts/{jan}")),
        Some(json!({"email": "jan.kowalski@firma.pl"})),
    )
    .await
    .expect(200);
    let linked = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": relay["id"], "email": "jan.kowalski@firma.pl", "source_id": "jan-1"}),
        )
        .await;
    assert_eq!(
        linked["payload"]["contact"]["id"].as_i64(),
        Some(jan),
        "{linked}"
    );
}

/// Weaker signs become suggestions with their reason: an email mentioned in a message, and
/// the same name with an email that differs only by dots or a tag.
async fn mentions_and_similar_emails_are_suggested(b: Backend) {
    let t = TestApp::start(b).await;
    let inbox = t.api_inbox("Relay", None).await;
    let ana = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Ana Souza", "email": "ana.souza@gmail.com"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let twin = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": inbox["id"], "name": "ana souza",
                   "email": "anasouza+loja@gmail.com", "source_id": "twin"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    assert_ne!(twin, ana, "a similar email is never a link");
    let list = t
        .get(&t.acc(&format!("/contacts/{ana}/merge_suggestions")))
        .await;
    assert_eq!(list["payload"][0]["reason"], "similar_email", "{list}");

    let stranger = t
        .post(
            &t.acc("/contacts"),
            json!({"inbox_id": inbox["id"], "name": "Anon", "source_id": "anon"}),
        )
        .await["payload"]["contact"]["id"]
        .as_i64()
        .unwrap();
    let conv = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": inbox["id"], "source_id": "anon"}),
        )
        .await;
    t.post(
        &t.acc(&format!("/conversations/{}/messages", conv["id"])),
        json!({"content": "Sou eu, meu email é Ana.Souza@gmail.com.", "message_type": "incoming"}),
    )
    .await;
    let list = t
        .get(&t.acc(&format!("/contacts/{stranger}/merge_suggestions")))
        .await;
    let mention = &list["payload"][0];
    assert_eq!(mention["reason"], "email_mentioned", "{list}");
    assert_eq!(mention["detail"], "ana.souza@gmail.com");
    let pair = [
        mention["contact_id"].as_i64(),
        mention["candidate_id"].as_i64(),
    ];
    assert!(
        pair.contains(&Some(ana)) && pair.contains(&Some(stranger)),
        "{list}"
    );
}

/// A verified visitor's conversation attributes add to a continued conversation's own.
async fn continuing_keeps_the_conversations_attributes(b: Backend) {
    let t = TestApp::start(b).await;
    let chat = t.api_inbox("Chat", None).await;
    let secret = hmac_secret(&t, &chat).await;
    let ident = chat["inbox_identifier"].as_str().unwrap();
    let (_, source) = verified_visitor(
        &t,
        &chat,
        &secret,
        json!({"identifier": "crm-7", "name": "Piotr"}),
    )
    .await;
    let path = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations");
    let first = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"custom_attributes": {"page": "/pricing"}})),
        )
        .await
        .expect(200);
    let id = first["id"].as_i64().unwrap();
    t.post(
        &t.acc(&format!("/conversations/{id}/custom_attributes")),
        json!({"custom_attributes": {"page": "/pricing", "order": "A-17"}}),
    )
    .await;
    let again = t
        .call(
            "POST",
            &path,
            None,
            Some(json!({"custom_attributes": {"page": "/checkout"}})),
        )
        .await
        .expect(200);
    assert_eq!(again["id"].as_i64(), Some(id));
    let shown = t.get(&t.acc(&format!("/conversations/{id}"))).await;
    assert_eq!(shown["custom_attributes"]["order"], "A-17", "{shown}");
    assert_eq!(shown["custom_attributes"]["page"], "/checkout", "{shown}");
}

async fn business_events_are_idempotent_validated_and_listed(b: Backend) {
    let t = TestApp::start(b).await;
    let c = t.post(&t.acc("/contacts"), json!({"name": "Ana"})).await;
    let id = c["payload"]["contact"]["id"].as_i64().unwrap();
    let path = t.acc(&format!("/contacts/{id}/events"));
    let order = json!({"event_id": "ord-1001", "type": "order_placed", "title": "Pedido #1001",
        "occurred_at": 1_790_000_000, "properties": {"total": 249.9, "currency": "BRL",
        "items": [{"sku": "TSHIRT-M", "qty": 2}]}});
    let first = t.admin("POST", &path, Some(order.clone())).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["type"], "order_placed");
    assert_eq!(first.body["occurred_at"], 1_790_000_000);
    let repeat = t.admin("POST", &path, Some(order)).await;
    assert_eq!(repeat.status, 200);
    assert_eq!(repeat.body["id"], first.body["id"]);
    t.admin(
        "POST",
        &path,
        Some(json!({"event_id": "pay-1", "type": "payment_failed", "occurred_at": 1_790_000_100})),
    )
    .await
    .expect(201);

    let all = t.get(&path).await;
    let types: Vec<_> = all["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["payment_failed", "order_placed"], "newest first");
    let orders = t.get(&format!("{path}?type=order_placed")).await;
    assert_eq!(orders["payload"].as_array().unwrap().len(), 1);

    for (body, field) in [
        (json!({"type": "order_placed"}), None),
        (
            json!({"event_id": "x", "type": "Order Placed"}),
            Some("type"),
        ),
        (json!({"event_id": "x", "type": ""}), Some("type")),
        (json!({"event_id": " ", "type": "a"}), Some("event_id")),
        (
            json!({"event_id": "x", "type": "a", "occurred_at": 1_790_000_000_000i64}),
            Some("occurred_at"),
        ),
        (
            json!({"event_id": "x", "type": "a", "properties": [1, 2]}),
            Some("properties"),
        ),
        (
            json!({"event_id": "x", "type": "a", "properties": {"blob": "x".repeat(20_000)}}),
            Some("properties"),
        ),
        (json!({"event_id": "x", "type": "a", "surprise": 1}), None),
    ] {
        let r = t.admin("POST", &path, Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body} → {:?}", r.body);
        if let Some(f) = field {
            assert_eq!(r.body["errors"][0]["field"], f, "{body} → {:?}", r.body);
        }
    }
    // The same event id on another contact is a conflict, not a move.
    let other = t.post(&t.acc("/contacts"), json!({"name": "Jan"})).await;
    let other_id = other["payload"]["contact"]["id"].as_i64().unwrap();
    let clash = t
        .admin(
            "POST",
            &t.acc(&format!("/contacts/{other_id}/events")),
            Some(json!({"event_id": "ord-1001", "type": "order_placed"})),
        )
        .await;
    assert_eq!(clash.status, 422);
    let nobody = t
        .admin(
            "POST",
            &t.acc("/contacts/999999/events"),
            Some(json!({"event_id": "z", "type": "a"})),
        )
        .await;
    assert_eq!(nobody.status, 404);
    // Listed in the OpenAPI document.
    let spec = t
        .call("GET", "/api/openapi.json", None, None)
        .await
        .expect(200);
    assert!(
        spec["paths"]
            .get("/api/v1/accounts/{account_id}/contacts/{id}/events")
            .is_some()
    );
}

on_both_databases!(
    a_customer_continues_one_conversation_across_channels,
    continuity_follows_the_account_and_inbox_settings,
    unproven_claims_become_suggestions_never_links,
    addresses_edited_by_visitors_stay_unproven,
    mentions_and_similar_emails_are_suggested,
    continuing_keeps_the_conversations_attributes,
    business_events_are_idempotent_validated_and_listed,
);
