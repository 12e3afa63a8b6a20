//! Telegram through the Bot API: the webhook registered with its secret, Chatwoot's
//! `/webhooks/telegram/{bot_token}`, private chats and groups, files both ways, edits, button
//! presses, and Telegram's refusals on the agent's screen.

use serde_json::{Value, json};
use throughline_testkit::providers::{FakeProviders, Misbehave};
use throughline_testkit::{Answer, Backend, TestApp, on_both_databases};

use super::{
    attachment_bytes, conversations_in, incoming, message_with_status, messages_of, post_at_once,
    reply, reply_with_file,
};

on_both_databases!(
    telegram_bot_in_and_out,
    telegram_refuses_what_telegram_did_not_send
);

pub const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

/// A Telegram inbox, and the secret Telegram was given with our webhook (read from the fake,
/// as Telegram learns it).
pub async fn telegram_inbox(t: &TestApp, fake: &FakeProviders) -> (Value, String) {
    let before = fake.calls_to("/setWebhook").len();
    let inbox = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Telegram", "channel": {"type": "telegram", "bot_token": BOT_TOKEN}}),
        )
        .await;
    let calls = fake.wait_for("/setWebhook", before + 1).await;
    let registered = calls[before].json();
    let secret = registered["secret_token"].as_str().unwrap().to_owned();
    (inbox, secret)
}

pub async fn telegram_post(t: &TestApp, secret: &str, update: &Value) -> Answer {
    t.raw_post(
        &format!("/webhooks/telegram/{BOT_TOKEN}"),
        "application/json",
        &[("x-telegram-bot-api-secret-token", secret.to_owned())],
        update.to_string().into_bytes(),
    )
    .await
}

/// A private chat's text message.
pub fn private_text(update_id: i64, chat: i64, message_id: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {"message_id": message_id,
        "from": {"id": chat, "is_bot": false, "first_name": "Ana", "last_name": "Souza",
                 "username": "anasouza", "language_code": "pt-br"},
        "chat": {"id": chat, "first_name": "Ana", "last_name": "Souza", "username": "anasouza",
                 "type": "private"},
        "date": 1764000000, "text": text}})
}

async fn telegram_bot_in_and_out(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let (inbox, secret) = telegram_inbox(&t, &fake).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    assert!(
        !inbox
            .to_string()
            .contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
        "{inbox}"
    );
    let registered = fake.calls_to("/setWebhook")[0].clone();
    assert_eq!(registered.path, format!("/bot{BOT_TOKEN}/setWebhook"));
    assert_eq!(
        registered.json()["url"],
        t.url(&format!("/webhooks/telegram/{BOT_TOKEN}"))
    );

    // One update delivered ten times at once: one message.
    let update = private_text(9001, 4242, 10, "Olá, preciso de ajuda com o pedido");
    let body = update.to_string();
    let got: Vec<u16> = post_at_once(
        &t,
        10,
        &format!("/webhooks/telegram/{BOT_TOKEN}"),
        "application/json",
        &[("x-telegram-bot-api-secret-token", secret.clone())],
        body.as_bytes(),
    )
    .await
    .into_iter()
    .map(|(status, _)| status)
    .collect();
    assert_eq!(got, vec![200; 10]);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    assert_eq!(conversations[0]["meta"]["sender"]["name"], "Ana Souza");
    let received = incoming(&t, display_id).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0]["content_attributes"]["telegram"]["from"]["username"],
        "anasouza"
    );

    // A photo: getFile, then the download, into the blob store.
    fake.add_media("PHOTO-BIG", "image/jpeg", b"\xFF\xD8\xFFbig-photo");
    telegram_post(
        &t,
        &secret,
        &json!({"update_id": 9002, "message": {"message_id": 11,
            "from": {"id": 4242, "is_bot": false, "first_name": "Ana"},
            "chat": {"id": 4242, "type": "private", "first_name": "Ana"}, "date": 1764000010,
            "caption": "a caixa chegou assim",
            "photo": [{"file_id": "PHOTO-SMALL", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100},
                      {"file_id": "PHOTO-BIG", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 13}]}}),
    )
    .await
    .expect(200);
    let received = incoming(&t, display_id).await;
    let photo = &received[1];
    assert_eq!(photo["content"], "a caixa chegou assim");
    assert_eq!(photo["attachments"][0]["file_type"], "image", "{photo}");
    assert_eq!(
        attachment_bytes(&t, &photo["attachments"][0]).await,
        b"\xFF\xD8\xFFbig-photo"
    );
    assert_eq!(fake.calls_to(&format!("/bot{BOT_TOKEN}/getFile")).len(), 1);

    // She fixes a typo: the message shows the new text and keeps the old one. A repeat of
    // the edit changes nothing more.
    let edit = json!({"update_id": 9003, "edited_message": {"message_id": 10,
        "from": {"id": 4242, "is_bot": false, "first_name": "Ana"},
        "chat": {"id": 4242, "type": "private", "first_name": "Ana"}, "date": 1764000000,
        "edit_date": 1764000050, "text": "Olá, preciso de ajuda com o pedido #1042"}});
    telegram_post(&t, &secret, &edit).await.expect(200);
    telegram_post(&t, &secret, &edit).await.expect(200);
    let first = incoming(&t, display_id).await[0].clone();
    assert_eq!(first["content"], "Olá, preciso de ajuda com o pedido #1042");
    assert_eq!(
        first["content_attributes"]["previous_contents"],
        json!(["Olá, preciso de ajuda com o pedido"])
    );
    assert_eq!(first["content_attributes"]["edited_at"], 1764000050);

    // A bot command passes through as text.
    telegram_post(&t, &secret, &private_text(9004, 4242, 12, "/start"))
        .await
        .expect(200);
    let received = incoming(&t, display_id).await;
    assert_eq!(received[2]["content"], "/start");
    assert_eq!(
        received[2]["content_attributes"]["telegram"]["command"],
        true
    );

    // The agent answers, quoting her first message: sendMessage to her chat.
    let answer = reply(
        &t,
        display_id,
        json!({"content": "Claro! Qual o problema?",
                   "content_attributes": {"in_reply_to": received[0]["id"]}}),
    )
    .await;
    let calls = fake.wait_for("/sendMessage", 1).await;
    assert_eq!(calls[0].path, format!("/bot{BOT_TOKEN}/sendMessage"));
    let sent = calls[0].json();
    assert_eq!(sent["chat_id"], 4242);
    assert_eq!(sent["text"], "Claro! Qual o problema?");
    assert_eq!(sent["reply_parameters"]["message_id"], 10);
    // Telegram has no delivery receipts: accepted is as far as it goes.
    message_with_status(&t, display_id, &answer["id"], "sent").await;

    // A button press on our keyboard arrives as what the button says.
    telegram_post(
        &t,
        &secret,
        &json!({"update_id": 9005, "callback_query": {"id": "cbq-1", "chat_instance": "ci",
            "from": {"id": 4242, "is_bot": false, "first_name": "Ana"},
            "message": {"message_id": 77, "date": 1764000100,
                "chat": {"id": 4242, "type": "private"}, "text": "Resolvido?",
                "reply_markup": {"inline_keyboard": [[{"text": "Sim 👍", "callback_data": "yes"},
                                                      {"text": "Não", "callback_data": "no"}]]}},
            "data": "yes"}}),
    )
    .await
    .expect(200);
    let received = incoming(&t, display_id).await;
    assert_eq!(received.last().unwrap()["content"], "Sim 👍");

    // A file goes up as multipart with the text as caption.
    reply_with_file(
        &t,
        display_id,
        "Etiqueta de troca",
        "etiqueta.pdf",
        "application/pdf",
        b"%PDF-1.4 label",
    )
    .await;
    let upload = fake.wait_for("/sendDocument", 1).await;
    let content_type = upload[0].header("content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/form-data"),
        "{content_type}"
    );
    let raw = String::from_utf8_lossy(&upload[0].body);
    assert!(
        raw.contains("%PDF-1.4 label") && raw.contains("Etiqueta de troca"),
        "{raw}"
    );
    assert!(raw.contains("4242"), "the chat id is in the upload");

    // She blocked the bot: Telegram's words are on the failed message.
    fake.misbehave(vec![Misbehave::Answer(
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    )]);
    let blocked = reply(&t, display_id, json!({"content": "Ainda aí?"})).await;
    let failed = message_with_status(&t, display_id, &blocked["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(reason.contains("blocked by the user"), "{reason}");
    assert!(
        !reason.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
        "{reason}"
    );

    // A group is one conversation with several people writing.
    for (update_id, user, name, text) in [
        (9101, 501, "Piotr", "Dzień dobry, mamy problem z fakturą"),
        (9102, 502, "Kasia", "Ja też nie dostałam faktury"),
    ] {
        telegram_post(
            &t,
            &secret,
            &json!({"update_id": update_id, "message": {"message_id": update_id,
                "from": {"id": user, "is_bot": false, "first_name": name},
                "chat": {"id": -100777, "type": "supergroup", "title": "Biuro Kowalski"},
                "date": 1764000200, "text": text}}),
        )
        .await
        .expect(200);
    }
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 2, "{conversations:?}");
    let group = conversations
        .iter()
        .find(|c| c["meta"]["sender"]["name"] == "Biuro Kowalski")
        .unwrap();
    let said = incoming(&t, group["id"].as_i64().unwrap()).await;
    let senders: Vec<&Value> = said
        .iter()
        .map(|m| &m["content_attributes"]["telegram"]["from"]["name"])
        .collect();
    assert_eq!(senders, [&json!("Piotr"), &json!("Kasia")]);
    let all = messages_of(&t, display_id).await;
    assert!(
        all.iter()
            .all(|m| m["content"] != "Ja też nie dostałam faktury")
    );
}

async fn telegram_refuses_what_telegram_did_not_send(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let (inbox, secret) = telegram_inbox(&t, &fake).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let update = private_text(1, 4242, 1, "oi");

    // No secret, a wrong secret, another bot's token in the path: nothing stored.
    let path = format!("/webhooks/telegram/{BOT_TOKEN}");
    let none = t
        .raw_post(
            &path,
            "application/json",
            &[],
            update.to_string().into_bytes(),
        )
        .await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(
        telegram_post(&t, "not-the-secret", &update).await.status,
        401
    );
    let other_bot = t
        .raw_post(
            "/webhooks/telegram/987654321:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "application/json",
            &[("x-telegram-bot-api-secret-token", secret.clone())],
            update.to_string().into_bytes(),
        )
        .await;
    assert_eq!(other_bot.status, 404, "{}", other_bot.body);
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // Garbage and truncated updates: 422; kinds we do not read: 200 and nothing stored.
    for bad in [
        &b"{"[..],
        b"[]",
        br#"{"message": {"text": "no update id"}}"#,
        br#"{"update_id": 5, "message": {"message_id": 1, "text": "no chat"}}"#,
    ] {
        let got = t
            .raw_post(
                &path,
                "application/json",
                &[("x-telegram-bot-api-secret-token", secret.clone())],
                bad.to_vec(),
            )
            .await;
        assert_eq!(
            got.status,
            422,
            "{}: {}",
            String::from_utf8_lossy(bad),
            got.body
        );
    }
    let channel_post = json!({"update_id": 7, "channel_post": {"message_id": 1,
        "chat": {"id": -1001, "type": "channel", "title": "News"}, "date": 1, "text": "x"}});
    telegram_post(&t, &secret, &channel_post).await.expect(200);
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // Bad inbox fields are named; the credentials check says what Telegram says.
    let got = t
        .admin(
            "POST",
            &t.acc("/inboxes"),
            Some(json!({"name": "x", "channel": {"type": "telegram", "bot_token": "not-a-token"}})),
        )
        .await;
    assert_eq!(got.status, 422);
    assert!(got.body.to_string().contains("bot_token"), "{}", got.body);
    let id = inbox["id"].as_i64().unwrap();
    let ok = t
        .post(
            &t.acc(&format!("/inboxes/{id}/test_credentials")),
            json!({}),
        )
        .await;
    assert_eq!(ok["ok"], true, "{ok}");
    fake.refuse_auth(true);
    let bad = t
        .post(
            &t.acc(&format!("/inboxes/{id}/test_credentials")),
            json!({}),
        )
        .await;
    fake.refuse_auth(false);
    assert_eq!(bad["ok"], false);
    assert!(
        bad["provider_error"]
            .as_str()
            .unwrap()
            .contains("Unauthorized"),
        "{bad}"
    );

    // The genuine update is stored.
    telegram_post(&t, &secret, &update).await.expect(200);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);

    // A NUL character (PostgreSQL text cannot hold one) is kept as U+FFFD, not refused: the
    // customer's message is never lost to it.
    telegram_post(&t, &secret, &private_text(2, 4242, 2, "pedido\u{0}1042"))
        .await
        .expect(200);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    let said = incoming(&t, display_id).await;
    assert_eq!(said.last().unwrap()["content"], "pedido\u{FFFD}1042");
}
