//! Issue #5's story, end to end through real HTTP and real SMTP: a customer emails, then
//! identifies in the website chat with the same email, then writes through WhatsApp with her
//! Brazilian number missing its ninth digit. One contact, one conversation, three channels; the
//! agent answers the chat message by email and the reply arrives threaded; after resolution
//! and the re-open window a new message starts a new conversation linked to the old one.

use std::time::Duration;

use serde_json::{Value, json};
use throughline_channels::email::parse::parse_inbound;
use throughline_channels::email::send::send_raw;
use throughline_testkit::smtp_sink::SmtpSink;
use throughline_testkit::{Backend, TestApp, on_both_databases};

use crate::email::{mail, smtp_to, with_smtp_receiver};
use crate::omnichannel::{hmac_secret, verified_visitor, whatsapp_relays_ana};

on_both_databases!(
    one_customer_one_conversation_across_email_chat_and_whatsapp,
    a_verified_visitor_never_joins_a_contact_with_an_unproven_chat_session,
);

const SUPPORT: &str = "support@loja.test";

async fn conversations_of(t: &TestApp, contact_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/contacts/{contact_id}/conversations")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone()
}

async fn one_customer_one_conversation_across_email_chat_and_whatsapp(b: Backend) {
    let t = TestApp::start_with(b, with_smtp_receiver).await;
    let sink = SmtpSink::start().await;
    let email = t.email_inbox("Loja email", SUPPORT, Some(sink.port)).await;
    let widget = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Loja site", "channel": {"type": "web_widget", "website_url": "https://loja.test"}}),
        )
        .await;
    let whatsapp = t.api_inbox("WhatsApp relay", None).await;
    let id = |inbox: &Value| inbox["id"].as_i64().unwrap();
    let (email_id, widget_id, wa_id) = (id(&email), id(&widget), id(&whatsapp));

    // 1. Ana emails the shop; the SMTP receiver answers 250 once the message is stored.
    let raw = mail(
        "Ana Souza <ana@cliente.test>",
        SUPPORT,
        "Pedido 4521 não chegou",
        "ana-1@cliente.test",
        None,
        &[],
        "",
        "Olá, meu pedido 4521 não chegou. Podem verificar?",
    );
    let port = t.app.smtp_addr.unwrap().port();
    send_raw(&smtp_to(port), "ana@cliente.test", &[SUPPORT.into()], &raw)
        .await
        .unwrap();
    let found = t.get(&t.acc("/contacts/search?q=ana%40cliente.test")).await;
    let ana_id = found["payload"][0]["id"]
        .as_i64()
        .expect("the email's contact");
    let first = conversations_of(&t, ana_id).await;
    assert_eq!(first.len(), 1);
    let conv_id = first[0]["id"].as_i64().unwrap();

    // 2. She opens the website chat; the shop signs her identity (same email, her phone).
    let secret = hmac_secret(&t, &widget).await;
    let (visitor, source) = verified_visitor(
        &t,
        &widget,
        &secret,
        json!({"identifier": "loja-cliente-77", "name": "Ana Souza", "email": "ana@cliente.test",
               "phone_number": "+55 11 98765-4321"}),
    )
    .await;
    assert_eq!(
        visitor["id"].as_i64(),
        Some(ana_id),
        "the verified email is Ana's: {visitor}"
    );
    let ident = widget["inbox_identifier"].as_str().unwrap();
    let chat = t
        .call(
            "POST",
            &format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"),
            None,
            Some(json!({})),
        )
        .await
        .expect(200);
    assert_eq!(
        chat["id"].as_i64(),
        Some(conv_id),
        "the chat continues her email: {chat}"
    );
    let chat_message = t
        .call(
            "POST",
            &format!(
                "/public/api/v1/inboxes/{ident}/contacts/{source}/conversations/{conv_id}/messages"
            ),
            None,
            Some(json!({"content": "Estou no chat agora, alguma novidade?"})),
        )
        .await
        .expect(200);

    // 3. WhatsApp relays her number without the ninth digit.
    whatsapp_relays_ana(&t, wa_id, ana_id, conv_id, "Mandei também pelo WhatsApp").await;

    // One contact, one conversation, three channels.
    let all = conversations_of(&t, ana_id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let messages = t
        .get(&t.acc(&format!("/conversations/{conv_id}/messages")))
        .await;
    let incoming: Vec<i64> = messages["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["message_type"] == 0)
        .map(|m| m["inbox_id"].as_i64().unwrap())
        .collect();
    assert_eq!(incoming, [email_id, widget_id, wa_id], "{messages}");

    // 4. The agent answers the chat message by email; it arrives threaded under her email.
    assert_eq!(chat_message["conversation_id"].as_i64(), Some(conv_id));
    let reply = t
        .post(
            &t.acc(&format!("/conversations/{conv_id}/messages")),
            json!({"content": "Encontrei o pedido 4521: chega amanhã.", "inbox_id": email_id}),
        )
        .await;
    assert_eq!(reply["inbox_id"].as_i64(), Some(email_id), "{reply}");
    let got = sink.wait_for(1, Duration::from_secs(15)).await;
    let to: Vec<&str> = got[0]
        .rcpt_to
        .iter()
        .map(|r| r.trim_matches(['<', '>']))
        .collect();
    assert_eq!(to, ["ana@cliente.test"]);
    let sent = parse_inbound(&got[0].data).unwrap();
    assert_eq!(sent.in_reply_to, ["ana-1@cliente.test"], "{sent:?}");
    assert!(
        sent.references.iter().any(|r| r == "ana-1@cliente.test"),
        "{sent:?}"
    );
    assert!(
        sent.subject
            .as_deref()
            .unwrap_or_default()
            .contains("Pedido 4521"),
        "{sent:?}"
    );
    assert!(
        sent.text_body
            .as_deref()
            .unwrap_or_default()
            .contains("chega amanhã")
    );

    // 5. Resolved; with the re-open window over, her next message starts a new conversation
    // that links back to this one.
    t.post(
        &t.acc(&format!("/conversations/{conv_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    t.admin("PATCH", &t.acc(""), Some(json!({"reopen_window_hours": 0})))
        .await
        .expect(200);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fresh = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": wa_id, "source_id": "551187654321"}),
        )
        .await;
    let fresh_id = fresh["id"].as_i64().unwrap();
    assert_ne!(fresh_id, conv_id, "{fresh}");
    assert_eq!(
        fresh["previous_conversation_id"].as_i64(),
        Some(conv_id),
        "{fresh}"
    );
    assert_eq!(fresh["meta"]["sender"]["id"].as_i64(), Some(ana_id));
    assert_eq!(conversations_of(&t, ana_id).await.len(), 2);
}

/// The exception that lets a verified chat identity join an email sender's contact stops at
/// any contact a browser could read: one that also holds a chat identity nobody proved.
async fn a_verified_visitor_never_joins_a_contact_with_an_unproven_chat_session(b: Backend) {
    let t = TestApp::start_with(b, with_smtp_receiver).await;
    let email = t.email_inbox("Loja email", SUPPORT, None).await;
    let widget = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Loja site", "channel": {"type": "web_widget", "website_url": "https://loja.test"}}),
        )
        .await;
    let raw = mail(
        "Bia <bia@cliente.test>",
        SUPPORT,
        "Troca de tamanho",
        "bia-1@cliente.test",
        None,
        &[],
        "",
        "Quero trocar o tamanho.",
    );
    let port = t.app.smtp_addr.unwrap().port();
    send_raw(&smtp_to(port), "bia@cliente.test", &[SUPPORT.into()], &raw)
        .await
        .unwrap();
    let found = t.get(&t.acc("/contacts/search?q=bia%40cliente.test")).await;
    let bia_id = found["payload"][0]["id"].as_i64().unwrap();
    assert_eq!(
        conversations_of(&t, bia_id).await[0]["inbox_id"],
        email["id"]
    );
    // Someone holds an anonymous chat session on that contact.
    t.post(
        &t.acc(&format!("/contacts/{bia_id}/contact_inboxes")),
        json!({"inbox_id": widget["id"]}),
    )
    .await;
    let secret = hmac_secret(&t, &widget).await;
    let (visitor, _) = verified_visitor(
        &t,
        &widget,
        &secret,
        json!({"identifier": "loja-cliente-88", "name": "Bia", "email": "bia@cliente.test"}),
    )
    .await;
    assert_ne!(visitor["id"].as_i64(), Some(bia_id), "{visitor}");
}
