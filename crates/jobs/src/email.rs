//! Sending an agent's reply through an email inbox. Runs inside the delivery sender (lease,
//! retries with back-off, failure shown on the message): this module only turns a delivery
//! into an email and classifies the SMTP answer.

use std::time::Duration;

use throughline_channels::PostOutcome;
use throughline_core::model::Inbox;
use throughline_core::webhook::Outcome;
use throughline_email::Mailbox;
use throughline_email::compose::{OutgoingAttachment, OutgoingEmail, Signature, compose};
use throughline_email::sanitize::{SanitizeOptions, sanitize_html};
use throughline_email::send::send_raw;
use throughline_email::threading::normalize_subject;
use throughline_store::blob::BlobStore;
use throughline_store::email::{self, HeaderRecord, outgoing_message_id};
use throughline_store::{AccountScope, Store, StoreError};

/// The `url` of email deliveries: the delivery table wants one, and `record` tells email
/// failures (the SMTP server's words) from callback failures by it.
pub(crate) const EMAIL_URL_PREFIX: &str = "smtp:";

/// How long one SMTP exchange may take; a dead relay holds a sender slot no longer than this.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

fn give_up(error: impl Into<String>) -> PostOutcome {
    PostOutcome {
        outcome: Outcome::GiveUp,
        status: None,
        error: Some(error.into()),
    }
}

fn retry(error: impl Into<String>) -> PostOutcome {
    PostOutcome {
        outcome: Outcome::Retry,
        status: None,
        error: Some(error.into()),
    }
}

/// Markdown → HTML, then the same sanitiser as inbound mail (an agent's raw HTML is not sent
/// as is).
pub(crate) fn markdown_html(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        markdown,
        pulldown_cmark::Options::ENABLE_STRIKETHROUGH | pulldown_cmark::Options::ENABLE_TABLES,
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize_html(
        &html,
        &SanitizeOptions {
            allow_remote_images: true,
            ..SanitizeOptions::default()
        },
    )
}

fn reply_subject(subject: Option<&str>, fallback: &str, is_reply: bool) -> String {
    match subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if !is_reply || normalize_subject(s) != s => s.to_owned(),
        Some(s) => format!("Re: {s}"),
        None => fallback.to_owned(),
    }
}

pub(crate) async fn send(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox: &Inbox,
    message_id: Option<i64>,
) -> PostOutcome {
    let Some(message_id) = message_id else {
        return give_up("email delivery without a message");
    };
    let scope = AccountScope::system(inbox.account_id);
    let (channel, out) = {
        let mut conn = match store.read().await {
            Ok(c) => c,
            Err(e) => return retry(e.to_string()),
        };
        let channel = match email::get(&mut conn, store.key(), &scope, inbox.id).await {
            Ok(Some(c)) => c,
            Ok(None) => return give_up("the inbox has no email settings"),
            Err(e) => return retry(e.to_string()),
        };
        let out = match email::outgoing(&mut conn, &scope, message_id).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => return give_up("the message was deleted"),
            Err(e) => return retry(e.to_string()),
        };
        (channel, out)
    };
    let Some(settings) = channel
        .smtp_settings(SMTP_TIMEOUT)
        .filter(|_| channel.smtp.enabled)
    else {
        return give_up("this inbox has no SMTP server to send through");
    };
    let Some((to_address, to_name)) = out.to.clone() else {
        return give_up("the contact has no email address");
    };
    let mut attachments = Vec::with_capacity(out.attachments.len());
    for a in &out.attachments {
        let Some(key) = a.blob_key.as_deref() else {
            continue;
        };
        match blobs.get(key).await {
            Ok(data) => attachments.push(OutgoingAttachment {
                file_name: a.file_name.clone().unwrap_or_else(|| "attachment".into()),
                content_type: a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data,
                content_id: None,
            }),
            Err(e) => return retry(format!("reading attachment {}: {e}", a.id)),
        }
    }
    let domain = channel.domain().to_owned();
    let header_id = outgoing_message_id(&out.conversation.uuid, out.message.id, &domain);
    let in_reply_to = out.thread_ids.last().cloned();
    let from_name = match &out.agent_name {
        Some(agent) => format!("{agent} from {}", inbox.name),
        None => inbox.name.clone(),
    };
    let text = out.message.content.clone().unwrap_or_default();
    let email_out = OutgoingEmail {
        from: Mailbox::with_name(from_name, channel.email.clone()),
        to: vec![match to_name {
            Some(n) => Mailbox::with_name(n, to_address.clone()),
            None => Mailbox::new(to_address.clone()),
        }],
        cc: Vec::new(),
        reply_to: Some(Mailbox::with_name(
            inbox.name.clone(),
            channel.reply_address(&out.conversation.uuid),
        )),
        subject: reply_subject(
            out.subject.as_deref(),
            &format!("New message from {}", inbox.name),
            !out.thread_ids.is_empty(),
        )
        .replace(['\r', '\n'], " "),
        message_id: header_id.clone(),
        in_reply_to: in_reply_to.clone(),
        references: out.thread_ids.clone(),
        html_body: Some(markdown_html(&text)),
        text_body: text,
        attachments,
        signature: channel
            .signature
            .clone()
            .map(|text| Signature { text, html: None }),
        automatic: false,
        date: None,
    };
    let raw = match compose(&email_out) {
        Ok(r) => r,
        Err(e) => return give_up(format!("cannot build the email: {e}")),
    };
    // Replies thread by this Message-ID: it is recorded before the email leaves (it is
    // deterministic, and recording twice on a retry is a no-op), so a customer's answer can
    // never arrive before we know what it answers.
    if let Err(e) = remember(store, &channel, &out, &header_id).await {
        return retry(format!("cannot record the Message-ID before sending: {e}"));
    }
    match send_raw(&settings, &channel.email, &[to_address], &raw).await {
        Ok(_) => PostOutcome {
            outcome: Outcome::Delivered,
            status: None,
            error: None,
        },
        Err(e) if e.is_temporary() => retry(e.to_string()),
        Err(e) => give_up(e.to_string()),
    }
}

async fn remember(
    store: &Store,
    channel: &email::EmailChannel,
    out: &email::Outgoing,
    header_id: &str,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    email::record_header(
        tx.conn(),
        HeaderRecord {
            account_id: channel.account_id,
            inbox_id: channel.inbox_id,
            conversation_id: out.conversation.id,
            message_id: Some(out.message.id),
            header_id,
            direction: "out",
            subject: out.subject.as_deref(),
            raw_blob_key: None,
        },
    )
    .await?;
    tx.commit().await
}
