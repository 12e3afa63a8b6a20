//! Issue #14's story: a customer writes on WhatsApp from a Brazilian number without its ninth
//! digit, then by SMS from the full number, then by Telegram once the agent links that
//! account; one contact, one conversation, and the agent's replies leave on the channel
//! chosen, with WhatsApp's 24-hour window enforced.

use serde_json::{Value, json};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::meta::messenger_inbox;
use super::telegram::{private_text, telegram_inbox, telegram_post};
use super::twilio::{sms, twilio_inbox, twilio_post};
use super::whatsapp::{PHONE_NUMBER_ID, text_from, whatsapp_inbox, whatsapp_post};
use super::{conversations_in, messages_of};

on_both_databases!(one_customer_on_whatsapp_sms_and_telegram);

async fn reply_channel(t: &TestApp, display_id: i64, inbox_id: i64) -> Value {
    let options = t
        .get(&t.acc(&format!("/conversations/{display_id}/reply_channels")))
        .await;
    options["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["inbox_id"] == inbox_id)
        .cloned()
        .unwrap_or_else(|| panic!("inbox {inbox_id} among {options}"))
}

async fn one_customer_on_whatsapp_sms_and_telegram(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let wa = whatsapp_inbox(&t).await["id"].as_i64().unwrap();
    let sms_inbox = twilio_inbox(&t, "sms").await["id"].as_i64().unwrap();
    let (tg, secret) = telegram_inbox(&t, &fake).await;
    let tg = tg["id"].as_i64().unwrap();
    // A channel she never used: offered nowhere.
    let fb = messenger_inbox(&t).await["id"].as_i64().unwrap();

    // WhatsApp, from +55 11 8765-4321 as WhatsApp writes it (no ninth digit).
    whatsapp_post(
        &t,
        text_from(
            "551187654321",
            "wamid.S1",
            "Oi, meu pedido 1042 não chegou",
            "Ana Souza",
        ),
    )
    .await
    .expect(200);
    let conversations = conversations_in(&t, wa).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    let contact_id = conversations[0]["meta"]["sender"]["id"].as_i64().unwrap();
    assert_eq!(
        conversations[0]["meta"]["sender"]["phone_number"],
        "+5511987654321"
    );

    // SMS from +55 11 98765-4321: the same person (the carrier proves the number), the same
    // conversation.
    twilio_post(
        &t,
        "/twilio/callback",
        &sms("SMstory1", "+5511987654321", "Mandei no WhatsApp também"),
        None,
    )
    .await
    .expect(200);
    assert!(
        conversations_in(&t, sms_inbox).await.is_empty(),
        "no new conversation"
    );
    let contacts = t.get(&t.acc("/contacts")).await;
    assert_eq!(contacts["meta"]["count"], 1, "one contact: {contacts}");

    // Telegram: a new account, unknown until the agent links it.
    telegram_post(
        &t,
        &secret,
        &private_text(1, 4242, 1, "Sou a Ana do WhatsApp"),
    )
    .await
    .expect(200);
    let telegram_conversation = conversations_in(&t, tg).await[0].clone();
    let telegram_contact = telegram_conversation["meta"]["sender"]["id"]
        .as_i64()
        .unwrap();
    assert_ne!(telegram_contact, contact_id);
    t.post(
        &t.acc("/actions/contact_merge"),
        json!({"base_contact_id": contact_id, "mergee_contact_id": telegram_contact}),
    )
    .await;
    t.post(
        &t.acc(&format!("/conversations/{display_id}/merge")),
        json!({"source_conversation_id": telegram_conversation["id"]}),
    )
    .await;
    // Her next Telegram message continues the one conversation.
    telegram_post(&t, &secret, &private_text(2, 4242, 2, "Alguma novidade?"))
        .await
        .expect(200);
    let messages = messages_of(&t, display_id).await;
    let customer: Vec<(i64, &str)> = messages
        .iter()
        .filter(|m| m["message_type"] == 0)
        .map(|m| {
            (
                m["inbox_id"].as_i64().unwrap(),
                m["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        customer,
        [
            (wa, "Oi, meu pedido 1042 não chegou"),
            (sms_inbox, "Mandei no WhatsApp também"),
            (tg, "Sou a Ana do WhatsApp"),
            (tg, "Alguma novidade?"),
        ]
    );
    let open: Vec<Value> = t
        .get(&t.acc(&format!("/contacts/{contact_id}/conversations")))
        .await["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "resolved")
        .cloned()
        .collect();
    assert_eq!(open.len(), 1, "one conversation: {open:?}");

    // Replies: by default on her latest channel (Telegram); then on the channels the agent
    // picks, each to her address there.
    let default = reply_channel(&t, display_id, tg).await;
    assert_eq!(default["default"], true, "{default}");
    assert_eq!(reply_channel(&t, display_id, fb).await["available"], false);
    let url = t.acc(&format!("/conversations/{display_id}/messages"));
    t.post(&url, json!({"content": "Vou verificar, Ana"})).await;
    let tg_sent = fake.wait_for("/sendMessage", 1).await;
    assert_eq!(tg_sent[0].json()["chat_id"], 4242);
    t.post(
        &url,
        json!({"content": "Código de rastreio: BR123", "inbox_id": sms_inbox}),
    )
    .await;
    let sms_sent = fake.wait_for("/Messages.json", 1).await;
    assert_eq!(
        sms_sent[0].form_field("To").as_deref(),
        Some("+5511987654321")
    );
    assert_eq!(
        sms_sent[0].form_field("Body").as_deref(),
        Some("Código de rastreio: BR123")
    );
    t.post(
        &url,
        json!({"content": "Também por aqui 🙂", "inbox_id": wa}),
    )
    .await;
    let wa_sent = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 1)
        .await;
    assert_eq!(wa_sent[0].json()["to"], "551187654321");
    let stored = messages_of(&t, display_id).await;
    let outgoing: Vec<i64> = stored
        .iter()
        .filter(|m| m["message_type"] == 1)
        .map(|m| m["inbox_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        outgoing,
        [tg, sms_inbox, wa],
        "each reply recorded with its channel"
    );

    // A day later WhatsApp's window has closed: free text there is refused with the reason,
    // SMS still goes, and a template may reopen WhatsApp.
    t.pass_time(25 * 3600).await;
    let closed = reply_channel(&t, display_id, wa).await;
    assert_eq!(closed["available"], false, "{closed}");
    assert_eq!(closed["reason"], "whatsapp_window_closed");
    assert_eq!(
        reply_channel(&t, display_id, sms_inbox).await["available"],
        true
    );
    let refused = t
        .admin(
            "POST",
            &url,
            Some(json!({"content": "Oi?", "inbox_id": wa})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["code"], "whatsapp_window_closed",
        "{}",
        refused.body
    );
    t.post(&url, json!({"content": "Chegou?", "inbox_id": sms_inbox}))
        .await;
    fake.wait_for("/Messages.json", 2).await;
    t.post(
        &url,
        json!({"content": "Olá Ana, seu pedido 1042 saiu para entrega.", "inbox_id": wa,
            "template_params": {"name": "order_update", "language": "pt_BR",
                "processed_params": {"1": "Ana", "2": "1042"}}}),
    )
    .await;
    let wa_sent = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 2)
        .await;
    assert_eq!(wa_sent[1].json()["type"], "template");
    assert_eq!(
        fake.calls_to(&format!("/{PHONE_NUMBER_ID}/messages")).len(),
        2,
        "the refused text never left"
    );
}
