#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The pure text functions: thread keys, quote folding, HTML sanitising.

use std::collections::HashMap;

use proptest::prelude::*;
use throughline_channels::email::Mailbox;
use throughline_channels::email::parse::{InboundEmail, parse_inbound};
use throughline_channels::email::quote::{split_html, split_text};
use throughline_channels::email::sanitize::{SanitizeOptions, sanitize_html};
use throughline_channels::email::threading::{normalize_subject, reply_token, thread_keys};

// ---------------------------------------------------------------- threading

#[test]
fn reply_token_only_for_our_domain_and_prefix() {
    assert_eq!(
        reply_token("reply+abc123@acme.test", "acme.test").as_deref(),
        Some("abc123")
    );
    assert_eq!(
        reply_token("<Reply+a-b_c@ACME.test>", "acme.test").as_deref(),
        Some("a-b_c")
    );
    assert_eq!(
        reply_token(" reply+x9@acme.test ", "@acme.test").as_deref(),
        Some("x9")
    );
    assert_eq!(reply_token("reply+abc@evil.test", "acme.test"), None);
    assert_eq!(reply_token("reply+@acme.test", "acme.test"), None);
    assert_eq!(reply_token("support@acme.test", "acme.test"), None);
    assert_eq!(reply_token("noreply+abc@acme.test", "acme.test"), None);
    assert_eq!(reply_token("reply+a b@acme.test", "acme.test"), None);
    assert_eq!(reply_token("reply+abc@acme.test", ""), None);
    assert_eq!(reply_token("not an address", "acme.test"), None);
    assert_eq!(reply_token("réply+abc@acme.test", "acme.test"), None);
}

#[test]
fn normalize_subject_strips_reply_and_forward_prefixes_in_many_languages() {
    let cases = [
        ("Re: Pedido 42", "Pedido 42"),
        ("RE: Pedido 42", "Pedido 42"),
        ("re:Pedido 42", "Pedido 42"),
        ("Fwd: Re: Pedido 42", "Pedido 42"),
        ("FW: RE: Fwd: Pedido 42", "Pedido 42"),
        // Portuguese (Outlook/Gmail pt-BR).
        ("RES: ENC: Pedido 42", "Pedido 42"),
        ("Res: Enc: Pedido 42", "Pedido 42"),
        // Polish.
        ("Odp: PD: Zamówienie 5", "Zamówienie 5"),
        ("ODP: Zamówienie 5", "Zamówienie 5"),
        // German, Scandinavian, French.
        ("AW: WG: Bestellung", "Bestellung"),
        ("SV: Ordre", "Ordre"),
        ("TR: Commande", "Commande"),
        ("Re : Commande", "Commande"),
        // Counters.
        ("Re[2]: Pedido 42", "Pedido 42"),
        ("RE(3): Pedido 42", "Pedido 42"),
        // Tags stay; whitespace collapses.
        ("Re: [Ticket #12]   Pedido\t 42 ", "[Ticket #12] Pedido 42"),
        ("[Ticket #12] Re: Pedido", "[Ticket #12] Re: Pedido"),
        // Words that merely start like a prefix are kept.
        ("Reembolso pendente", "Reembolso pendente"),
        ("Result: ok", "Result: ok"),
        ("Re:", ""),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize_subject(input), expected, "{input:?}");
    }
}

fn email_with(f: impl FnOnce(&mut InboundEmail)) -> InboundEmail {
    let mut email = InboundEmail::default();
    f(&mut email);
    email
}

#[test]
fn thread_keys_order_and_deduplicate() {
    let email = email_with(|e| {
        e.message_id = Some("self@example.com".into());
        e.to = vec![
            Mailbox::new("support@acme.test"),
            Mailbox::new("reply+tok1@acme.test"),
        ];
        e.cc = vec![
            Mailbox::new("reply+tok1@acme.test"),
            Mailbox::new("reply+other@evil.test"),
        ];
        e.delivered_to = vec!["reply+tok2@acme.test".into()];
        e.in_reply_to = vec!["parent@acme.test".into()];
        e.references = vec![
            "root@example.com".into(),
            "middle@acme.test".into(),
            "parent@acme.test".into(),
            "self@example.com".into(),
        ];
        e.subject = Some("RES: Re:  Pedido   42".into());
    });
    let keys = thread_keys(&email, "acme.test");
    assert_eq!(keys.reply_tokens, vec!["tok1", "tok2"]);
    assert_eq!(
        keys.referenced_ids,
        vec!["parent@acme.test", "middle@acme.test", "root@example.com"]
    );
    assert_eq!(keys.normalized_subject, "Pedido 42");
}

#[test]
fn thread_keys_from_a_parsed_reply_without_threading_headers() {
    // Some webmail clients drop In-Reply-To/References; the reply token still threads it.
    let raw = b"From: ana@example.com\r\nTo: \"Acme\" <Reply+T0k@acme.test>\r\nSubject: Odp: Zam\xc3\xb3wienie\r\n\r\nok\r\n";
    let email = parse_inbound(raw).unwrap();
    let keys = thread_keys(&email, "acme.test");
    assert_eq!(keys.reply_tokens, vec!["t0k"]);
    assert!(keys.referenced_ids.is_empty());
    assert_eq!(keys.normalized_subject, "Zamówienie");
}

proptest! {
    #[test]
    fn normalize_subject_is_idempotent(subject in "\\PC{0,60}") {
        let once = normalize_subject(&subject);
        prop_assert_eq!(normalize_subject(&once), once.clone());
    }

    #[test]
    fn normalize_subject_is_idempotent_on_prefix_soup(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("Re:"), Just("RE :"), Just("Fwd:"), Just("Res:"), Just("ENC:"), Just("Odp:"),
                Just("PD:"), Just("Re[2]:"), Just("Re(10):"), Just("[Ticket #1]"), Just("  "),
                Just("\t"), Just("Pedido"), Just("re"), Just(":"), Just("["), Just("2]"),
            ],
            0..12,
        )
    ) {
        let subject = parts.concat();
        let once = normalize_subject(&subject);
        prop_assert_eq!(normalize_subject(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
        prop_assert!(!once.contains("  "));
    }

    #[test]
    fn reply_token_never_panics(address in "\\PC{0,40}", domain in "\\PC{0,12}") {
        let _ = reply_token(&address, &domain);
    }
}

// ---------------------------------------------------------------- quote (text)

#[test]
fn gmail_style_english_reply_is_split_at_attribution() {
    let body = "Thanks, that worked!\n\nOn Mon, 13 Jan 2025 at 10:00, Acme Support <\nsupport@acme.test> wrote:\n> Try restarting.\n>\n> Acme\n";
    let split = split_text(body);
    assert_eq!(split.visible, "Thanks, that worked!\n\n");
    assert!(split.quoted.starts_with("On Mon, 13 Jan 2025"));
    assert_eq!(format!("{}{}", split.visible, split.quoted), body);
}

#[test]
fn portuguese_reply_marker_em_escreveu() {
    let body = "Obrigado, resolvido.\r\n\r\nEm ter., 14 de jan. de 2025 às 10:00, Suporte Acme <support@acme.test> escreveu:\r\n> Pode reiniciar?\r\n";
    let split = split_text(body);
    assert_eq!(split.visible, "Obrigado, resolvido.\r\n\r\n");
    assert!(split.quoted.starts_with("Em ter., 14 de jan."));
}

#[test]
fn polish_reply_marker_w_dniu_pisze() {
    let body = "Dziękuję, działa.\n\nW dniu 14.01.2025 o 10:00, Obsługa Acme <support@acme.test> pisze:\n> Proszę zrestartować.\n";
    let split = split_text(body);
    assert_eq!(split.visible, "Dziękuję, działa.\n\n");
    assert!(split.quoted.starts_with("W dniu 14.01.2025"));
}

#[test]
fn outlook_original_message_and_header_blocks() {
    let original =
        "Sim, pode cancelar.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\n\nOld text\n";
    let split = split_text(original);
    assert_eq!(split.visible, "Sim, pode cancelar.\n\n");
    assert!(split.quoted.starts_with("-----Original Message-----"));

    let pt = "Pode cancelar.\n\n________________________________\nDe: Suporte Acme <support@acme.test>\nEnviado: segunda-feira, 13 de janeiro de 2025 10:00\nPara: Ana\nAssunto: Pedido 42\n\nTexto antigo\n";
    let split = split_text(pt);
    assert_eq!(split.visible, "Pode cancelar.\n\n");
    assert!(
        split
            .quoted
            .starts_with("________________________________\nDe: Suporte")
    );

    let pt_br = "Ok.\n\nDe: Suporte Acme\nEnviada em: segunda-feira\nPara: Ana\n";
    assert_eq!(split_text(pt_br).visible, "Ok.\n\n");

    let pl = "Dobrze.\n\nOd: Obsługa Acme <support@acme.test>\nWysłane: poniedziałek, 13 stycznia 2025 10:00\nDo: Anna\nTemat: Zamówienie\n";
    let split = split_text(pl);
    assert_eq!(split.visible, "Dobrze.\n\n");
    assert!(split.quoted.starts_with("Od: Obsługa"));

    let pl_rule = "Tak.\n\n-----Wiadomość oryginalna-----\nOd: Acme\n";
    assert_eq!(split_text(pl_rule).visible, "Tak.\n\n");
}

#[test]
fn signature_separator_collapses_the_signature() {
    let body = "Please call me.\n\n-- \nAna Souza\nACME Corp\n";
    let split = split_text(body);
    assert_eq!(split.visible, "Please call me.\n\n");
    assert_eq!(split.quoted, "-- \nAna Souza\nACME Corp\n");
}

#[test]
fn trailing_quote_block_without_attribution_is_collapsed() {
    let body = "Yes.\n\n> Do you want a refund?\n> \n> Acme\n";
    let split = split_text(body);
    assert_eq!(split.visible, "Yes.\n");
    assert_eq!(split.quoted, "\n> Do you want a refund?\n> \n> Acme\n");
}

#[test]
fn interleaved_answers_stay_visible() {
    let body = "> Order number?\n42\n> Address?\nRua A, 1\n";
    let split = split_text(body);
    assert_eq!(split.visible, body);
    assert!(!split.has_quoted());
}

#[test]
fn body_made_only_of_quote_is_shown_whole() {
    let body = "On Mon, Acme wrote:\n> hello\n";
    let split = split_text(body);
    assert_eq!(split.visible, body);
    assert!(split.quoted.is_empty());
}

#[test]
fn lines_that_only_look_like_markers_are_not_cut() {
    let body = "On Monday I will be away.\nFrom: the warehouse, not the shop.\n--not a signature\n";
    assert!(!split_text(body).has_quoted());
}

#[test]
fn forwarded_messages_stay_visible() {
    let gmail = "Vejam abaixo, por favor.\n\n---------- Forwarded message ---------\nFrom: Loja <loja@example.com>\nDate: seg., 13 de jan. de 2025\nSubject: Pedido 42\n\nSeu pedido foi cancelado.\n";
    assert!(!split_text(gmail).has_quoted());

    let pt =
        "Segue.\n\n-------- Mensagem encaminhada --------\nDe: Loja\nData: 13/01/2025\n\nTexto\n";
    assert!(!split_text(pt).has_quoted());

    // History inside the forwarded message may still fold.
    let nested = "FYI\n\nBegin forwarded message:\nFrom: Loja\nDate: Monday\n\nNo.\n\nOn Sun, Ana wrote:\n> Can I cancel?\n";
    let split = split_text(nested);
    assert!(split.visible.contains("No.\n"), "{}", split.visible);
    assert!(split.quoted.starts_with("On Sun, Ana wrote:"));

    let html = r#"<div dir="ltr">Vejam abaixo.<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <b>Loja</b></div><div>Seu pedido foi cancelado.</div></div></div>"#;
    assert!(!split_html(html).has_quoted());
}

proptest! {
    #[test]
    fn text_split_keeps_every_byte(body in "(\\PC|\n|\r|>| |-){0,200}") {
        let split = split_text(&body);
        prop_assert_eq!(format!("{}{}", split.visible, split.quoted), body);
    }

    #[test]
    fn html_split_keeps_every_byte(body in "(\\PC|<|>|\"|'|=| ){0,200}") {
        let split = split_html(&body);
        prop_assert_eq!(format!("{}{}", split.visible, split.quoted), body);
    }
}

// ---------------------------------------------------------------- quote (html)

#[test]
fn gmail_quote_div_is_split() {
    let html = r#"<div dir="ltr">Obrigada!</div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">Em seg., Acme escreveu:<br></div><blockquote class="gmail_quote">old</blockquote></div>"#;
    let split = split_html(html);
    assert_eq!(split.visible, r#"<div dir="ltr">Obrigada!</div><br>"#);
    assert!(split.quoted.starts_with(r#"<div class="gmail_quote"#));
}

#[test]
fn outlook_reply_markers_are_split() {
    let html = "<html><head><style>p{margin:0}</style></head><body><p>Pode cancelar.</p><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\" dir=\"ltr\"><b>De:</b> Acme</div><div>old</div></body></html>";
    let split = split_html(html);
    assert!(
        split.visible.ends_with("<p>Pode cancelar.</p>"),
        "{}",
        split.visible
    );
    assert!(split.quoted.starts_with("<div id=\"appendonsend\">"));

    let only_divrply = "<p>Ok</p><div id='divRplyFwdMsg'>From: x</div>";
    assert_eq!(split_html(only_divrply).visible, "<p>Ok</p>");
}

#[test]
fn apple_and_thunderbird_citations_are_split() {
    let apple = "<div>Yes please.</div><blockquote type=\"cite\"><div>Refund?</div></blockquote>";
    assert_eq!(split_html(apple).visible, "<div>Yes please.</div>");

    let thunderbird = "<p>Tak.</p><div class=\"moz-cite-prefix\">W dniu 14.01.2025 o 10:00, Acme pisze:<br></div><blockquote type=\"cite\">x</blockquote>";
    assert_eq!(split_html(thunderbird).visible, "<p>Tak.</p>");
}

#[test]
fn html_quote_markers_inside_attributes_or_comments_are_ignored() {
    let html =
        "<p title='<div class=\"gmail_quote\">'>Hi</p><!-- <blockquote type=cite> --><p>Bye</p>";
    assert!(!split_html(html).has_quoted());
}

#[test]
fn html_without_own_text_before_quote_is_whole() {
    let html = "<html><head><style>body{}</style></head><body><div>&nbsp;</div><div class=\"gmail_quote\">old</div></body></html>";
    let split = split_html(html);
    assert_eq!(split.visible, html);
    assert!(!split.has_quoted());
}

// ---------------------------------------------------------------- sanitize

/// The tags of sanitised (canonical) HTML: text never holds a raw `<` there.
fn tags(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let tag = &rest[start..];
        let mut quoted = false;
        let end = tag
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(tag.len(), |(i, _)| i + 1);
        found.push(&tag[..end]);
        rest = &tag[end..];
    }
    found
}

fn sanitize(html: &str) -> String {
    sanitize_html(html, &SanitizeOptions::default())
}

#[test]
fn scripts_handlers_and_active_content_are_removed() {
    let dirty = r#"<p onclick="alert(1)">Hi<script>alert(2)</script></p>
<img src="x" onerror="alert(3)">
<a href="javascript:alert(4)">click</a>
<a href="JaVaScRiPt&colon;alert(5)">click2</a>
<iframe src="https://evil.test"></iframe>
<object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.test"><input name="password"></form>
<style>body{display:none}</style>
<svg><script>alert(6)</script><a xlink:href="javascript:alert(7)">s</a></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(8)></style></mglyph></table></mtext></math>
<div style="background-image:url(https://tracker.test/p.gif);color:red;position:fixed">styled</div>
<a href="data:text/html,<script>alert(9)</script>">data</a>
<meta http-equiv="refresh" content="0;url=https://evil.test">
<base href="https://evil.test/">"#;
    let clean = sanitize(dirty);
    for forbidden in [
        "<script",
        "alert(2)",
        "onclick",
        "onerror",
        "javascript",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<input",
        "<style",
        "<svg",
        "xlink",
        "url(",
        "tracker.test",
        "position",
        "data:",
        "<meta",
        "<base",
        "evil.test",
    ] {
        assert!(
            !clean.to_ascii_lowercase().contains(forbidden),
            "{forbidden} in {clean}"
        );
    }
    assert!(clean.contains("Hi"));
    assert!(clean.contains("color:red"), "{clean}");
    assert!(clean.contains("styled"));
}

#[test]
fn links_open_safely_in_a_new_tab() {
    let clean = sanitize(
        r#"<a href="https://example.com/a?b=1&amp;c=2" target="_self" rel="opener">site</a>"#,
    );
    assert!(
        clean.contains(r#"href="https://example.com/a?b=1&amp;c=2""#),
        "{clean}"
    );
    assert!(clean.contains(r#"target="_blank""#), "{clean}");
    assert!(
        clean.contains(r#"rel="noopener noreferrer nofollow""#),
        "{clean}"
    );
    assert!(
        !clean.contains("_self") && !clean.contains("\"opener\""),
        "{clean}"
    );

    let mailto = sanitize(r#"<a href="mailto:ana@example.com">mail</a>"#);
    assert!(mailto.contains("mailto:ana@example.com"));

    // Relative links would point into our own app.
    let relative = sanitize(r#"<a href="/api/v1/accounts/1/delete">x</a>"#);
    assert!(!relative.contains("href"), "{relative}");
}

#[test]
fn remote_images_are_deferred_until_allowed() {
    let html = r#"<p>Hi</p><img src="https://tracker.test/open.gif?u=ana&amp;x=1" alt="logo" width="1"><img src="//tracker.test/p.gif">"#;
    let clean = sanitize(html);
    assert!(!clean.contains(" src="), "{clean}");
    assert!(
        clean.contains(r#"data-remote-src="https://tracker.test/open.gif?u=ana&amp;x=1""#),
        "{clean}"
    );
    assert!(clean.contains(r#"alt="logo""#));

    let allowed = sanitize_html(
        html,
        &SanitizeOptions {
            allow_remote_images: true,
            ..SanitizeOptions::default()
        },
    );
    assert!(
        allowed.contains(r#"src="https://tracker.test/open.gif?u=ana&amp;x=1""#),
        "{allowed}"
    );
    assert!(!allowed.contains("data-remote-src"));
}

#[test]
fn cid_images_are_rewritten_through_the_map() {
    let mut inline_images = HashMap::new();
    inline_images.insert(
        "logo.gif@01D9".to_owned(),
        "/api/v1/accounts/1/attachments/7/inline".to_owned(),
    );
    inline_images.insert("sig@x".to_owned(), "https://files.acme.test/a/8".to_owned());
    let options = SanitizeOptions {
        allow_remote_images: false,
        inline_images,
    };
    let clean = sanitize_html(
        r#"<img src="cid:logo.gif@01D9"><img src="CID:sig%40x"><img src="cid:unknown@x" alt="gone"><a href="cid:logo.gif@01D9">l</a>"#,
        &options,
    );
    assert!(
        clean.contains(r#"<img src="/api/v1/accounts/1/attachments/7/inline">"#),
        "{clean}"
    );
    // Our own URLs are not remote tracking: they load even with remote images off.
    assert!(
        clean.contains(r#"src="https://files.acme.test/a/8""#),
        "{clean}"
    );
    assert!(clean.contains(r#"<img alt="gone">"#), "{clean}");
    assert!(!clean.contains("cid:"), "{clean}");
}

#[test]
fn data_images_are_kept_only_as_pictures() {
    let clean = sanitize(
        r#"<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4=">"#,
    );
    assert!(
        clean.contains(r#"src="data:image/png;base64,iVBORw0KGgo=""#),
        "{clean}"
    );
    assert!(!clean.contains("svg"), "{clean}");
}

#[test]
fn attribute_text_that_looks_like_a_tag_is_not_rewritten() {
    let clean = sanitize(r#"<p title="<img src=&quot;https://x.test/a&quot;>">t</p>"#);
    assert!(!clean.contains("data-remote-src"), "{clean}");
}

#[test]
fn email_layout_survives() {
    let clean = sanitize(
        r##"<table width="600" cellpadding="0"><tr><td align="center" bgcolor="#eeeeee" style="padding:8px;font-family:Arial">Olá <font color="red">Ana</font></td></tr></table>"##,
    );
    assert!(
        clean.contains(r#"<table width="600" cellpadding="0">"#),
        "{clean}"
    );
    assert!(clean.contains(r##"bgcolor="#eeeeee""##), "{clean}");
    assert!(clean.contains("padding:8px"), "{clean}");
    assert!(clean.contains(r#"<font color="red">Ana</font>"#), "{clean}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn sanitized_output_has_no_script_or_handlers(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<script>x</script>"), Just("<img src=x onerror=alert(1)>"), Just("<a href=\"javascript:1\">"),
                Just("<svg onload=1>"), Just("<p>"), Just("</p>"), Just("\""), Just("'"), Just("<"), Just(">"),
                Just("<img src=\"https://t.test/x\">"), Just("<!--"), Just("-->"), Just("<style>"), Just("text"),
                Just("<iframe>"), Just("<math><mtext>"), Just("<a href='cid:x'>"), Just("on"), Just("="),
            ],
            0..16,
        )
    ) {
        let clean = sanitize(&parts.concat()).to_ascii_lowercase();
        // Escaped text such as `&lt;img onerror=…&gt;` is inert; only real tags matter.
        for tag in tags(&clean) {
            prop_assert!(!tag.starts_with("<script") && !tag.starts_with("<svg"), "{}", clean);
            prop_assert!(!tag.starts_with("<iframe") && !tag.starts_with("<style"), "{}", clean);
            prop_assert!(!tag.contains("javascript:"), "{}", clean);
            prop_assert!(!tag.contains(" src=\"https:"), "{}", clean);
            prop_assert!(!tag.contains(" on"), "{}", clean);
        }
    }
}
