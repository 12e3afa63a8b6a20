//! WhatsApp through Meta's Cloud API: Chatwoot's `/webhooks/whatsapp/{phone_number}` with its
//! subscription handshake, `X-Hub-Signature-256`, media by id, replies, statuses, templates and
//! the 24-hour window.

use serde_json::{Value, json};
use throughline_testkit::providers::{FakeProviders, Misbehave, hub_signature, whatsapp_webhook};
use throughline_testkit::{Answer, Backend, TestApp, on_both_databases};

use super::{
    attachment_bytes, conversations_in, incoming, message_with_status, messages_of, post_at_once,
    reply, reply_with_file,
};

on_both_databases!(
    whatsapp_cloud_in_and_out,
    whatsapp_handshake_and_signatures,
    whatsapp_templates_and_the_window,
    a_survey_is_answered_by_a_whatsapp_reply,
    a_journey_message_uses_the_template_when_the_window_is_closed,
);

pub const PHONE_NUMBER_ID: &str = "1001";
pub const APP_SECRET: &str = "wa-app-secret";
pub const API_KEY: &str = "EAAG-system-user-token";
pub const BUSINESS_NUMBER: &str = "+551130040000";

pub async fn whatsapp_inbox(t: &TestApp) -> Value {
    t.post(
        &t.acc("/inboxes"),
        json!({"name": "WhatsApp", "channel": {"type": "whatsapp", "phone_number": BUSINESS_NUMBER,
            "provider": "whatsapp_cloud", "provider_config": {"api_key": API_KEY,
            "phone_number_id": PHONE_NUMBER_ID, "business_account_id": "2002",
            "webhook_verify_token": "verify-wa", "app_secret": APP_SECRET}}}),
    )
    .await
}

/// Posts a Cloud API webhook carrying `value`, signed with the inbox's app secret.
pub async fn whatsapp_post(t: &TestApp, value: Value) -> Answer {
    let body = whatsapp_webhook(PHONE_NUMBER_ID, value)
        .to_string()
        .into_bytes();
    signed_post(t, &body, &hub_signature(APP_SECRET, &body)).await
}

async fn signed_post(t: &TestApp, body: &[u8], signature: &str) -> Answer {
    t.raw_post(
        "/webhooks/whatsapp/551130040000",
        "application/json",
        &[("x-hub-signature-256", signature.to_owned())],
        body.to_vec(),
    )
    .await
}

/// A customer's text, as the Cloud API delivers it.
pub fn text_from(wa_id: &str, id: &str, text: &str, name: &str) -> Value {
    json!({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": id, "timestamp": "1764000000", "type": "text",
            "text": {"body": text}}]})
}

fn statuses(id: &str, status: &str, errors: Option<Value>) -> Value {
    let mut s = json!({"id": id, "status": status, "timestamp": "1764000100",
        "recipient_id": "551187654321"});
    if let Some(e) = errors {
        s["errors"] = e;
    }
    json!({"statuses": [s]})
}

async fn sent_id(fake: &FakeProviders, n: usize) -> String {
    let calls = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), n)
        .await;
    let (_, body) = calls[n - 1].answer.clone().unwrap();
    body["messages"][0]["id"].as_str().unwrap().to_owned()
}

async fn whatsapp_cloud_in_and_out(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = whatsapp_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();

    // One message delivered ten times at once is stored once.
    let value = text_from("551187654321", "wamid.IN1", "Oi, tudo bem?", "Ana Souza");
    let body = whatsapp_webhook(PHONE_NUMBER_ID, value)
        .to_string()
        .into_bytes();
    let sig = hub_signature(APP_SECRET, &body);
    let got: Vec<u16> = post_at_once(
        &t,
        10,
        "/webhooks/whatsapp/551130040000",
        "application/json",
        &[("x-hub-signature-256", sig)],
        &body,
    )
    .await
    .into_iter()
    .map(|(status, _)| status)
    .collect();
    assert_eq!(got, vec![200; 10]);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    let sender = &conversations[0]["meta"]["sender"];
    assert_eq!(sender["name"], "Ana Souza");
    // WhatsApp dropped Brazil's ninth digit; the contact has the real number.
    assert_eq!(sender["phone_number"], "+5511987654321", "{sender}");
    assert_eq!(incoming(&t, display_id).await.len(), 1);

    // A voice note and a document: fetched by id from the Graph API with the token, stored.
    fake.add_media("MEDIA-VOICE", "audio/ogg", b"OggS-voice");
    fake.add_media("MEDIA-PDF", "application/pdf", b"%PDF-1.4 invoice");
    whatsapp_post(
        &t,
        json!({"messages": [
            {"from": "551187654321", "id": "wamid.IN2", "timestamp": "1764000010", "type": "audio",
             "audio": {"id": "MEDIA-VOICE", "mime_type": "audio/ogg; codecs=opus", "voice": true}},
            {"from": "551187654321", "id": "wamid.IN3", "timestamp": "1764000020", "type": "document",
             "document": {"id": "MEDIA-PDF", "mime_type": "application/pdf", "filename": "nota.pdf",
                          "caption": "a nota fiscal"},
             "context": {"from": "15550001111", "id": "wamid.IN1"}},
            {"from": "551187654321", "id": "wamid.IN4", "timestamp": "1764000030", "type": "image",
             "image": {"id": "MEDIA-LATE", "mime_type": "image/jpeg"}}]}),
    )
    .await
    .expect(200);
    let received = incoming(&t, display_id).await;
    assert_eq!(received.len(), 4, "{received:?}");
    let voice = &received[1];
    assert_eq!(voice["attachments"][0]["file_type"], "audio", "{voice}");
    assert_eq!(
        attachment_bytes(&t, &voice["attachments"][0]).await,
        b"OggS-voice"
    );
    assert_eq!(voice["content_attributes"]["whatsapp"]["voice"], true);
    let doc = &received[2];
    assert_eq!(doc["content"], "a nota fiscal");
    assert_eq!(
        attachment_bytes(&t, &doc["attachments"][0]).await,
        b"%PDF-1.4 invoice"
    );
    assert_eq!(
        doc["content_attributes"]["whatsapp"]["in_reply_to_external_id"],
        "wamid.IN1"
    );
    let lookups = fake.calls_to("/MEDIA-VOICE");
    assert_eq!(
        lookups[0].header("authorization"),
        Some(format!("Bearer {API_KEY}"))
    );
    // A file Meta would not hand over yet: the message is kept saying what is missing, and
    // the download is retried until the file arrives and is attached.
    let late = &received[3];
    assert!(
        late["attachments"].as_array().is_none_or(Vec::is_empty),
        "{late}"
    );
    let pending = &late["content_attributes"]["media_pending"][0];
    assert_eq!(pending["handle"], "MEDIA-LATE", "{late}");
    assert!(pending["error"].as_str().is_some(), "{late}");
    fake.add_media("MEDIA-LATE", "image/jpeg", b"\xFF\xD8\xFFlate");
    let arrived = t
        .eventually(super::WAIT, "the late file to be attached", || async {
            // The message and its attachments are read apart: wait for both to agree.
            incoming(&t, display_id).await.into_iter().find(|m| {
                m["id"] == late["id"]
                    && m["attachments"].as_array().is_some_and(|a| !a.is_empty())
                    && m["content_attributes"]["media_pending"].is_null()
            })
        })
        .await;
    assert_eq!(
        attachment_bytes(&t, &arrived["attachments"][0]).await,
        b"\xFF\xD8\xFFlate"
    );

    // The agent's reply, quoting her first message, goes to her wa_id through the Cloud API.
    let first_id = received[0]["id"].clone();
    let answer = reply(
        &t,
        display_id,
        json!({"content": "Olá Ana! Como posso ajudar?",
                   "content_attributes": {"in_reply_to": first_id}}),
    )
    .await;
    let wamid = sent_id(&fake, 1).await;
    let call = &fake.calls_to(&format!("/{PHONE_NUMBER_ID}/messages"))[0];
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {API_KEY}"))
    );
    let sent = call.json();
    assert_eq!(sent["messaging_product"], "whatsapp");
    assert_eq!(sent["to"], "551187654321");
    assert_eq!(sent["type"], "text");
    assert_eq!(sent["text"]["body"], "Olá Ana! Como posso ajudar?");
    assert_eq!(sent["context"]["message_id"], "wamid.IN1");

    // Statuses out of order: read, then a late "delivered" and "sent": stays read.
    for state in ["read", "delivered", "sent"] {
        whatsapp_post(&t, statuses(&wamid, state, None))
            .await
            .expect(200);
    }
    message_with_status(&t, display_id, &answer["id"], "read").await;

    // An attachment goes by link (Meta fetches our signed URL), with the text as caption.
    reply_with_file(
        &t,
        display_id,
        "Segue a etiqueta",
        "etiqueta.pdf",
        "application/pdf",
        b"%PDF-1.4 label",
    )
    .await;
    let calls = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 2)
        .await;
    let doc = calls[1].json();
    assert_eq!(doc["type"], "document", "{doc}");
    assert_eq!(doc["document"]["caption"], "Segue a etiqueta");
    assert_eq!(doc["document"]["filename"], "etiqueta.pdf");
    let link = doc["document"]["link"].as_str().unwrap();
    let fetched = t.client.get(link).send().await.unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"%PDF-1.4 label");

    // A failed status with Meta's error: shown on the message.
    let failing = reply(&t, display_id, json!({"content": "Ainda aí?"})).await;
    let wamid = sent_id(&fake, 3).await;
    whatsapp_post(
        &t,
        statuses(
            &wamid,
            "failed",
            Some(json!([{"code": 131047, "title": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}])),
        ),
    )
    .await
    .expect(200);
    let failed = message_with_status(&t, display_id, &failing["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("131047") && reason.contains("24 hours"),
        "{reason}"
    );

    // Meta refuses the send: its error is on the message; a 503 is retried.
    fake.misbehave(vec![Misbehave::Answer(
        400,
        json!({"error": {"message": "(#131026) Message undeliverable", "type": "OAuthException",
            "code": 131026, "error_data": {"details": "Receiver is incapable of receiving this message"}}}),
    )]);
    let refused = reply(&t, display_id, json!({"content": "Oi?"})).await;
    let failed = message_with_status(&t, display_id, &refused["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("131026") && reason.contains("incapable"),
        "{reason}"
    );
    fake.misbehave(vec![Misbehave::Answer(
        503,
        json!({"error": {"message": "busy", "code": 2}}),
    )]);
    let retried = reply(&t, display_id, json!({"content": "De novo"})).await;
    let wamid = sent_id(&fake, 6).await;
    whatsapp_post(&t, statuses(&wamid, "delivered", None))
        .await
        .expect(200);
    message_with_status(&t, display_id, &retried["id"], "delivered").await;
    let all = messages_of(&t, display_id).await;
    assert!(all.iter().any(|m| m["content"] == "De novo"));
}

async fn whatsapp_handshake_and_signatures(b: Backend) {
    let (t, _fake) = TestApp::with_providers(b).await;
    let inbox = whatsapp_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    assert_eq!(
        inbox["provider_webhook_url"],
        t.url("/webhooks/whatsapp/+551130040000")
    );
    assert_eq!(
        inbox["provider_config"]["webhook_verify_token"],
        "verify-wa"
    );
    let shown = inbox.to_string();
    assert!(
        !shown.contains(API_KEY) && !shown.contains(APP_SECRET),
        "{shown}"
    );

    // Meta's handshake: the challenge is echoed for the inbox's token only, whichever way
    // the number is written.
    let ok = t
        .raw_get("/webhooks/whatsapp/551130040000?hub.mode=subscribe&hub.verify_token=verify-wa&hub.challenge=1158201444")
        .await;
    assert_eq!(ok, (200, "1158201444".to_owned()));
    let plus = t
        .raw_get("/webhooks/whatsapp/%2B551130040000?hub.mode=subscribe&hub.verify_token=verify-wa&hub.challenge=42")
        .await;
    assert_eq!(plus, (200, "42".to_owned()));
    let wrong = t
        .raw_get("/webhooks/whatsapp/551130040000?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
        .await;
    assert_eq!(wrong.0, 403);
    assert!(
        !wrong.1.contains('1') || !wrong.1.starts_with('1'),
        "no challenge echoed: {}",
        wrong.1
    );
    let unknown = t
        .raw_get("/webhooks/whatsapp/4822000000?hub.mode=subscribe&hub.verify_token=verify-wa&hub.challenge=1")
        .await;
    assert_eq!(unknown.0, 404);

    // Signatures: missing, wrong secret, and a genuine one over an altered body → 401.
    let body = whatsapp_webhook(
        PHONE_NUMBER_ID,
        text_from("48501234567", "wamid.A", "Dzień dobry", "Jan"),
    )
    .to_string()
    .into_bytes();
    let missing = t
        .raw_post(
            "/webhooks/whatsapp/551130040000",
            "application/json",
            &[],
            body.clone(),
        )
        .await;
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(
        signed_post(&t, &body, &hub_signature("not-the-secret", &body))
            .await
            .status,
        401
    );
    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace("Dzień dobry", "Zapłać teraz");
    assert_eq!(
        signed_post(&t, altered.as_bytes(), &hub_signature(APP_SECRET, &body))
            .await
            .status,
        401
    );
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // Malformed bodies, properly signed: 422, nothing stored, never a 500.
    for bad in [
        &b"{"[..],
        br#"{"object":"page","entry":[]}"#,
        br#"{"object":"whatsapp_business_account","entry":{}}"#,
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1001"},"messages":[{"id":"x","from":"1<script>"}]}}]}]}"#,
    ] {
        let got = signed_post(&t, bad, &hub_signature(APP_SECRET, bad)).await;
        assert_eq!(got.status, 422, "{}: {}", String::from_utf8_lossy(bad), got.body);
    }
    // Another number of the same business account is not this inbox's: accepted, skipped.
    let other = whatsapp_webhook("9999", text_from("48501234567", "wamid.B", "x", "Jan"))
        .to_string()
        .into_bytes();
    assert_eq!(
        signed_post(&t, &other, &hub_signature(APP_SECRET, &other))
            .await
            .status,
        200
    );
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // The genuine body, from a Polish number.
    signed_post(&t, &body, &hub_signature(APP_SECRET, &body))
        .await
        .expect(200);
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(
        conversations[0]["meta"]["sender"]["phone_number"],
        "+48501234567"
    );
}

async fn whatsapp_templates_and_the_window(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = whatsapp_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    fake.set_templates(vec![
        json!({"name": "order_update", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
            "id": "t1", "components": [{"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} saiu para entrega."}]}),
        json!({"name": "promo", "language": "pt_BR", "status": "REJECTED", "category": "MARKETING",
            "id": "t2", "components": [{"type": "BODY", "text": "Promo!"}]}),
    ]);
    let synced = t
        .post(
            &t.acc(&format!("/inboxes/{inbox_id}/sync_templates")),
            json!({}),
        )
        .await;
    let templates = synced["message_templates"].as_array().unwrap();
    assert_eq!(templates.len(), 2, "{synced}");
    assert_eq!(templates[0]["name"], "order_update");
    let listing = fake.calls_to("/2002/message_templates");
    assert_eq!(
        listing[0].header("authorization"),
        Some(format!("Bearer {API_KEY}"))
    );
    // A new access token: the templates stay, the next calls carry it.
    let updated = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{inbox_id}")),
            Some(json!({"channel": {"provider_config": {"api_key": "EAAG-rotated"}}})),
        )
        .await
        .expect(200);
    assert_eq!(
        updated["message_templates"].as_array().unwrap().len(),
        2,
        "{updated}"
    );
    assert!(!updated.to_string().contains("EAAG-rotated"));

    // An agent starts a conversation with a customer who never wrote: the window is closed.
    let contact = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Jan Kowalski", "phone_number": "+48501234567"}),
        )
        .await;
    let contact_id = contact["payload"]["contact"]["id"].as_i64().unwrap();
    let conversation = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    let display_id = conversation["id"].as_i64().unwrap();
    let channels = t
        .get(&t.acc(&format!("/conversations/{display_id}/reply_channels")))
        .await;
    let wa = channels["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["inbox_id"] == inbox_id)
        .cloned()
        .unwrap();
    assert_eq!(wa["available"], false, "{channels}");
    assert_eq!(wa["reason"], "whatsapp_window_closed", "{wa}");

    // A free text is refused with the reason; a rejected or unknown template, or one missing a
    // parameter, too; the approved template with its parameters goes out.
    let text = t
        .admin(
            "POST",
            &t.acc(&format!("/conversations/{display_id}/messages")),
            Some(json!({"content": "Olá Jan"})),
        )
        .await;
    assert_eq!(text.status, 422, "{}", text.body);
    assert!(text.body.to_string().contains("24-hour"), "{}", text.body);
    for (params, why) in [
        (
            json!({"name": "promo", "language": "pt_BR"}),
            "not_approved",
        ),
        (
            json!({"name": "nope", "language": "pt_BR"}),
            "unknown_template",
        ),
        (
            json!({"name": "order_update", "language": "pt_BR", "processed_params": {"1": "Jan"}}),
            "missing",
        ),
    ] {
        let got = t
            .admin(
                "POST",
                &t.acc(&format!("/conversations/{display_id}/messages")),
                Some(json!({"content": "x", "template_params": params})),
            )
            .await;
        assert_eq!(got.status, 422, "{params}: {}", got.body);
        assert!(got.body.to_string().contains(why), "{why}: {}", got.body);
    }
    let template = reply(&t, display_id, json!({"content": "Olá Jan, seu pedido #1042 saiu para entrega.",
                "template_params": {"name": "order_update", "category": "UTILITY", "language": "pt_BR",
                    "processed_params": {"1": "Jan", "2": "#1042"}}})).await;
    let calls = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 1)
        .await;
    assert_eq!(
        calls[0].header("authorization").as_deref(),
        Some("Bearer EAAG-rotated")
    );
    let sent = calls[0].json();
    assert_eq!(sent["type"], "template", "{sent}");
    assert_eq!(sent["to"], "48501234567");
    assert_eq!(sent["template"]["name"], "order_update");
    assert_eq!(sent["template"]["language"]["code"], "pt_BR");
    assert_eq!(
        sent["template"]["components"][0]["parameters"][1]["text"],
        "#1042"
    );
    let wamid = calls[0].answer.clone().unwrap().1["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    whatsapp_post(&t, statuses(&wamid, "delivered", None))
        .await
        .expect(200);
    message_with_status(&t, display_id, &template["id"], "delivered").await;

    // He answers: the window opens, free text goes.
    whatsapp_post(
        &t,
        text_from("48501234567", "wamid.JAN1", "Dziękuję!", "Jan"),
    )
    .await
    .expect(200);
    let channels = t
        .get(&t.acc(&format!("/conversations/{display_id}/reply_channels")))
        .await;
    let wa = channels["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["inbox_id"] == inbox_id)
        .cloned()
        .unwrap();
    assert_eq!(wa["available"], true, "{channels}");
    assert!(
        wa["window_closes_at"].as_i64().is_some(),
        "time left is shown: {wa}"
    );
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(
        conversations.len(),
        1,
        "his answer joined the conversation the template started"
    );
    reply(&t, display_id, json!({"content": "Proszę bardzo!"})).await;
    let calls = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 2)
        .await;
    assert_eq!(calls[1].json()["text"]["body"], "Proszę bardzo!");
}

/// After resolution the survey goes out through WhatsApp (the channel the customer used);
/// the customer answers it by replying with the number and a word, as people do there.
async fn a_survey_is_answered_by_a_whatsapp_reply(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = whatsapp_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{inbox_id}")),
        Some(json!({"csat_survey_enabled": true})),
    )
    .await
    .expect(200);
    whatsapp_post(
        &t,
        text_from(
            "551187654321",
            "wamid.S1",
            "Meu pedido atrasou",
            "Ana Souza",
        ),
    )
    .await
    .expect(200);
    let display_id = conversations_in(&t, inbox_id).await[0]["id"]
        .as_i64()
        .unwrap();
    reply(
        &t,
        display_id,
        json!({"content": "Já foi enviado, chega amanhã!"}),
    )
    .await;
    fake.wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 1)
        .await;
    t.post(
        &t.acc(&format!("/conversations/{display_id}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    // The survey, as WhatsApp text carrying the link.
    let sent = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 2)
        .await;
    let survey: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(survey["to"], "551187654321", "{survey}");
    let text = survey["text"]["body"].as_str().unwrap();
    assert!(text.contains("/survey/responses/"), "{text}");
    whatsapp_post(
        &t,
        text_from("551187654321", "wamid.S2", "5 - ótimo", "Ana Souza"),
    )
    .await
    .expect(200);
    let answers = t
        .eventually(std::time::Duration::from_secs(20), "the answer", || async {
            let r = t.get(&t.acc("/csat_survey_responses")).await;
            r.as_array().filter(|a| !a.is_empty()).cloned()
        })
        .await;
    assert_eq!(answers[0]["rating"], 5);
    assert_eq!(answers[0]["feedback_message"], "ótimo");
    assert_eq!(answers[0]["answered_via"], "reply");
    assert_eq!(answers[0]["conversation_id"], display_id);
}

/// A journey campaign for a customer who last wrote on WhatsApp two days ago: the window is
/// closed, so the campaign's approved template goes out; a campaign whose template is not
/// approved is skipped with the reason instead of failing at Meta.
async fn a_journey_message_uses_the_template_when_the_window_is_closed(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = whatsapp_inbox(&t).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    fake.set_templates(vec![
        json!({"name": "order_update", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
            "id": "t1", "components": [{"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} saiu para entrega."}]}),
        json!({"name": "promo", "language": "pt_BR", "status": "REJECTED", "category": "MARKETING",
            "id": "t2", "components": [{"type": "BODY", "text": "Promo!"}]}),
    ]);
    t.post(
        &t.acc(&format!("/inboxes/{inbox_id}/sync_templates")),
        json!({}),
    )
    .await;
    whatsapp_post(
        &t,
        text_from("551187654321", "wamid.J1", "Quero comprar", "Ana Souza"),
    )
    .await
    .expect(200);
    let display_id = conversations_in(&t, inbox_id).await[0]["id"]
        .as_i64()
        .unwrap();
    let customer = incoming(&t, display_id).await;
    t.age_message(customer[0]["id"].as_i64().unwrap(), 2).await;
    let contact_id = conversations_in(&t, inbox_id).await[0]["meta"]["sender"]["id"]
        .as_i64()
        .unwrap();
    let mut campaigns = Vec::new();
    for (name, template) in [
        (
            "Shipped",
            json!({"name": "order_update", "language": "pt_BR",
                           "processed_params": {"1": "Ana", "2": "#77"}}),
        ),
        ("Promo", json!({"name": "promo", "language": "pt_BR"})),
    ] {
        let made = t
            .post(
                &t.acc("/journey_campaigns"),
                json!({"name": name, "trigger_event_type": "order_shipped", "kind": "message",
                       "message": "Olá {{contact.name}}, seu pedido {{event.order_id}} saiu para entrega.",
                       "whatsapp_template": template}),
            )
            .await;
        campaigns.push(made["payload"]["id"].as_i64().unwrap());
    }
    t.admin(
        "POST",
        &t.acc(&format!("/contacts/{contact_id}/events")),
        Some(
            json!({"event_id": "S-77", "type": "order_shipped", "properties": {"order_id": "#77"}}),
        ),
    )
    .await
    .expect(201);
    let calls = fake
        .wait_for(&format!("/{PHONE_NUMBER_ID}/messages"), 1)
        .await;
    let sent = calls[0].json();
    assert_eq!(sent["type"], "template", "{sent}");
    assert_eq!(sent["template"]["name"], "order_update");
    let outcome = |campaign: i64| {
        let t = &t;
        async move {
            t.eventually(
                std::time::Duration::from_secs(20),
                "the send settled",
                || async {
                    let s = t
                        .get(&t.acc(&format!("/journey_campaigns/{campaign}/sends")))
                        .await;
                    let first = s["payload"][0].clone();
                    (first["status"] != "scheduled" && !first.is_null()).then_some(first)
                },
            )
            .await
        }
    };
    assert_eq!(outcome(campaigns[0]).await["status"], "sent");
    let skipped = outcome(campaigns[1]).await;
    assert_eq!(skipped["status"], "skipped");
    assert!(
        skipped["detail"].as_str().unwrap().contains("not approved"),
        "{skipped}"
    );
    assert_eq!(
        fake.calls_to(&format!("/{PHONE_NUMBER_ID}/messages")).len(),
        1
    );
}
