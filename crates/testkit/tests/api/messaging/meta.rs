//! Messenger and Instagram through Meta's Graph API: the shared `/bot` and
//! `/webhooks/instagram` paths with their handshake, `X-Hub-Signature-256` under the app's
//! secret, profile names, CDN files, replies inside Meta's windows, delivery and read events.

use serde_json::{Value, json};
use throughline_testkit::providers::{
    META_APP_SECRET, META_VERIFY_TOKEN, Misbehave, hub_signature,
};
use throughline_testkit::{Answer, Backend, TestApp, on_both_databases};

use super::{
    attachment_bytes, conversations_in, incoming, message_with_status, post_at_once, reply,
};

on_both_databases!(
    messenger_in_and_out,
    instagram_in_and_out,
    meta_refuses_what_meta_did_not_sign
);

pub const PAGE_ID: &str = "104590192345678";
pub const IG_ID: &str = "17841400000000001";
pub const PAGE_TOKEN: &str = "EAAB-page-access-token";

pub async fn messenger_inbox(t: &TestApp) -> Value {
    t.post(
        &t.acc("/inboxes"),
        json!({"name": "Facebook", "channel": {"type": "facebook_page", "page_id": PAGE_ID,
            "page_access_token": PAGE_TOKEN}}),
    )
    .await
}

async fn instagram_inbox(t: &TestApp) -> Value {
    t.post(
        &t.acc("/inboxes"),
        json!({"name": "Instagram", "channel": {"type": "instagram", "instagram_id": IG_ID,
            "page_access_token": PAGE_TOKEN}}),
    )
    .await
}

/// A webhook for `object` with one entry of `events` for `page`, signed with the app secret.
pub async fn meta_post(t: &TestApp, path: &str, object: &str, page: &str, events: Value) -> Answer {
    let body = json!({"object": object, "entry": [{"id": page, "time": 1764000000000_i64,
        "messaging": events}]})
    .to_string()
    .into_bytes();
    let sig = hub_signature(META_APP_SECRET, &body);
    t.raw_post(
        path,
        "application/json",
        &[("x-hub-signature-256", sig)],
        body,
    )
    .await
}

pub fn text_event(page: &str, psid: &str, mid: &str, text: &str) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": 1764000000123_i64,
        "message": {"mid": mid, "text": text}})
}

async fn messenger_in_and_out(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = messenger_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    assert_eq!(inbox["provider_webhook_url"], t.url("/bot"));
    assert!(!inbox.to_string().contains(PAGE_TOKEN));
    // Each inbox gets its own handshake token, accepted on the shared path.
    let own = inbox["verify_token"].as_str().unwrap();
    let (status, challenge) = t
        .raw_get(&format!(
            "/bot?hub.mode=subscribe&hub.verify_token={own}&hub.challenge=5"
        ))
        .await;
    assert_eq!((status, challenge.as_str()), (200, "5"));
    fake.set_node(
        "6001",
        json!({"first_name": "Ana", "last_name": "Souza", "id": "6001"}),
    );

    // Meta's handshake on the shared path.
    let ok = t
        .raw_get(&format!(
            "/bot?hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=8675309"
        ))
        .await;
    assert_eq!(ok, (200, "8675309".to_owned()));
    let wrong = t
        .raw_get("/bot?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
        .await;
    assert_eq!(wrong.0, 403);

    // Ten deliveries of one message at once: one message, the sender named from the profile
    // API with the page's token.
    let body = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1764000000000_i64,
        "messaging": [text_event(PAGE_ID, "6001", "m_AAA1", "Oi, vocês entregam em Campinas?")]}]})
    .to_string();
    let sig = hub_signature(META_APP_SECRET, body.as_bytes());
    let got: Vec<u16> = post_at_once(
        &t,
        10,
        "/bot",
        "application/json",
        &[("x-hub-signature-256", sig)],
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
    assert_eq!(incoming(&t, display_id).await.len(), 1);
    let profile = fake.calls_to("/6001");
    assert!(!profile.is_empty());
    assert_eq!(
        profile[0].header("authorization"),
        Some(format!("Bearer {PAGE_TOKEN}"))
    );

    // A picture from Meta's CDN, downloaded into the blob store.
    fake.add_media("cdn-photo-1", "image/png", b"\x89PNG-photo");
    meta_post(
        &t,
        "/bot",
        "page",
        PAGE_ID,
        json!([{"sender": {"id": "6001"}, "recipient": {"id": PAGE_ID}, "timestamp": 1764000001000_i64,
            "message": {"mid": "m_AAA2", "attachments": [{"type": "image",
                "payload": {"url": fake.media_url("cdn-photo-1")}}]}}]),
    )
    .await
    .expect(200);
    let photo = incoming(&t, display_id).await[1].clone();
    assert_eq!(photo["attachments"][0]["file_type"], "image", "{photo}");
    assert_eq!(
        attachment_bytes(&t, &photo["attachments"][0]).await,
        b"\x89PNG-photo"
    );

    // The reply goes to her page-scoped id as a RESPONSE within 24 hours.
    let answer = reply(&t, display_id, json!({"content": "Entregamos sim!"})).await;
    let calls = fake.wait_for("/me/messages", 1).await;
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {PAGE_TOKEN}"))
    );
    let sent = calls[0].json();
    assert_eq!(sent["recipient"]["id"], "6001");
    assert_eq!(sent["messaging_type"], "RESPONSE");
    assert_eq!(sent["message"]["text"], "Entregamos sim!");
    let mid = calls[0].answer.clone().unwrap().1["message_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Meta reports delivery by message ids.
    meta_post(
        &t,
        "/bot",
        "page",
        PAGE_ID,
        json!([{"sender": {"id": "6001"}, "recipient": {"id": PAGE_ID}, "timestamp": 1764000002000_i64,
            "delivery": {"mids": [mid], "watermark": 1764000002000_i64}}]),
    )
    .await
    .expect(200);
    message_with_status(&t, display_id, &answer["id"], "delivered").await;

    // Meta refuses (outside the window): its words on the failed message.
    fake.misbehave(vec![Misbehave::Answer(
        400,
        json!({"error": {"message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2018278, "fbtrace_id": "x"}}),
    )]);
    let refused = reply(&t, display_id, json!({"content": "Mais alguma coisa?"})).await;
    let failed = message_with_status(&t, display_id, &refused["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(reason.contains("allowed window"), "{reason}");
}

async fn instagram_in_and_out(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = instagram_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    assert_eq!(inbox["provider_webhook_url"], t.url("/webhooks/instagram"));
    fake.set_node(
        "9001",
        json!({"name": "Kasia Nowak", "username": "kasia.n", "id": "9001"}),
    );
    let ok = t
        .raw_get(&format!("/webhooks/instagram?hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=77"))
        .await;
    assert_eq!(ok, (200, "77".to_owned()));

    // A story mention, then a text replying to our message.
    fake.add_media("story-1", "video/mp4", b"mp4-story");
    meta_post(
        &t,
        "/webhooks/instagram",
        "instagram",
        IG_ID,
        json!([{"sender": {"id": "9001"}, "recipient": {"id": IG_ID}, "timestamp": 1764000000000_i64,
            "message": {"mid": "ig_m1", "attachments": [{"type": "story_mention",
                "payload": {"url": fake.media_url("story-1")}}]}}]),
    )
    .await
    .expect(200);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    assert_eq!(conversations[0]["meta"]["sender"]["name"], "Kasia Nowak");
    let mention = incoming(&t, display_id).await[0].clone();
    assert!(
        mention["content_attributes"]["instagram"]["story_mention"].is_object(),
        "{mention}"
    );
    assert_eq!(
        attachment_bytes(&t, &mention["attachments"][0]).await,
        b"mp4-story"
    );

    let answer = reply(
        &t,
        display_id,
        json!({"content": "Dziękujemy za oznaczenie!"}),
    )
    .await;
    let calls = fake.wait_for("/me/messages", 1).await;
    assert_eq!(calls[0].json()["recipient"]["id"], "9001");
    let mid = calls[0].answer.clone().unwrap().1["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Instagram's read event names the message.
    meta_post(
        &t,
        "/webhooks/instagram",
        "instagram",
        IG_ID,
        json!([{"sender": {"id": "9001"}, "recipient": {"id": IG_ID}, "timestamp": 1764000005000_i64,
            "read": {"mid": mid}}]),
    )
    .await
    .expect(200);
    message_with_status(&t, display_id, &answer["id"], "read").await;

    // A reaction to our message is shown as such.
    meta_post(
        &t,
        "/webhooks/instagram",
        "instagram",
        IG_ID,
        json!([{"sender": {"id": "9001"}, "recipient": {"id": IG_ID}, "timestamp": 1764000006000_i64,
            "reaction": {"mid": mid, "action": "react", "reaction": "love", "emoji": "❤️"}}]),
    )
    .await
    .expect(200);
    let last = incoming(&t, display_id).await.last().cloned().unwrap();
    assert_eq!(last["content"], "❤️");
    assert_eq!(last["content_attributes"]["instagram"]["is_reaction"], true);
}

async fn meta_refuses_what_meta_did_not_sign(b: Backend) {
    let (t, _fake) = TestApp::with_providers(b).await;
    let inbox = messenger_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let body = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1,
        "messaging": [text_event(PAGE_ID, "6001", "m_X", "hello")]}]})
    .to_string()
    .into_bytes();

    let none = t
        .raw_post("/bot", "application/json", &[], body.clone())
        .await;
    assert_eq!(none.status, 401, "{}", none.body);
    let wrong = t
        .raw_post(
            "/bot",
            "application/json",
            &[("x-hub-signature-256", hub_signature("another-app", &body))],
            body.clone(),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace("hello", "pay now");
    let replayed = t
        .raw_post(
            "/bot",
            "application/json",
            &[("x-hub-signature-256", hub_signature(META_APP_SECRET, &body))],
            altered.into_bytes(),
        )
        .await;
    assert_eq!(replayed.status, 401);
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // A page nobody here serves: 404; with ours in the same batch, ours is stored.
    let other = meta_post(
        &t,
        "/bot",
        "page",
        "999",
        json!([text_event("999", "1", "m_Y", "x")]),
    )
    .await;
    assert_eq!(other.status, 404);
    let batch = json!({"object": "page", "entry": [
        {"id": "999", "time": 1, "messaging": [text_event("999", "1", "m_Z", "not ours")]},
        {"id": PAGE_ID, "time": 1, "messaging": [text_event(PAGE_ID, "6002", "m_OURS", "ours")]}]})
    .to_string()
    .into_bytes();
    let sig = hub_signature(META_APP_SECRET, &batch);
    t.raw_post(
        "/bot",
        "application/json",
        &[("x-hub-signature-256", sig)],
        batch,
    )
    .await
    .expect(200);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    let said = incoming(&t, display_id).await;
    assert_eq!(said.len(), 1);
    assert_eq!(said[0]["content"], "ours");

    // Malformed, signed: 422. An Instagram body on the Messenger path: 422.
    for bad in [
        &b"{"[..],
        br#"{"object":"page"}"#,
        br#"{"object":"page","entry":"x"}"#,
    ] {
        let got = t
            .raw_post(
                "/bot",
                "application/json",
                &[("x-hub-signature-256", hub_signature(META_APP_SECRET, bad))],
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

    // Bad inbox fields are named.
    for (channel, field) in [
        (
            json!({"type": "facebook_page", "page_access_token": "t"}),
            "page_id",
        ),
        (
            json!({"type": "facebook_page", "page_id": "abc", "page_access_token": "t"}),
            "page_id",
        ),
        (
            json!({"type": "facebook_page", "page_id": "123"}),
            "page_access_token",
        ),
        (
            json!({"type": "facebook_page", "page_id": PAGE_ID, "page_access_token": "t"}),
            "channel",
        ),
    ] {
        let got = t
            .admin(
                "POST",
                &t.acc("/inboxes"),
                Some(json!({"name": "x", "channel": channel})),
            )
            .await;
        assert_eq!(got.status, 422, "{channel}: {}", got.body);
        assert!(
            got.body.to_string().contains(field),
            "{field}: {}",
            got.body
        );
    }
    // An agent cannot start a conversation on Messenger with someone who never wrote.
    let contact = t
        .post(&t.acc("/contacts"), json!({"name": "Someone"}))
        .await;
    let got = t
        .admin(
            "POST",
            &t.acc("/conversations"),
            Some(
                json!({"inbox_id": inbox_id, "contact_id": contact["payload"]["contact"]["id"],
                "message": {"content": "hi"}}),
            ),
        )
        .await;
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.to_string().contains("never_wrote"), "{}", got.body);
}
