//! SMS and WhatsApp through Twilio: `X-Twilio-Signature` over the public URL and the sorted
//! form parameters, Chatwoot's `/twilio/callback` and `/twilio/delivery_status`, the REST API
//! calls we make, and Twilio's error codes on the agent's screen.

use serde_json::{Value, json};
use throughline_testkit::providers::{FakeProviders, Misbehave, form_body, twilio_signature};
use throughline_testkit::{Backend, TestApp, on_both_databases};

use super::{
    WAIT, attachment_bytes, conversations_in, incoming, message_with_status, post_at_once, reply,
};

on_both_databases!(
    twilio_sms_in_and_out,
    twilio_refuses_what_twilio_did_not_sign,
    twilio_inboxes_are_validated_and_keep_their_secrets,
);

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "twilio-auth-token-1";
pub const OUR_NUMBER: &str = "+14155238886";

/// An SMS (or, with `medium: whatsapp`, a WhatsApp) inbox on Twilio.
pub async fn twilio_inbox(t: &TestApp, medium: &str) -> Value {
    t.post(
        &t.acc("/channels/twilio_channel"),
        json!({"twilio_channel": {"name": format!("Twilio {medium}"), "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN, "phone_number": OUR_NUMBER, "medium": medium}}),
    )
    .await
}

/// POSTs `params` to a Twilio path, signed as Twilio signs (or with `signature` given).
pub async fn twilio_post(
    t: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<String>,
) -> throughline_testkit::Answer {
    let sig = signature.unwrap_or_else(|| twilio_signature(AUTH_TOKEN, &t.url(path), params));
    t.raw_post(
        path,
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", sig)],
        form_body(params).into_bytes(),
    )
    .await
}

/// A customer's SMS as Twilio posts it.
pub fn sms<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", OUR_NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Twilio's status callback for a message we sent.
async fn status(t: &TestApp, sid: &str, state: &str, error: Option<&str>) -> u16 {
    let mut params = vec![
        ("MessageSid", sid),
        ("MessageStatus", state),
        ("AccountSid", ACCOUNT_SID),
        ("From", OUR_NUMBER),
        ("To", "+5511987654321"),
        ("ApiVersion", "2010-04-01"),
    ];
    if let Some(code) = error {
        params.push(("ErrorCode", code));
    }
    twilio_post(t, "/twilio/delivery_status", &params, None)
        .await
        .status
}

/// The SID the fake gave the `n`-th message we sent (1-based).
async fn sent_sid(fake: &FakeProviders, n: usize) -> String {
    let calls = fake.wait_for("/Messages.json", n).await;
    let (status, body) = calls[n - 1].answer.clone().unwrap();
    assert_eq!(status, 201, "{body}");
    body["sid"].as_str().unwrap().to_owned()
}

async fn twilio_sms_in_and_out(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = twilio_inbox(&t, "sms").await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    fake.add_media("ME1", "image/jpeg", b"\xFF\xD8\xFFjpeg-bytes");
    let media_url = format!(
        "{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1",
        fake.url
    );

    // A customer's MMS, delivered by Twilio ten times at once: one message, its picture
    // downloaded (with the account's credentials) into the blob store.
    let mut params = sms("MM1", "+5511987654321", "Oi, meu pedido chegou quebrado");
    params.retain(|(k, _)| *k != "NumMedia");
    params.extend([
        ("NumMedia", "1"),
        ("MediaUrl0", media_url.as_str()),
        ("MediaContentType0", "image/jpeg"),
    ]);
    let body = form_body(&params);
    let sig = twilio_signature(AUTH_TOKEN, &t.url("/twilio/callback"), &params);
    let answers = post_at_once(
        &t,
        10,
        "/twilio/callback",
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", sig)],
        body.as_bytes(),
    )
    .await;
    for (status, text) in &answers {
        assert_eq!(*status, 200, "{text}");
        assert!(
            text.contains("<Response></Response>"),
            "TwiML answer: {text}"
        );
    }
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let display_id = conversations[0]["id"].as_i64().unwrap();
    let received = incoming(&t, display_id).await;
    assert_eq!(
        received.len(),
        1,
        "one message for ten deliveries: {received:?}"
    );
    assert_eq!(received[0]["content"], "Oi, meu pedido chegou quebrado");
    assert_eq!(received[0]["source_id"], "MM1");
    let attachment = &received[0]["attachments"][0];
    assert_eq!(attachment["file_type"], "image", "{attachment}");
    assert_eq!(
        attachment_bytes(&t, attachment).await,
        b"\xFF\xD8\xFFjpeg-bytes"
    );
    let download = fake.calls_to("/Media/ME1");
    assert!(!download.is_empty());
    let auth = download[0].header("authorization").unwrap();
    assert!(auth.starts_with("Basic "), "{auth}");
    let sender = &conversations[0]["meta"]["sender"];
    assert_eq!(sender["phone_number"], "+5511987654321", "{sender}");

    // The agent answers: Twilio's Messages API gets the reply from our number to hers, with
    // the status callback, authenticated as the account.
    let answer = reply(
        &t,
        display_id,
        json!({"content": "Sentimos muito! Vamos trocar."}),
    )
    .await;
    let sid = sent_sid(&fake, 1).await;
    let call = &fake.calls_to("/Messages.json")[0];
    assert_eq!(
        call.path,
        format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    );
    assert_eq!(call.form_field("To").as_deref(), Some("+5511987654321"));
    assert_eq!(call.form_field("From").as_deref(), Some(OUR_NUMBER));
    assert_eq!(
        call.form_field("Body").as_deref(),
        Some("Sentimos muito! Vamos trocar.")
    );
    assert_eq!(
        call.form_field("StatusCallback"),
        Some(t.url("/twilio/delivery_status"))
    );
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(call.header("authorization"), Some(format!("Basic {basic}")));

    // Status callbacks out of order: read before delivered leaves it read.
    assert_eq!(status(&t, &sid, "sent", None).await, 200);
    assert_eq!(status(&t, &sid, "read", None).await, 200);
    assert_eq!(status(&t, &sid, "delivered", None).await, 200);
    message_with_status(&t, display_id, &answer["id"], "read").await;
    // A report for a message we never sent changes nothing and is still answered.
    assert_eq!(status(&t, "SMunknown", "delivered", None).await, 200);

    // The carrier cannot reach the handset: the failure and Twilio's reason reach the agent.
    let second = reply(&t, display_id, json!({"content": "Está aí?"})).await;
    let sid = sent_sid(&fake, 2).await;
    assert_eq!(status(&t, &sid, "undelivered", Some("30003")).await, 200);
    let failed = message_with_status(&t, display_id, &second["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("30003") && reason.contains("unreachable"),
        "{reason}"
    );

    // Twilio refuses the send itself (the customer texted STOP): failed for good, with
    // Twilio's words; a 500 and a hang are retried until Twilio takes it.
    fake.misbehave(vec![Misbehave::Answer(
        400,
        json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}),
    )]);
    let refused = reply(&t, display_id, json!({"content": "Oferta!"})).await;
    let failed = message_with_status(&t, display_id, &refused["id"], "failed").await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("21610") && reason.contains("unsubscribed"),
        "{reason}"
    );

    fake.misbehave(vec![
        Misbehave::Answer(
            500,
            json!({"code": 20500, "message": "Internal Server Error"}),
        ),
        Misbehave::Hang,
    ]);
    let retried = reply(&t, display_id, json!({"content": "Tentando de novo"})).await;
    let calls = fake.wait_for("/Messages.json", 6).await;
    assert!(
        calls[3..]
            .iter()
            .all(|c| c.form_field("Body").as_deref() == Some("Tentando de novo")),
        "the same message, tried three times"
    );
    let sid = sent_sid(&fake, 6).await;
    assert_eq!(status(&t, &sid, "delivered", None).await, 200);
    message_with_status(&t, display_id, &retried["id"], "delivered").await;

    // A private note never goes to the customer.
    reply(
        &t,
        display_id,
        json!({"content": "cliente nervosa", "private": true}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(fake.calls_to("/Messages.json").len(), 6);
    let _ = WAIT;
}

async fn twilio_refuses_what_twilio_did_not_sign(b: Backend) {
    let (t, _fake) = TestApp::with_providers(b).await;
    let inbox = twilio_inbox(&t, "sms").await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let params = sms("SM1", "+48501234567", "Dzień dobry");

    // Missing, wrong, and a genuine signature over another body (a replay with an altered
    // text): 401, nothing stored.
    let missing = t
        .raw_post(
            "/twilio/callback",
            "application/x-www-form-urlencoded",
            &[],
            form_body(&params).into_bytes(),
        )
        .await;
    assert_eq!(missing.status, 401, "{}", missing.body);
    let wrong = twilio_post(&t, "/twilio/callback", &params, Some("bm90LWl0".into())).await;
    assert_eq!(wrong.status, 401);
    let genuine = twilio_signature(AUTH_TOKEN, &t.url("/twilio/callback"), &params);
    let altered = sms("SM1", "+48501234567", "Przelej pieniądze");
    let replayed = twilio_post(&t, "/twilio/callback", &altered, Some(genuine.clone())).await;
    assert_eq!(replayed.status, 401);
    // Signed for another URL (the delivery-status path) is not a signature for this one.
    let other_url = twilio_signature(AUTH_TOKEN, &t.url("/twilio/delivery_status"), &params);
    assert_eq!(
        twilio_post(&t, "/twilio/callback", &params, Some(other_url))
            .await
            .status,
        401
    );
    assert!(conversations_in(&t, inbox_id).await.is_empty());

    // Another account's number or SID: 404, saying nothing of which exist.
    let mut stranger = sms("SM2", "+48501234567", "hi");
    stranger[3] = ("To", "+15559999999");
    let unknown = twilio_post(&t, "/twilio/callback", &stranger, None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let mut other_account = sms("SM2", "+48501234567", "hi");
    other_account[2] = ("AccountSid", "AC99999999999999999999999999999999");
    assert_eq!(
        twilio_post(&t, "/twilio/callback", &other_account, None)
            .await
            .status,
        404
    );

    // Malformed and truncated bodies: a clear 4xx, never a 500.
    for body in [
        &b""[..],
        b"%%%",
        b"AccountSid=AC0123456789abcdef0123456789abcdef&To=%2B1555000",
    ] {
        let got = t
            .raw_post(
                "/twilio/callback",
                "application/x-www-form-urlencoded",
                &[],
                body.to_vec(),
            )
            .await;
        assert!(
            [401, 404, 422].contains(&got.status),
            "{body:?}: {} {}",
            got.status,
            got.body
        );
    }
    let no_sender = [
        ("MessageSid", "SM3"),
        ("AccountSid", ACCOUNT_SID),
        ("To", OUR_NUMBER),
        ("Body", "hi"),
    ];
    let got = twilio_post(&t, "/twilio/callback", &no_sender, None).await;
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(got.body.to_string().contains("From"), "{}", got.body);

    // The genuine request is stored once.
    assert_eq!(
        twilio_post(&t, "/twilio/callback", &params, None)
            .await
            .status,
        200
    );
    let conversations = conversations_in(&t, inbox_id).await;
    assert_eq!(conversations.len(), 1);
    let display_id = conversations[0]["id"].as_i64().unwrap();
    assert_eq!(incoming(&t, display_id).await[0]["content"], "Dzień dobry");
}

async fn twilio_inboxes_are_validated_and_keep_their_secrets(b: Backend) {
    let (t, fake) = TestApp::with_providers(b).await;
    let inbox = twilio_inbox(&t, "whatsapp").await;
    let text = inbox.to_string();
    assert!(
        !text.contains(AUTH_TOKEN),
        "the auth token is never returned: {text}"
    );
    assert_eq!(inbox["channel_type"], "Channel::Whatsapp", "{inbox}");
    assert_eq!(inbox["provider"], "twilio");
    assert_eq!(inbox["medium"], "whatsapp");
    assert_eq!(inbox["phone_number"], OUR_NUMBER);
    assert_eq!(inbox["provider_webhook_url"], t.url("/twilio/callback"));
    let listed = t.get(&t.acc("/inboxes")).await.to_string();
    assert!(!listed.contains(AUTH_TOKEN));

    // The same number again is refused; bad fields are named.
    let again = t
        .admin(
            "POST",
            &t.acc("/channels/twilio_channel"),
            Some(
                json!({"twilio_channel": {"name": "Again", "account_sid": ACCOUNT_SID,
                "auth_token": "x", "phone_number": OUR_NUMBER, "medium": "whatsapp"}}),
            ),
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    for (body, field) in [
        (
            json!({"name": "x", "account_sid": "nope", "auth_token": "t", "phone_number": "+14155238887"}),
            "account_sid",
        ),
        (
            json!({"name": "x", "account_sid": ACCOUNT_SID, "phone_number": "+14155238887"}),
            "auth_token",
        ),
        (
            json!({"name": "x", "account_sid": ACCOUNT_SID, "auth_token": "t"}),
            "phone_number",
        ),
        (
            json!({"name": "x", "account_sid": ACCOUNT_SID, "auth_token": "t", "phone_number": "call me"}),
            "phone_number",
        ),
        (
            json!({"name": "x", "account_sid": ACCOUNT_SID, "auth_token": "t", "phone_number": "+14155238887", "medium": "fax"}),
            "medium",
        ),
        (
            json!({"name": "x", "account_sid": ACCOUNT_SID, "auth_token": "t", "phone_number": "+14155238887", "api_key_sid": "SK1"}),
            "api_key_sid",
        ),
    ] {
        let got = t
            .admin(
                "POST",
                &t.acc("/channels/twilio_channel"),
                Some(json!({"twilio_channel": body})),
            )
            .await;
        assert_eq!(got.status, 422, "{body}: {}", got.body);
        assert!(
            got.body.to_string().contains(field),
            "{field}: {}",
            got.body
        );
    }
    // Agents cannot create channels.
    let (_, agent) = t.agent("agent@acme.test", "agent").await;
    let got = t
        .call(
            "POST",
            &t.acc("/channels/twilio_channel"),
            Some(&agent),
            Some(
                json!({"twilio_channel": {"name": "x", "account_sid": ACCOUNT_SID,
                "auth_token": "t", "phone_number": "+14155238888"}}),
            ),
        )
        .await;
    assert_eq!(got.status, 403, "{}", got.body);

    // "Test credentials" reports what Twilio says, good or bad, and never blocks creation.
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
    assert_eq!(bad["ok"], false, "{bad}");
    assert!(
        bad["provider_error"]
            .as_str()
            .unwrap()
            .contains("Authenticate"),
        "{bad}"
    );
    let account_check = fake.calls_to(&format!("/Accounts/{ACCOUNT_SID}.json"));
    assert_eq!(account_check.len(), 2);

    // The auth token is rotated at Twilio: the inbox takes the new one (never shown), and
    // webhooks signed with the old one are refused from then on.
    let updated = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"channel": {"auth_token": "twilio-auth-token-2"}})),
        )
        .await
        .expect(200);
    assert!(
        !updated.to_string().contains("twilio-auth-token-2"),
        "{updated}"
    );
    assert_eq!(updated["phone_number"], OUR_NUMBER);
    let mut params = sms("SMrot", "+5511987654321", "oi");
    params[4] = ("To", "whatsapp:+14155238886");
    params[3] = ("From", "whatsapp:+5511987654321");
    let old = twilio_post(&t, "/twilio/callback", &params, None).await;
    assert_eq!(old.status, 401, "{}", old.body);
    let new_sig = twilio_signature("twilio-auth-token-2", &t.url("/twilio/callback"), &params);
    twilio_post(&t, "/twilio/callback", &params, Some(new_sig))
        .await
        .expect(200);
    let bad = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"channel": {"phone_number": "not a number"}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}
