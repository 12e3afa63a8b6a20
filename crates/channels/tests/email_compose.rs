#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `compose` output read back with `parse_inbound`: what the customer's client will see.

use throughline_channels::email::Mailbox;
use throughline_channels::email::compose::{
    ComposeError, MAX_REFERENCES, OutgoingAttachment, OutgoingEmail, Signature, compose,
    thread_references,
};
use throughline_channels::email::parse::parse_inbound;

fn reply() -> OutgoingEmail {
    OutgoingEmail {
        from: Mailbox::with_name("Beatriz (Acme Suporte)", "support@acme.test"),
        to: vec![Mailbox::with_name("Łukasz Wiśniewski", "lukasz@example.pl")],
        cc: vec![Mailbox::new("boss@example.pl")],
        reply_to: Some(Mailbox::with_name("Acme Suporte", "reply+tok42@acme.test")),
        subject: "Re: Solicitação de reembolso – pedido 42".to_owned(),
        message_id: "<0191a2b3-c4d5-7e6f-8091-a2b3c4d5e6f7@acme.test>".to_owned(),
        in_reply_to: Some("<cust-2@example.pl>".to_owned()),
        references: vec!["out-1@acme.test".to_owned(), "cust-2@example.pl".to_owned()],
        text_body: "Olá Łukasz,\n\nO reembolso foi aprovado.".to_owned(),
        html_body: Some(
            "<p>Olá Łukasz,</p><p>O reembolso foi <b>aprovado</b>. <img src=\"cid:logo@acme.test\"></p>"
                .to_owned(),
        ),
        attachments: vec![
            OutgoingAttachment {
                file_name: "comprovante de reembolso.pdf".to_owned(),
                content_type: "application/pdf".to_owned(),
                data: b"%PDF-1.4 fake".to_vec(),
                content_id: None,
            },
            OutgoingAttachment {
                file_name: "logo.png".to_owned(),
                content_type: "image/png".to_owned(),
                data: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3],
                content_id: Some("logo@acme.test".to_owned()),
            },
        ],
        signature: Some(Signature {
            text: "Beatriz\nAcme Suporte".to_owned(),
            html: None,
        }),
        automatic: false,
        date: Some(1_736_847_000),
    }
}

#[test]
fn reply_round_trips_through_the_parser() {
    let raw = compose(&reply()).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("Auto-Submitted"), "{text}");

    let email = parse_inbound(&raw).unwrap();
    assert_eq!(
        email.message_id.as_deref(),
        Some("0191a2b3-c4d5-7e6f-8091-a2b3c4d5e6f7@acme.test")
    );
    assert_eq!(email.in_reply_to, vec!["cust-2@example.pl"]);
    assert_eq!(
        email.references,
        vec!["out-1@acme.test", "cust-2@example.pl"]
    );
    assert_eq!(
        email.reply_to,
        vec![Mailbox::with_name("Acme Suporte", "reply+tok42@acme.test")]
    );
    assert_eq!(
        email.from,
        Some(Mailbox::with_name(
            "Beatriz (Acme Suporte)",
            "support@acme.test"
        ))
    );
    assert_eq!(
        email.to,
        vec![Mailbox::with_name("Łukasz Wiśniewski", "lukasz@example.pl")]
    );
    assert_eq!(email.cc, vec![Mailbox::new("boss@example.pl")]);
    assert_eq!(
        email.subject.as_deref(),
        Some("Re: Solicitação de reembolso – pedido 42")
    );
    assert_eq!(email.date, Some(1_736_847_000));
    assert!(!email.auto_submitted);

    let text_body = email.text_body.unwrap();
    assert!(text_body.starts_with("Olá Łukasz,"), "{text_body}");
    assert!(
        text_body.contains("O reembolso foi aprovado.\n\n-- \nBeatriz\nAcme Suporte"),
        "{text_body}"
    );
    let html_body = email.html_body.unwrap();
    assert!(html_body.contains("<b>aprovado</b>"), "{html_body}");
    assert!(
        html_body.contains("-- <br>\nBeatriz<br>\nAcme Suporte"),
        "{html_body}"
    );

    assert_eq!(email.attachments.len(), 2);
    let pdf = email
        .attachments
        .iter()
        .find(|a| a.content_type == "application/pdf")
        .unwrap();
    assert_eq!(
        pdf.file_name.as_deref(),
        Some("comprovante de reembolso.pdf")
    );
    assert_eq!(pdf.data, b"%PDF-1.4 fake");
    assert!(!pdf.inline);
    let logo = email
        .attachments
        .iter()
        .find(|a| a.content_type == "image/png")
        .unwrap();
    assert_eq!(logo.content_id.as_deref(), Some("logo@acme.test"));
    assert!(logo.inline);
    assert_eq!(logo.data, vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3]);
}

#[test]
fn inline_images_sit_next_to_the_html_in_multipart_related() {
    let raw = String::from_utf8(compose(&reply()).unwrap()).unwrap();
    let mixed = raw.find("multipart/mixed").unwrap();
    let alternative = raw.find("multipart/alternative").unwrap();
    let related = raw.find("multipart/related").unwrap();
    let html = raw.find("text/html").unwrap();
    let png = raw.find("image/png").unwrap();
    let pdf = raw.find("application/pdf").unwrap();
    assert!(
        mixed < alternative && alternative < related && related < html && html < png && png < pdf
    );
}

#[test]
fn automatic_messages_are_marked() {
    let mut email = reply();
    email.automatic = true;
    let raw = compose(&email).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("Auto-Submitted: auto-replied\r\n"));
    assert!(parse_inbound(&raw).unwrap().auto_submitted);
}

#[test]
fn text_only_message_without_threading_headers() {
    let email = OutgoingEmail {
        from: Mailbox::new("support@acme.test"),
        to: vec![Mailbox::new("ana@example.com")],
        subject: "Novo contato".to_owned(),
        message_id: "new-1@acme.test".to_owned(),
        text_body: "Olá!".to_owned(),
        ..OutgoingEmail::default()
    };
    let raw = compose(&email).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("In-Reply-To") && !text.contains("References"),
        "{text}"
    );
    assert!(!text.contains("multipart"), "{text}");
    let parsed = parse_inbound(&raw).unwrap();
    assert_eq!(parsed.message_id.as_deref(), Some("new-1@acme.test"));
    assert_eq!(parsed.text_body.as_deref().map(str::trim_end), Some("Olá!"));
    assert_eq!(parsed.html_body, None);
}

#[test]
fn references_include_the_parent_and_are_capped_keeping_the_root() {
    let ids: Vec<String> = (0..30).map(|i| format!("id{i}@example.com")).collect();
    let refs = thread_references(&ids, Some("parent@example.com"));
    assert_eq!(refs.len(), MAX_REFERENCES);
    assert_eq!(refs[0], "id0@example.com");
    assert_eq!(refs[MAX_REFERENCES - 1], "parent@example.com");
    assert_eq!(refs[MAX_REFERENCES - 2], "id29@example.com");

    // Malformed ids from other people's mail are dropped, duplicates removed.
    let refs = thread_references(
        &[
            "<a@x>".to_owned(),
            "no-at-sign".to_owned(),
            "a@x".to_owned(),
            "b c@x".to_owned(),
        ],
        Some("a@x"),
    );
    assert_eq!(refs, vec!["a@x"]);

    let mut email = reply();
    email.references = ids;
    let parsed = parse_inbound(&compose(&email).unwrap()).unwrap();
    assert_eq!(parsed.references.len(), MAX_REFERENCES);
    assert_eq!(
        parsed.references.first().map(String::as_str),
        Some("id0@example.com")
    );
    assert_eq!(
        parsed.references.last().map(String::as_str),
        Some("cust-2@example.pl")
    );
}

#[test]
fn caller_text_cannot_inject_headers() {
    let mut email = reply();
    email.subject = "Hello\r\nBcc: victim@example.com".to_owned();
    email.from.name = Some("Agent\r\nX-Evil: 1".to_owned());
    email.attachments[0].file_name = "a\r\nX-Evil2: 1.pdf".to_owned();
    let raw = String::from_utf8(compose(&email).unwrap()).unwrap();
    for line in raw.lines() {
        assert!(!line.starts_with("Bcc:"), "{raw}");
        assert!(!line.starts_with("X-Evil"), "{raw}");
    }
    let parsed = parse_inbound(raw.as_bytes()).unwrap();
    assert_eq!(
        parsed.subject.as_deref(),
        Some("Hello  Bcc: victim@example.com")
    );
}

#[test]
fn invalid_input_is_refused() {
    let mut email = reply();
    email.to = vec![Mailbox::new("ana@example.com>\r\nBcc: x@y")];
    assert!(matches!(
        compose(&email),
        Err(ComposeError::InvalidAddress(_))
    ));

    let mut email = reply();
    email.message_id = "not a message id".to_owned();
    assert!(matches!(
        compose(&email),
        Err(ComposeError::InvalidMessageId(_))
    ));

    let mut email = reply();
    email.to.clear();
    email.cc.clear();
    assert!(matches!(compose(&email), Err(ComposeError::NoRecipients)));

    // A malformed parent id from someone else's mail does not block the reply.
    let mut email = reply();
    email.in_reply_to = Some("garbage without at".to_owned());
    let parsed = parse_inbound(&compose(&email).unwrap()).unwrap();
    assert!(parsed.in_reply_to.is_empty());
}

#[test]
fn html_signature_goes_inside_the_body_element() {
    let mut email = reply();
    email.html_body = Some("<html><body><p>Oi</p></body></html>".to_owned());
    email.signature = Some(Signature {
        text: "Bia".to_owned(),
        html: Some("<i>Bia</i>".to_owned()),
    });
    let html = parse_inbound(&compose(&email).unwrap())
        .unwrap()
        .html_body
        .unwrap();
    assert!(
        html.contains("<p>Oi</p><div class=\"signature\">-- <br>\n<i>Bia</i></div>\n</body>"),
        "{html}"
    );
}
