//! The email channel behind [`ChannelAdapter`]: raw RFC 5322 bytes (from the SMTP receiver,
//! IMAP polling or a signed HTTP relay) in, composed email out through the inbox's SMTP relay.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use throughline_core::crypto::{constant_time_eq, hmac_sha256_hex};
use throughline_core::email::{EmailChannel, outgoing_message_id};
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::linking::Evidence;
use throughline_core::message::DeliveryStatus;
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::reply_channel::ReplyRules;

use super::compose::{OutgoingAttachment, OutgoingEmail, Signature, compose};
use super::parse::{InboundEmail, parse_inbound};
use super::quote::{split_html, split_text};
use super::sanitize::{SanitizeOptions, sanitize_html};
use super::send::send_raw;
use super::threading::{normalize_subject, thread_keys};
use super::{EmailSessions, Mailbox};
use crate::inbound::{InboundAttachment, InboundSender, RawOriginal, ThreadKey, Transport};
use crate::registry::{ChannelDelivery, public_outgoing};
use crate::{
    ChannelAdapter, Inbound, NormalisedInbound, OutboundMessage, RawInbound, Rejected, SendOutcome,
    StatusReport, ThreadHints,
};

/// The target of email deliveries: the delivery table wants one.
pub const EMAIL_TARGET_PREFIX: &str = "smtp:";

pub struct EmailAdapter {
    channel: EmailChannel,
    smtp_timeout: Duration,
    /// The inbox's secret: raw mail relayed over HTTP (a mail server's pipe, a provider's
    /// inbound-parse hook) is signed with it.
    relay_secret: String,
}

/// The header a mail relay signs the raw message with: `sha256=<hex HMAC-SHA256 of the body
/// under the inbox's secret>`.
pub const RELAY_SIGNATURE_HEADER: &str = "x-throughline-signature";

impl EmailAdapter {
    pub fn new(channel: EmailChannel, smtp_timeout: Duration, relay_secret: String) -> Self {
        Self {
            channel,
            smtp_timeout,
            relay_secret,
        }
    }
}

/// An agent's (or bot's) public reply through an email inbox is sent by SMTP, through the same
/// delivery queue as callbacks (lease, retries, failure on the message).
pub(crate) fn delivery_for(inbox: &Inbox, event: &StoredEvent) -> Option<ChannelDelivery> {
    if event.kind != EventKind::MessageCreated || !public_outgoing(&event.payload) {
        return None;
    }
    let message_id = event.payload["id"].as_i64()?;
    Some(ChannelDelivery {
        target: format!("{EMAIL_TARGET_PREFIX}{}", inbox.id),
        message_id: Some(message_id),
    })
}

impl ChannelAdapter for EmailAdapter {
    fn channel_type(&self) -> ChannelType {
        ChannelType::Email
    }

    /// Mail from our SMTP receiver (recipients checked) or the inbox's own IMAP mailbox needs
    /// no more; raw mail relayed over HTTP must carry the inbox secret's signature.
    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        if request.transport == Transport::Mail {
            return Ok(());
        }
        let given = request
            .headers
            .get(RELAY_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("sha256="))
            .ok_or_else(|| {
                Rejected::unauthorized(format!(
                    "{RELAY_SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of the raw message> is required"
                ))
            })?;
        let expected = hmac_sha256_hex(self.relay_secret.as_bytes(), request.body);
        if constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(Rejected::unauthorized(
                "the signature does not match the message and the inbox's secret",
            ))
        }
    }

    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        // Mail our own receivers took is kept whatever it holds; a relay posting nothing is
        // a broken relay, told so.
        if request.transport == Transport::Webhook && request.body.is_empty() {
            return Err(Rejected::invalid("the request carries no message"));
        }
        Ok(vec![read(
            request.body,
            request.envelope_from,
            self.channel.domain(),
        )])
    }

    fn needs_message(&self) -> bool {
        true
    }

    fn thread_key(&self, out: &OutboundMessage) -> Option<String> {
        let m = out.message.as_ref()?;
        Some(outgoing_message_id(
            &m.conversation_uuid,
            m.message_id,
            self.channel.domain(),
        ))
    }

    fn send<'a>(&'a self, out: &'a OutboundMessage) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.send_email(out))
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(ChannelType::Email)
    }
}

impl EmailAdapter {
    async fn send_email(&self, out: &OutboundMessage) -> SendOutcome {
        let Some(m) = &out.message else {
            return SendOutcome::permanent("email delivery without a message");
        };
        let channel = &self.channel;
        let Some(settings) = channel
            .smtp_settings(self.smtp_timeout)
            .filter(|_| channel.smtp.enabled)
        else {
            return SendOutcome::permanent("this inbox has no SMTP server to send through");
        };
        let Some((to_address, to_name)) = m.recipient.clone() else {
            return SendOutcome::permanent("the contact has no email address");
        };
        let Some(header_id) = self.thread_key(out) else {
            return SendOutcome::permanent("email delivery without a message");
        };
        let from_name = match &m.agent_name {
            Some(agent) => format!("{agent} from {}", m.inbox_name),
            None => m.inbox_name.clone(),
        };
        let email = OutgoingEmail {
            from: Mailbox::with_name(from_name, channel.email.clone()),
            to: vec![match to_name {
                Some(n) => Mailbox::with_name(n, to_address.clone()),
                None => Mailbox::new(to_address.clone()),
            }],
            cc: Vec::new(),
            reply_to: Some(Mailbox::with_name(
                m.inbox_name.clone(),
                channel.reply_address(&m.conversation_uuid),
            )),
            subject: reply_subject(
                m.subject.as_deref(),
                &format!("New message from {}", m.inbox_name),
                !m.thread_keys.is_empty(),
            )
            .replace(['\r', '\n'], " "),
            message_id: header_id,
            in_reply_to: m.thread_keys.last().cloned(),
            references: m.thread_keys.clone(),
            html_body: Some(markdown_html(&m.text)),
            text_body: m.text.clone(),
            attachments: m
                .attachments
                .iter()
                .map(|a| OutgoingAttachment {
                    file_name: a.file_name.clone(),
                    content_type: a.content_type.clone(),
                    data: a.data.clone(),
                    content_id: None,
                })
                .collect(),
            signature: channel
                .signature
                .clone()
                .map(|text| Signature { text, html: None }),
            automatic: m.automatic,
            date: None,
        };
        let raw = match compose(&email) {
            Ok(r) => r,
            Err(e) => return SendOutcome::permanent(format!("cannot build the email: {e}")),
        };
        match send_raw(&settings, &channel.email, &[to_address], &raw).await {
            Ok(_) => SendOutcome::Accepted {
                provider_id: Some(email.message_id),
                status: None,
            },
            Err(e) if e.is_temporary() => SendOutcome::temporary(e.to_string()),
            Err(e) => SendOutcome::permanent(e.to_string()),
        }
    }
}

fn reply_subject(subject: Option<&str>, fallback: &str, is_reply: bool) -> String {
    match subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if !is_reply || normalize_subject(s) != s => s.to_owned(),
        Some(s) => format!("Re: {s}"),
        None => fallback.to_owned(),
    }
}

/// Markdown → HTML, then the same sanitiser as inbound mail (an agent's raw HTML is not sent
/// as is).
pub fn markdown_html(markdown: &str) -> String {
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

/// One raw email as what Throughline stores. Never fails: unreadable bytes become a message
/// with a note (and the raw kept), a delivery failure report becomes a status report.
pub fn read(raw: &[u8], envelope_from: Option<&str>, inbox_domain: &str) -> Inbound {
    let parsed = parse_safely(raw);
    let external_id = match parsed.as_ref().ok().and_then(|p| p.message_id.clone()) {
        Some(id) => id,
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let p = match parsed {
        Ok(p) => p,
        Err(reason) => return malformed(raw, envelope_from, external_id, reason),
    };
    if let Some(bounce) = p.bounce.as_ref().filter(|b| b.is_failure()) {
        return Inbound::Status(StatusReport {
            thread_key: bounce.original_message_id.clone(),
            status: DeliveryStatus::Failed,
            reason: format!(
                "bounced{}: {}",
                bounce
                    .recipient
                    .as_deref()
                    .map(|r| format!(" by {r}"))
                    .unwrap_or_default(),
                bounce.reason
            ),
            raw: Some(raw.to_vec()),
        });
    }
    let mut inline = HashMap::new();
    let attachments = p
        .attachments
        .iter()
        .map(|a| {
            if let Some(cid) = &a.content_id {
                // Inline images are shown through the attachment route once stored; until
                // then the sanitiser keeps a reference the UI can resolve by content id.
                inline.insert(cid.clone(), format!("cid:{cid}"));
            }
            InboundAttachment {
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                data: a.data.clone(),
            }
        })
        .collect();
    let (content, mut details) = email_details(&p, &inline);
    if let Some(date) = p.date {
        // Kept as information: a client's clock is not trusted for ordering.
        details["date"] = json!(date);
    }
    let keys = thread_keys(&p, inbox_domain);
    let mut new_attributes = serde_json::Map::new();
    new_attributes.insert("mail_subject".into(), json!(p.subject));
    new_attributes.insert("source".into(), json!("email"));
    Inbound::Message(Box::new(NormalisedInbound {
        sender: sender(&p, envelope_from),
        external_id: external_id.clone(),
        content,
        content_attributes: json!({ "email": details }),
        attachments,
        media: Vec::new(),
        // Anyone can write any From header.
        evidence: Evidence::Claimed,
        thread: ThreadHints {
            reply_tokens: keys.reply_tokens,
            referenced_ids: keys.referenced_ids,
            normalized_subject: Some(keys.normalized_subject).filter(|s| !s.is_empty()),
            separate_threads: true,
            start_new: false,
            new_conversation_attributes: new_attributes,
        },
        provider_timestamp: p.date,
        raw: Some(RawOriginal {
            bytes: raw.to_vec(),
            key_at: &["email", "raw_blob_key"],
        }),
        malformed: false,
        thread_key: Some(ThreadKey {
            key: external_id,
            subject: p.subject.clone(),
        }),
    }))
}

fn sender(p: &InboundEmail, envelope_from: Option<&str>) -> InboundSender {
    let address = p
        .from
        .as_ref()
        .map(|m| m.address.clone())
        .or_else(|| envelope_from.map(str::to_owned))
        .and_then(|a| throughline_core::identity::normalize_email(&a).ok());
    InboundSender {
        source_id: address.clone(),
        name: p.from.as_ref().and_then(|m| m.name.clone()),
        email: address,
        phone: None,
    }
}

fn malformed(
    raw: &[u8],
    envelope_from: Option<&str>,
    external_id: String,
    reason: String,
) -> Inbound {
    let address = envelope_from.and_then(|a| throughline_core::identity::normalize_email(a).ok());
    let mut new_attributes = serde_json::Map::new();
    new_attributes.insert("source".into(), json!("email"));
    Inbound::Message(Box::new(NormalisedInbound {
        sender: InboundSender {
            source_id: address.clone(),
            email: address,
            ..InboundSender::default()
        },
        external_id: external_id.clone(),
        content: format!(
            "This email could not be read ({reason}). The original message is kept as received."
        ),
        content_attributes: json!({ "email": { "malformed": true, "parse_error": reason } }),
        attachments: Vec::new(),
        media: Vec::new(),
        evidence: Evidence::Claimed,
        thread: ThreadHints {
            start_new: true,
            separate_threads: true,
            new_conversation_attributes: new_attributes,
            ..ThreadHints::default()
        },
        provider_timestamp: None,
        raw: Some(RawOriginal {
            bytes: raw.to_vec(),
            key_at: &["email", "raw_blob_key"],
        }),
        malformed: true,
        thread_key: Some(ThreadKey {
            key: external_id,
            subject: None,
        }),
    }))
}

/// Parses, turning a parser panic (there should be none) into an error like any other.
fn parse_safely(raw: &[u8]) -> Result<InboundEmail, String> {
    match std::panic::catch_unwind(|| parse_inbound(raw)) {
        Ok(Ok(p))
            if p.from.is_none()
                && p.to.is_empty()
                && p.subject.is_none()
                && p.message_id.is_none()
                && p.date.is_none() =>
        {
            // The parser is lenient: bytes without a single header it knows are not an email.
            Err("malformed MIME: no email headers found".into())
        }
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(format!("malformed MIME: {e}")),
        Err(_) => Err("malformed MIME: the parser gave up".into()),
    }
}

fn addresses(list: &[Mailbox]) -> Value {
    Value::Array(list.iter().map(|m| json!(m.address)).collect())
}

/// The message text (what the customer wrote now) and `content_attributes.email` as Chatwoot
/// shapes it: subject, from/to/cc, the full text and HTML (sanitised) with the part quoted
/// from earlier mail split off.
fn email_details(p: &InboundEmail, inline: &HashMap<String, String>) -> (String, Value) {
    let options = SanitizeOptions {
        allow_remote_images: false,
        inline_images: inline.clone(),
    };
    let text = p.text_body.clone().unwrap_or_default();
    let text_split = split_text(&text);
    let html = p.html_body.as_deref().map(|h| {
        let split = split_html(h);
        json!({
            "full": sanitize_html(h, &options),
            "reply": sanitize_html(&split.visible, &options),
            "quoted": sanitize_html(&split.quoted, &options),
        })
    });
    let content = if text_split.visible.trim().is_empty() {
        text.trim().to_owned()
    } else {
        text_split.visible.trim().to_owned()
    };
    let mut attrs = json!({
        "subject": p.subject,
        "from": p.from.as_ref().map(|m| vec![m.address.clone()]).unwrap_or_default(),
        "to": addresses(&p.to),
        "cc": addresses(&p.cc),
        "message_id": p.message_id,
        "in_reply_to": p.in_reply_to.first(),
        "references": p.references,
        "text_content": {
            "full": text,
            "reply": text_split.visible,
            "quoted": text_split.quoted,
        },
        "number_of_attachments": p.attachments.len(),
        "auto_reply": p.suppress_auto_response(),
    });
    if let Some(from) = p.from.as_ref().and_then(|m| m.name.clone()) {
        attrs["from_name"] = json!(from);
    }
    if let Some(html) = html {
        attrs["html_content"] = html;
    }
    (content, attrs)
}
