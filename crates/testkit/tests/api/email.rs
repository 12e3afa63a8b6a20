//! The email channel end to end: inboxes over the API, the SMTP receiver over loopback,
//! sending through a local SMTP sink, threading, malformed MIME, bounces, auto-replies, and
//! IMAP against a real Dovecot.

use std::collections::HashMap;
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use throughline_channels::email::send::{SendError, SmtpSettings, TlsMode, send_raw};
use throughline_service::email::{self as email_ingest, Envelope, Ingested, ThreadedBy};
use throughline_testkit::smtp_sink::{Answer, SmtpSink};
use throughline_testkit::{Backend, TestApp, on_both_databases};

on_both_databases!(
    email_inbox_settings,
    smtp_receiver,
    outbound_headers_and_replies,
    outbound_retries_and_failures,
    threading_corpus,
    malformed_mime_is_kept,
    auto_replies_get_no_answer,
    imap_with_dovecot,
);

const SUPPORT: &str = "support@acme.test";

/// A plain RFC 5322 message.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mail(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    in_reply_to: Option<&str>,
    references: &[&str],
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    );
    if let Some(id) = in_reply_to {
        m.push_str(&format!("In-Reply-To: <{id}>\r\n"));
    }
    if !references.is_empty() {
        let refs: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
        m.push_str(&format!("References: {}\r\n", refs.join(" ")));
    }
    m.push_str(extra_headers);
    if !body.contains("Content-Type") {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    }
    m.push_str(body);
    m.push_str("\r\n");
    m.into_bytes()
}

pub(crate) fn smtp_to(port: u16) -> SmtpSettings {
    let mut s = SmtpSettings::new("127.0.0.1", port);
    s.tls = TlsMode::None;
    s.timeout = Duration::from_secs(10);
    s
}

pub(crate) fn with_smtp_receiver(s: &mut throughline::Settings) {
    s.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
    s.smtp_max_message_mb = Some(1);
}

pub(crate) async fn ingest(t: &TestApp, inbox_id: i64, raw: &[u8]) -> Ingested {
    email_ingest::ingest(
        &t.app.store,
        t.app.blobs.as_ref(),
        inbox_id,
        raw,
        &Envelope::default(),
    )
    .await
    .unwrap()
}

async fn messages(t: &TestApp, display_id: i64) -> Vec<Value> {
    t.get(&t.acc(&format!("/conversations/{display_id}/messages")))
        .await["payload"]
        .as_array()
        .unwrap()
        .clone()
}

async fn email_inbox_settings(backend: Backend) {
    let t = TestApp::start(backend).await;
    let created = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Support", "channel": {
                "type": "email", "email": "Support@Acme.test",
                "smtp_address": "smtp.acme.test", "smtp_port": 587, "smtp_login": "support",
                "smtp_password": "smtp-secret-1", "smtp_enable_starttls_auto": true,
                "imap_enabled": true, "imap_address": "imap.acme.test", "imap_port": 993,
                "imap_login": "support", "imap_password": "imap-secret-2", "imap_enable_ssl": true
            }}),
        )
        .await;
    assert_eq!(created["channel_type"], "Channel::Email");
    assert_eq!(created["email"], SUPPORT);
    assert_eq!(created["smtp_address"], "smtp.acme.test");
    assert_eq!(created["imap_port"], 993);
    assert_eq!(created["smtp_password_set"], true);
    let text = created.to_string();
    assert!(
        !text.contains("smtp-secret-1") && !text.contains("imap-secret-2"),
        "{text}"
    );
    let id = created["id"].as_i64().unwrap();

    // Sealed at rest.
    {
        let mut conn = t.app.store.read().await.unwrap();
        let sealed: Option<String> = sqlx::query_scalar(
            "SELECT smtp_password_sealed FROM email_channels WHERE inbox_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let sealed = sealed.unwrap();
        assert!(!sealed.contains("smtp-secret-1") && !sealed.is_empty());
    }

    // PATCH keeps what it does not mention (the passwords too).
    let patched = t
        .admin(
            "PATCH",
            &t.acc(&format!("/inboxes/{id}")),
            Some(json!({"channel": {"smtp_port": 2525}})),
        )
        .await
        .expect(200);
    assert_eq!(patched["smtp_port"], 2525);
    assert_eq!(patched["smtp_password_set"], true);
    assert_eq!(patched["imap_address"], "imap.acme.test");

    // Validation, with field paths.
    let bad = t
        .admin(
            "POST",
            &t.acc("/inboxes"),
            Some(
                json!({"name": "X", "channel": {"type": "email", "email": "not an address",
                "smtp_port": 70000, "imap_enabled": true}}),
            ),
        )
        .await
        .expect(422);
    let fields = bad.to_string();
    for f in [
        "channel.email",
        "channel.smtp_port",
        "channel.imap_address",
        "channel.imap_password",
    ] {
        assert!(fields.contains(f), "{f} missing in {fields}");
    }
    let taken = t
        .admin(
            "POST",
            &t.acc("/inboxes"),
            Some(json!({"name": "Again", "channel": {"type": "email", "email": SUPPORT}})),
        )
        .await
        .expect(422);
    assert!(taken.to_string().contains("channel.email"), "{taken}");

    // Agents: no server settings, no creation, no connection test.
    let (agent_id, agent_token) = t.agent("agent@acme.test", "agent").await;
    t.post(
        &t.acc("/inbox_members"),
        json!({"inbox_id": id, "user_ids": [agent_id]}),
    )
    .await;
    let seen = t
        .call(
            "GET",
            &t.acc(&format!("/inboxes/{id}")),
            Some(&agent_token),
            None,
        )
        .await
        .expect(200);
    assert_eq!(seen["email"], SUPPORT);
    assert!(
        seen.get("smtp_address").is_none() && seen.get("imap_login").is_none(),
        "{seen}"
    );
    t.call(
        "POST",
        &t.acc("/inboxes"),
        Some(&agent_token),
        Some(json!({"name": "Mine", "channel": {"type": "email", "email": "a@acme.test"}})),
    )
    .await
    .expect(403);
    t.call(
        "POST",
        &t.acc(&format!("/inboxes/{id}/email/test_connection")),
        Some(&agent_token),
        None,
    )
    .await
    .expect(403);

    // Connection test: a working relay, then a dead one with the exact error.
    let sink = SmtpSink::start().await;
    let good = t
        .email_inbox("Good", "good@acme.test", Some(sink.port))
        .await;
    let report = t
        .post(
            &t.acc(&format!("/inboxes/{}/email/test_connection", good["id"])),
            json!({}),
        )
        .await;
    assert_eq!(report["smtp"]["ok"], true, "{report}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = t
        .email_inbox("Dead", "dead@acme.test", Some(dead_port))
        .await;
    let report = t
        .post(
            &t.acc(&format!("/inboxes/{}/email/test_connection", dead["id"])),
            json!({}),
        )
        .await;
    assert_eq!(report["smtp"]["ok"], false);
    let error = report["smtp"]["error"].as_str().unwrap().to_lowercase();
    assert!(
        error.contains("connection refused") || error.contains("connect"),
        "{error}"
    );
    // IMAP on (to an unreachable server): reported with the failure.
    let report = t
        .post(
            &t.acc(&format!("/inboxes/{id}/email/test_connection")),
            json!({}),
        )
        .await;
    assert_eq!(report["imap"]["ok"], false, "{report}");
    assert!(
        report["imap"]["error"]
            .as_str()
            .unwrap()
            .contains("imap.acme.test"),
        "{report}"
    );
    // An API inbox has no email settings.
    let api = t.api_inbox("Api", None).await;
    t.admin(
        "POST",
        &t.acc(&format!("/inboxes/{}/email/test_connection", api["id"])),
        None,
    )
    .await
    .expect(422);
}

async fn smtp_receiver(backend: Backend) {
    let t = TestApp::start_with(backend, with_smtp_receiver).await;
    let port = t.app.smtp_addr.unwrap().port();
    let inbox = t.email_inbox("Support", SUPPORT, None).await;
    let raw = mail(
        "Ana Souza <ana@customer.test>",
        SUPPORT,
        "Pedido atrasado",
        "m1@customer.test",
        None,
        &[],
        "",
        "Olá, meu pedido não chegou.",
    );
    send_raw(&smtp_to(port), "ana@customer.test", &[SUPPORT.into()], &raw)
        .await
        .unwrap();
    let list = t.get(&t.acc("/conversations?status=all")).await;
    let convs = list["data"]["payload"].as_array().unwrap();
    assert_eq!(convs.len(), 1, "{list}");
    assert_eq!(convs[0]["inbox_id"], inbox["id"]);
    let display_id = convs[0]["id"].as_i64().unwrap();
    let msgs = messages(&t, display_id).await;
    let m = msgs.iter().find(|m| m["message_type"] == 0).unwrap();
    assert_eq!(m["content"], "Olá, meu pedido não chegou.");
    assert_eq!(
        m["content_attributes"]["email"]["subject"],
        "Pedido atrasado"
    );
    assert_eq!(
        m["content_attributes"]["email"]["from"][0],
        "ana@customer.test"
    );
    assert_eq!(m["content_attributes"]["email"]["to"][0], SUPPORT);

    // Unknown recipient: 550, nothing stored.
    let err = send_raw(
        &smtp_to(port),
        "ana@customer.test",
        &["nobody@acme.test".into()],
        &raw,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Permanent {
                code: Some(550),
                ..
            }
        ),
        "{err:?}"
    );
    // A reply address for a conversation that does not exist: 550 too.
    let err = send_raw(
        &smtp_to(port),
        "ana@customer.test",
        &["reply+00000000-0000-0000-0000-000000000000@acme.test".into()],
        &raw,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Permanent {
                code: Some(550),
                ..
            }
        ),
        "{err:?}"
    );
    // Over the size limit (1 MiB here): 552.
    let big = mail(
        "ana@customer.test",
        SUPPORT,
        "Big",
        "big@customer.test",
        None,
        &[],
        "",
        &"x".repeat(1_200_000),
    );
    let err = send_raw(&smtp_to(port), "ana@customer.test", &[SUPPORT.into()], &big)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Permanent {
                code: Some(552),
                ..
            }
        ),
        "{err:?}"
    );
    // The same message again (an MTA retry) is not imported twice.
    send_raw(&smtp_to(port), "ana@customer.test", &[SUPPORT.into()], &raw)
        .await
        .unwrap();
    let incoming = messages(&t, display_id)
        .await
        .iter()
        .filter(|m| m["message_type"] == 0)
        .count();
    assert_eq!(incoming, 1);
}

fn header_ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

async fn outbound_headers_and_replies(backend: Backend) {
    let t = TestApp::start_with(backend, with_smtp_receiver).await;
    let port = t.app.smtp_addr.unwrap().port();
    let sink = SmtpSink::start().await;
    let inbox = t.email_inbox("Support", SUPPORT, Some(sink.port)).await;
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{}", inbox["id"])),
        Some(json!({"channel": {"signature": "-- \nAcme Support"}})),
    )
    .await
    .expect(200);
    let first = mail(
        "Ana Souza <ana@customer.test>",
        SUPPORT,
        "Order 42 is late",
        "m1@customer.test",
        None,
        &[],
        "",
        "Where is my order?",
    );
    send_raw(
        &smtp_to(port),
        "ana@customer.test",
        &[SUPPORT.into()],
        &first,
    )
    .await
    .unwrap();
    let list = t.get(&t.acc("/conversations?status=all")).await;
    let conv = list["data"]["payload"][0].clone();
    let display_id = conv["id"].as_i64().unwrap();
    let uuid = conv["uuid"].as_str().unwrap().to_owned();

    // The agent answers in Markdown with an attachment.
    let form = reqwest::multipart::Form::new()
        .text("content", "Thanks **Ana**, it ships today.")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(b"tracking: XYZ".to_vec())
                .file_name("tracking.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let reply = t
        .client
        .post(t.url(&t.acc(&format!("/conversations/{display_id}/messages"))))
        .header("api_access_token", &t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let reply: Value = reply.json().await.unwrap();
    let reply_id = reply["id"].as_i64().unwrap();

    let got = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got[0].rcpt_to, vec!["<ana@customer.test>".to_owned()]);
    let parsed = MessageParser::default().parse(&got[0].data).unwrap();
    let message_id = parsed.message_id().unwrap().to_owned();
    assert_eq!(
        message_id,
        format!("throughline.{uuid}.{reply_id}@acme.test")
    );
    assert_eq!(
        header_ids(parsed.in_reply_to()),
        vec!["m1@customer.test".to_owned()]
    );
    assert!(header_ids(parsed.references()).contains(&"m1@customer.test".to_owned()));
    let reply_to = parsed
        .reply_to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap();
    assert_eq!(reply_to, format!("reply+{uuid}@acme.test"));
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.address().unwrap(), SUPPORT);
    assert_eq!(from.name().unwrap(), "Administrator from Support");
    assert_eq!(parsed.subject().unwrap(), "Re: Order 42 is late");
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains("Thanks **Ana**") && text.contains("Acme Support"),
        "{text}"
    );
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains("<strong>Ana</strong>"), "{html}");
    let attachment = parsed.attachments().next().unwrap();
    assert_eq!(attachment.attachment_name().unwrap(), "tracking.txt");
    assert_eq!(attachment.contents(), b"tracking: XYZ");

    // The customer answers to the Reply-To address, with no threading headers and a new subject.
    let answer = mail(
        "ana@customer.test",
        &format!("reply+{uuid}@acme.test"),
        "thanks!",
        "m2@customer.test",
        None,
        &[],
        "",
        "Great, thank you.",
    );
    send_raw(
        &smtp_to(port),
        "ana@customer.test",
        &[format!("reply+{uuid}@acme.test")],
        &answer,
    )
    .await
    .unwrap();
    // A reply to our email by its Message-ID.
    let by_header = mail(
        "ana@customer.test",
        SUPPORT,
        "Another question",
        "m3@customer.test",
        Some(&message_id),
        &["m1@customer.test", &message_id],
        "",
        "One more thing.",
    );
    send_raw(
        &smtp_to(port),
        "ana@customer.test",
        &[SUPPORT.into()],
        &by_header,
    )
    .await
    .unwrap();
    let list = t.get(&t.acc("/conversations?status=all")).await;
    assert_eq!(
        list["data"]["payload"].as_array().unwrap().len(),
        1,
        "{list}"
    );
    assert_eq!(
        messages(&t, display_id)
            .await
            .iter()
            .filter(|m| m["message_type"] == 0)
            .count(),
        3
    );

    // A bounce for our email marks it failed with the report's reason.
    let dsn = format!(
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: {SUPPORT}\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <dsn1@mx.customer.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.test\r\n\r\n\
         Final-Recipient: rfc822; ana@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 mailbox ana does not exist\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{message_id}>\r\nSubject: Re: Order 42 is late\r\n\r\n\
         --b1--\r\n"
    );
    send_raw(&smtp_to(port), "", &[SUPPORT.into()], dsn.as_bytes())
        .await
        .unwrap();
    let failed = t
        .eventually(Duration::from_secs(5), "the bounce", || async {
            let msgs = messages(&t, display_id).await;
            msgs.into_iter()
                .find(|m| m["id"] == reply_id && m["status"] == "failed")
        })
        .await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(reason.contains("mailbox ana does not exist"), "{reason}");
    // The bounce itself is not a customer message.
    assert_eq!(
        t.get(&t.acc("/conversations?status=all")).await["data"]["payload"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An agent starts an email conversation with a contact.
    let contact = t
        .post(
            &t.acc("/contacts"),
            json!({"name": "Carla Nowak", "email": "carla@example.org"}),
        )
        .await;
    let contact_id = contact["payload"]["contact"]["id"]
        .as_i64()
        .or(contact["payload"]["id"].as_i64())
        .or(contact["id"].as_i64())
        .unwrap();
    let started = t
        .post(
            &t.acc("/conversations"),
            json!({"inbox_id": inbox["id"], "contact_id": contact_id,
                "additional_attributes": {"mail_subject": "Welcome aboard"},
                "message": {"content": "Hello Carla"}}),
        )
        .await;
    let got = sink.wait_for(2, Duration::from_secs(15)).await;
    let parsed = MessageParser::default().parse(&got[1].data).unwrap();
    assert_eq!(parsed.subject().unwrap(), "Welcome aboard");
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address().unwrap(),
        "carla@example.org"
    );
    assert!(parsed.in_reply_to().is_empty());
    let started_id = parsed.message_id().unwrap().to_owned();
    // Carla's reply lands in that conversation.
    let carla = mail(
        "carla@example.org",
        SUPPORT,
        "Re: Welcome aboard",
        "c1@example.org",
        Some(&started_id),
        &[&started_id],
        "",
        "Hi!",
    );
    send_raw(
        &smtp_to(port),
        "carla@example.org",
        &[SUPPORT.into()],
        &carla,
    )
    .await
    .unwrap();
    let started_display = started["id"].as_i64().unwrap();
    assert!(
        messages(&t, started_display)
            .await
            .iter()
            .any(|m| m["content"] == "Hi!")
    );
}

async fn outbound_retries_and_failures(backend: Backend) {
    let t = TestApp::start(backend).await;
    let sink = SmtpSink::start().await;
    let inbox = t.email_inbox("Support", SUPPORT, Some(sink.port)).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let Ingested::Message { display_id, .. } = ingest(
        &t,
        inbox_id,
        &mail(
            "ana@customer.test",
            SUPPORT,
            "Help",
            "r1@customer.test",
            None,
            &[],
            "",
            "Help me",
        ),
    )
    .await
    else {
        panic!("not stored")
    };
    // Two temporary refusals, then accepted: one message arrives after three attempts.
    sink.script(vec![
        Answer::Temporary("4.3.0 try again later".into()),
        Answer::Temporary("4.3.0 still busy".into()),
    ]);
    t.post(
        &t.acc(&format!("/conversations/{display_id}/messages")),
        json!({"content": "On it"}),
    )
    .await;
    let got = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(sink.attempts(), 3);

    // A permanent refusal: the message is failed with the server's words.
    sink.script(vec![Answer::Permanent(
        "5.7.1 relaying denied for you".into(),
    )]);
    let sent = t
        .post(
            &t.acc(&format!("/conversations/{display_id}/messages")),
            json!({"content": "Second"}),
        )
        .await;
    let failed = t
        .eventually(Duration::from_secs(20), "the failed status", || async {
            messages(&t, display_id)
                .await
                .into_iter()
                .find(|m| m["id"] == sent["id"] && m["status"] == "failed")
        })
        .await;
    let reason = failed["content_attributes"]["external_error"]
        .as_str()
        .unwrap();
    assert!(reason.contains("5.7.1 relaying denied for you"), "{reason}");
    assert_eq!(sink.received().len(), 1);

    // A private note is never emailed.
    t.post(
        &t.acc(&format!("/conversations/{display_id}/messages")),
        json!({"content": "internal", "private": true}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.attempts(), 4);
}

/// Where each corpus message must land: messages with the same label share a conversation,
/// different labels never do.
struct Case {
    raw: Vec<u8>,
    label: String,
}

#[derive(Default)]
struct Tracker {
    label_conv: HashMap<String, i64>,
    conv_label: HashMap<i64, String>,
    misthreads: Vec<String>,
}

impl Tracker {
    fn check(&mut self, label: &str, conversation_id: i64, what: &str) {
        match (
            self.label_conv.get(label),
            self.conv_label.get(&conversation_id),
        ) {
            (Some(&c), _) if c != conversation_id => self.misthreads.push(format!(
                "{what}: expected the conversation of {label}, got another"
            )),
            (None, Some(other)) => self.misthreads.push(format!(
                "{what}: expected a new conversation for {label}, joined {other}'s"
            )),
            _ => {}
        }
        self.label_conv.insert(label.to_owned(), conversation_id);
        self.conv_label.insert(conversation_id, label.to_owned());
    }
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

async fn threading_corpus(backend: Backend) {
    let t = TestApp::start(backend).await;
    let sink = SmtpSink::start().await;
    let inbox = t.email_inbox("Support", SUPPORT, Some(sink.port)).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let customers = [
        ("ana@customer.test", "Order 1 is late"),
        ("joao@exemplo.com.br", "Pedido não chegou"),
        ("zofia@przyklad.pl", "Zamówienie nie dotarło"),
        ("li@example.cn", "Invoice question"),
        ("bob@example.org", "Order 1 is late"), // same subject as Ana's: must stay apart
    ];
    let mut cases: Vec<Case> = Vec::new();
    for (i, (from, subject)) in customers.iter().enumerate() {
        let s = format!("S{i}");
        let id = |n: u32| format!("c{i}-{n}@corpus.test");
        // 1. new subject
        let first = if i == 1 {
            // Portuguese in ISO-8859-1, subject as an RFC 2047 encoded word.
            let mut raw = format!(
                "From: {from}\r\nTo: {SUPPORT}\r\nSubject: =?ISO-8859-1?Q?Pedido_n=E3o_chegou?=\r\n\
                 Message-ID: <{}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\n",
                id(1)
            )
            .into_bytes();
            raw.extend(latin1("Olá, o pedido não chegou até agora.\r\n"));
            raw
        } else if i == 2 {
            // Polish in Windows-1250 / ISO-8859-2 (ó is 0xF3 in both; ł is 0xB3 in 8859-2).
            let mut raw = format!(
                "From: {from}\r\nTo: {SUPPORT}\r\nSubject: =?ISO-8859-2?Q?Zam=F3wienie_nie_dotar=B3o?=\r\n\
                 Message-ID: <{}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1250\r\n\
                 Content-Transfer-Encoding: quoted-printable\r\n\r\nDzie=F1 dobry, zam=F3wienie nie dotar=B3o.\r\n",
                id(1)
            )
            .into_bytes();
            raw.truncate(raw.len());
            raw
        } else {
            mail(
                from,
                SUPPORT,
                subject,
                &id(1),
                None,
                &[],
                "",
                "First message",
            )
        };
        cases.push(Case {
            raw: first,
            label: s.clone(),
        });
        // 2. reply with In-Reply-To and References
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("Re: {subject}"),
                &id(2),
                Some(&id(1)),
                &[&id(1)],
                "",
                "reply with headers",
            ),
            label: s.clone(),
        });
        // 3. References only, unrelated subject
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                "something else",
                &id(3),
                None,
                &[&id(1), &id(2)],
                "",
                "references only",
            ),
            label: s.clone(),
        });
        // 4. subject-only reply, Gmail-style quote
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("RE: {subject}"),
                &id(4),
                None,
                &[],
                "",
                "Any news?\r\n\r\nOn Mon, 23 Nov 2026 at 10:00, Support <support@acme.test> wrote:\r\n> First message",
            ),
            label: s.clone(),
        });
        // 5. Outlook-style quote, forwarded-prefix chain, unknown In-Reply-To: subject decides
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("Fwd: Re: {subject}"),
                &id(5),
                Some("unknown-elsewhere@other.test"),
                &[],
                "",
                "See below\r\n\r\n-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\nSubject: x\r\n\r\nold text",
            ),
            label: s.clone(),
        });
        // 6. a different subject: a new conversation
        let n = format!("N{i}");
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("New topic {i}"),
                &id(6),
                None,
                &[],
                "",
                "new topic",
            ),
            label: n.clone(),
        });
        // 7. subject-only reply to the new topic
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("Re: New topic {i}"),
                &id(7),
                None,
                &[],
                "",
                "about the new topic",
            ),
            label: n.clone(),
        });
        // 8. headers beat the subject: In-Reply-To the first thread, subject of the second
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("Re: New topic {i}"),
                &id(8),
                Some(&id(2)),
                &[],
                "",
                "headers win",
            ),
            label: s.clone(),
        });
        // 9. forwarded mail with a fresh subject: new
        cases.push(Case {
            raw: mail(
                from,
                SUPPORT,
                &format!("Fwd: receipt {i}"),
                &id(9),
                None,
                &[],
                "",
                "---------- Forwarded message ---------\r\nFrom: shop@store.test\r\nSubject: receipt\r\n\r\nTotal: 10",
            ),
            label: format!("F{i}"),
        });
    }
    // Cross-customer attempts: Bob answers Ana's thread by headers and by subject. He must get
    // his own conversation (Bob's S4 shares Ana's subject), never Ana's.
    cases.push(Case {
        raw: mail(
            "bob@example.org",
            SUPPORT,
            "Re: Order 1 is late",
            "x1@corpus.test",
            Some("c0-1@corpus.test"),
            &["c0-1@corpus.test"],
            "",
            "me too",
        ),
        label: "S4".into(),
    });
    // A stranger quoting Ana's thread headers: a conversation of their own.
    cases.push(Case {
        raw: mail(
            "eve@attacker.test",
            SUPPORT,
            "Re: Order 1 is late",
            "x2@corpus.test",
            Some("c0-1@corpus.test"),
            &["c0-1@corpus.test"],
            "",
            "let me in",
        ),
        label: "EVE".into(),
    });
    cases.push(Case {
        raw: mail(
            "eve@attacker.test",
            SUPPORT,
            "Re: Pedido não chegou",
            "x3@corpus.test",
            Some("c1-1@corpus.test"),
            &[],
            "",
            "again",
        ),
        label: "EVE2".into(),
    });

    let mut tr = Tracker::default();
    for (n, case) in cases.iter().enumerate() {
        match ingest(&t, inbox_id, &case.raw).await {
            Ingested::Message {
                conversation_id,
                malformed,
                ..
            } => {
                assert!(!malformed, "case {n} was not parsed");
                tr.check(&case.label, conversation_id, &format!("case {n}"));
            }
            other => panic!("case {n}: {other:?}"),
        }
    }

    // Agent replies in Ana's S0, then Ana answers our email by its Message-ID.
    let s0 = tr.label_conv["S0"];
    let s0_display = {
        let mut conn = t.app.store.read().await.unwrap();
        let d: i64 = sqlx::query_scalar("SELECT display_id FROM conversations WHERE id = $1")
            .bind(s0)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        d
    };
    t.post(
        &t.acc(&format!("/conversations/{s0_display}/messages")),
        json!({"content": "We are checking."}),
    )
    .await;
    let sent = sink.wait_for(1, Duration::from_secs(15)).await;
    let ours = MessageParser::default()
        .parse(&sent[0].data)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned();
    let mut extra: Vec<Case> = vec![Case {
        raw: mail(
            "ana@customer.test",
            SUPPORT,
            "Thanks",
            "a10@corpus.test",
            Some(&ours),
            &[&ours],
            "",
            "reply to the agent",
        ),
        label: "S0".into(),
    }];
    // Bob answering the agent's Message-ID (forwarded to him): not Ana's conversation.
    extra.push(Case {
        raw: mail(
            "bob@example.org",
            SUPPORT,
            "Fwd: Thanks",
            "b10@corpus.test",
            Some(&ours),
            &[&ours],
            "",
            "forwarded to me",
        ),
        label: "B10".into(),
    });
    for (n, case) in extra.iter().enumerate() {
        let Ingested::Message {
            conversation_id, ..
        } = ingest(&t, inbox_id, &case.raw).await
        else {
            panic!("extra {n}")
        };
        tr.check(&case.label, conversation_id, &format!("extra {n}"));
    }

    // After resolving: a reply by headers re-opens the same conversation; a subject-only one
    // starts a new conversation.
    t.post(
        &t.acc(&format!("/conversations/{s0_display}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    let Ingested::Message {
        conversation_id,
        threaded_by,
        ..
    } = ingest(
        &t,
        inbox_id,
        &mail(
            "ana@customer.test",
            SUPPORT,
            "Re: Order 1 is late",
            "a11@corpus.test",
            Some(&ours),
            &[],
            "",
            "still late",
        ),
    )
    .await
    else {
        panic!("after resolve")
    };
    assert_eq!(threaded_by, ThreadedBy::References);
    tr.check("S0", conversation_id, "reply after resolve");
    let status = t.get(&t.acc(&format!("/conversations/{s0_display}"))).await["status"].clone();
    assert_eq!(status, "open");
    t.post(
        &t.acc(&format!("/conversations/{s0_display}/toggle_status")),
        json!({"status": "resolved"}),
    )
    .await;
    let Ingested::Message {
        conversation_id, ..
    } = ingest(
        &t,
        inbox_id,
        &mail(
            "ana@customer.test",
            SUPPORT,
            "Re: Order 1 is late",
            "a12@corpus.test",
            None,
            &[],
            "",
            "subject only",
        ),
    )
    .await
    else {
        panic!("subject after resolve")
    };
    tr.check(
        "S0-after",
        conversation_id,
        "subject-only reply after resolve",
    );

    let total = cases.len() + extra.len() + 2;
    assert!(total >= 40, "only {total} corpus messages");
    assert!(
        tr.misthreads.is_empty(),
        "mis-threads: {:#?}",
        tr.misthreads
    );

    // Charsets came through.
    let mut conn = t.app.store.read().await.unwrap();
    let contents: Vec<Option<String>> =
        sqlx::query_scalar("SELECT content FROM messages WHERE source_id IN ($1, $2)")
            .bind("c1-1@corpus.test")
            .bind("c2-1@corpus.test")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let all: String = contents.into_iter().flatten().collect::<Vec<_>>().join("|");
    assert!(
        all.contains("não chegou") && all.contains("zamówienie nie dotarło"),
        "{all}"
    );
}

async fn malformed_mime_is_kept(backend: Backend) {
    let t = TestApp::start(backend).await;
    let inbox = t.email_inbox("Support", SUPPORT, None).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let good = mail(
        "ana@customer.test",
        SUPPORT,
        "Hello",
        "ok@x.test",
        None,
        &[],
        "",
        "text",
    );
    let mut nested = String::from(
        "From: deep@x.test\r\nTo: support@acme.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..10_000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    nested.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
    let corpus: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", vec![0xff, 0x00, 0xfe, 0x13, 0x37, 0x80, 0x81]),
        ("truncated", good[..good.len() / 2].to_vec()),
        (
            "wrong boundaries",
            b"From: a@x.test\r\nTo: support@acme.test\r\nSubject: wb\r\nMIME-Version: 1.0\r\n\
              Content-Type: multipart/mixed; boundary=\"right\"\r\n\r\n--wrong\r\nContent-Type: text/plain\r\n\r\nlost\r\n--wrong--\r\n"
                .to_vec(),
        ),
        (
            "bad base64",
            b"From: a@x.test\r\nTo: support@acme.test\r\nSubject: b64\r\nMIME-Version: 1.0\r\n\
              Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\n\
              Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64@@@==\r\n--x--\r\n"
                .to_vec(),
        ),
        ("10,000 nested parts", nested.into_bytes()),
        (
            "huge headers",
            format!(
                "From: a@x.test\r\nTo: support@acme.test\r\nSubject: {}\r\nX-Junk: {}\r\n\r\nbody\r\n",
                "s".repeat(200_000),
                "j".repeat(500_000)
            )
            .into_bytes(),
        ),
        ("headers only, no body", b"From: a@x.test\r\nSubject: nothing".to_vec()),
    ];
    for (name, raw) in &corpus {
        let outcome = ingest(&t, inbox_id, raw).await;
        let Ingested::Message {
            message_id,
            display_id,
            malformed,
            ..
        } = outcome
        else {
            panic!("{name}: {outcome:?}")
        };
        // The raw bytes are kept, byte for byte.
        let key: String = {
            let mut conn = t.app.store.read().await.unwrap();
            sqlx::query_scalar("SELECT raw_blob_key FROM email_messages WHERE message_id = $1")
                .bind(message_id)
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        };
        use throughline_store::blob::BlobStore;
        assert_eq!(&t.app.blobs.get(&key).await.unwrap(), raw, "{name}");
        let msgs = messages(&t, display_id).await;
        let m = msgs.iter().find(|m| m["id"] == message_id).unwrap();
        if malformed {
            assert!(
                m["content"].as_str().unwrap().contains("could not be read"),
                "{name}: {m}"
            );
            assert_eq!(m["content_attributes"]["email"]["malformed"], true);
        }
        if *name == "empty" || *name == "garbage" {
            assert!(malformed, "{name} should be reported as malformed");
        }
    }
}

async fn auto_replies_get_no_answer(backend: Backend) {
    let t = TestApp::start(backend).await;
    let sink = SmtpSink::start().await;
    let inbox = t.email_inbox("Support", SUPPORT, Some(sink.port)).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    // The greeting and the out-of-office message on (closed every day: always out of office).
    let closed: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{inbox_id}")),
        Some(
            json!({"greeting_enabled": true, "greeting_message": "We got your email",
                    "working_hours_enabled": true, "working_hours": closed,
                    "timezone": "America/Sao_Paulo",
                    "out_of_office_message": "We are closed; we answer on Monday."}),
        ),
    )
    .await
    .expect(200);
    let raw = mail(
        "ana@customer.test",
        SUPPORT,
        "Out of office",
        "ooo@customer.test",
        None,
        &[],
        "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        "I am away until Monday.",
    );
    let Ingested::Message { display_id, .. } = ingest(&t, inbox_id, &raw).await else {
        panic!("not stored")
    };
    let msgs = messages(&t, display_id).await;
    let m = msgs.iter().find(|m| m["message_type"] == 0).unwrap();
    assert_eq!(m["content_attributes"]["email"]["auto_reply"], true);

    // A person's email, after it: answered with the greeting and the out-of-office message,
    // each once, marked as automatic mail.
    let person = mail(
        "bruno@customer.test",
        SUPPORT,
        "Where is my order?",
        "q1@customer.test",
        None,
        &[],
        "",
        "Order 1234 has not arrived.",
    );
    let Ingested::Message {
        display_id: answered,
        ..
    } = ingest(&t, inbox_id, &person).await
    else {
        panic!("not stored")
    };
    let sent = sink.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 2, "greeting and out-of-office expected");
    for r in &sent {
        let data = String::from_utf8_lossy(&r.data);
        assert_eq!(r.rcpt_to, vec!["<bruno@customer.test>".to_owned()]);
        assert!(data.contains("Auto-Submitted: auto-replied"), "{data}");
    }
    let replies: Vec<Value> = messages(&t, answered)
        .await
        .into_iter()
        .filter(|m| m["message_type"] == 3)
        .collect();
    let kinds: Vec<&str> = replies
        .iter()
        .map(|m| m["content_attributes"]["auto_reply"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{replies:?}");
    assert!(kinds.contains(&"greeting") && kinds.contains(&"out_of_office"));

    // The person's events came after the auto-reply's, so the auto-reply was seen: nothing
    // answered it, and nothing was mailed to it.
    assert!(
        messages(&t, display_id)
            .await
            .iter()
            .all(|m| m["message_type"] == 0),
        "an automatic answer was written to an auto-reply"
    );
    assert_eq!(sink.attempts(), 2, "something was emailed to an auto-reply");

    // A second email in the same thread: neither is sent again.
    let again = mail(
        "bruno@customer.test",
        SUPPORT,
        "Re: Where is my order?",
        "q2@customer.test",
        Some("q1@customer.test"),
        &["q1@customer.test"],
        "",
        "Any news?",
    );
    let Ingested::Message {
        display_id: same, ..
    } = ingest(&t, inbox_id, &again).await
    else {
        panic!("not stored")
    };
    assert_eq!(same, answered);
    let third = mail(
        "carla@customer.test",
        SUPPORT,
        "Invoice",
        "c1@customer.test",
        None,
        &[],
        "",
        "Please send my invoice.",
    );
    ingest(&t, inbox_id, &third).await;
    // Carla's answers (two more) arrive only after Bruno's second email was handled.
    sink.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(
        messages(&t, answered)
            .await
            .iter()
            .filter(|m| m["message_type"] == 3)
            .count(),
        2,
        "an automatic reply was sent twice in one conversation"
    );
    assert_eq!(sink.attempts(), 4);

    // Mail from our own address is a loop: not imported.
    let own = mail(
        SUPPORT,
        SUPPORT,
        "loop",
        "loop@acme.test",
        None,
        &[],
        "",
        "echo",
    );
    assert_eq!(ingest(&t, inbox_id, &own).await, Ingested::OwnAddress);
}

/// A Dovecot started by scripts/dovecot for one test, stopped on drop.
struct Dovecot {
    dir: std::path::PathBuf,
    port: u16,
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = std::env::temp_dir().join(format!("tl-dovecot-{}", uuid::Uuid::new_v4()));
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dovecot");
        let out = std::process::Command::new(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .expect("running scripts/dovecot");
        assert!(
            out.status.success(),
            "scripts/dovecot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        Dovecot { dir, port }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dovecot");
        let _ = std::process::Command::new(script)
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn incoming_count(t: &TestApp) -> i64 {
    let mut conn = t.app.store.read().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE message_type = 0")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

fn with_fast_imap(s: &mut throughline::Settings) {
    s.imap_poll_secs = Some(1);
}

async fn imap_with_dovecot(backend: Backend) {
    let dovecot = Dovecot::start();
    let t = TestApp::start_with(backend, with_fast_imap).await;
    let user = format!("tester{}", uuid::Uuid::new_v4().simple());
    let settings = throughline_channels::email::imap::ImapSettings {
        host: "127.0.0.1".into(),
        port: dovecot.port,
        tls: false,
        username: user.clone(),
        password: "tester-password".into(),
        mailbox: "INBOX".into(),
        timeout: Duration::from_secs(10),
    };
    let mut session = throughline_channels::email::imap::connect(&settings)
        .await
        .unwrap();
    for i in 0..3 {
        let raw = mail(
            "ana@customer.test",
            SUPPORT,
            &format!("IMAP {i}"),
            &format!("imap{i}@customer.test"),
            None,
            &[],
            "",
            "via imap",
        );
        session.append("INBOX", None, None, &raw).await.unwrap();
    }
    let inbox = t
        .post(
            &t.acc("/inboxes"),
            json!({"name": "Mailbox", "channel": {"type": "email", "email": SUPPORT,
                "imap_enabled": true, "imap_address": "127.0.0.1", "imap_port": dovecot.port,
                "imap_login": user, "imap_password": "tester-password", "imap_enable_ssl": false}}),
        )
        .await;
    let id = inbox["id"].as_i64().unwrap();
    let report = t
        .post(
            &t.acc(&format!("/inboxes/{id}/email/test_connection")),
            json!({}),
        )
        .await;
    assert_eq!(report["imap"]["ok"], true, "{report}");
    t.eventually(Duration::from_secs(20), "3 imported messages", || async {
        (incoming_count(&t).await == 3).then_some(())
    })
    .await;
    // A new message while the poller waits (IDLE): imported too.
    let raw = mail(
        "ana@customer.test",
        SUPPORT,
        "IMAP 3",
        "imap3@customer.test",
        None,
        &[],
        "",
        "later",
    );
    session.append("INBOX", None, None, &raw).await.unwrap();
    t.eventually(Duration::from_secs(20), "the 4th message", || async {
        (incoming_count(&t).await == 4).then_some(())
    })
    .await;
    // Restart polling (settings change restarts the poller): nothing is imported twice.
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"channel": {"imap_enabled": false}})),
    )
    .await
    .expect(200);
    t.admin(
        "PATCH",
        &t.acc(&format!("/inboxes/{id}")),
        Some(json!({"channel": {"imap_enabled": true}})),
    )
    .await
    .expect(200);
    // Forget the position too: Message-ID dedup alone must hold.
    {
        let mut tx = t.app.store.begin().await.unwrap();
        sqlx::query("DELETE FROM email_imap_state")
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let raw = mail(
        "ana@customer.test",
        SUPPORT,
        "IMAP 4",
        "imap4@customer.test",
        None,
        &[],
        "",
        "after restart",
    );
    session.append("INBOX", None, None, &raw).await.unwrap();
    t.eventually(Duration::from_secs(20), "the 5th message", || async {
        (incoming_count(&t).await >= 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(incoming_count(&t).await, 5);
    let state: (i64, i64) = {
        let mut conn = t.app.store.read().await.unwrap();
        let row: (i64, i64) = sqlx::query_as(
            "SELECT uid_validity, last_uid FROM email_imap_state WHERE inbox_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        row
    };
    assert_eq!(state.1, 5);
    let _ = session.logout().await;
}
