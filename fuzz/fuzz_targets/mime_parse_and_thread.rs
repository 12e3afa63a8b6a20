//! Raw mail as the SMTP receiver or IMAP hands it over: parse, derive the threading keys,
//! collapse quotes and sanitise HTML. Any input must end in a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use throughline_channels::email::parse::parse_inbound;
use throughline_channels::email::quote::{split_html, split_text};
use throughline_channels::email::sanitize::{SanitizeOptions, sanitize_html};
use throughline_channels::email::threading::{normalize_subject, thread_keys};

fuzz_target!(
    init: {
        // parse_inbound catches panics inside mail-parser on purpose (its debug assertions
        // fire on some broken multiparts); libFuzzer's hook would abort on those caught
        // panics too. A panic that escapes still fails the run.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |raw: &[u8]| {
    // The email adapter's whole parse, as the pipeline calls it: never a panic, always a
    // message (with a note when unreadable) or a delivery report.
    let _ = throughline_channels::email::read(raw, Some("sender@example.com"), "support.example");
    let Ok(email) = parse_inbound(raw) else {
        return;
    };
    let _ = thread_keys(&email, "support.example");
    if let Some(subject) = &email.subject {
        let _ = normalize_subject(subject);
    }
    if let Some(text) = &email.text_body {
        let _ = split_text(text);
    }
    if let Some(html) = &email.html_body {
        let _ = split_html(html);
        let _ = sanitize_html(html, &SanitizeOptions::default());
    }
});
