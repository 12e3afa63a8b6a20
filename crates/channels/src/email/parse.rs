//! Inbound MIME → [`InboundEmail`].
//!
//! `mail-parser` does the MIME work (charsets, RFC 2047/2231, transfer encodings) and is
//! best-effort on malformed input; this module picks out what the channel needs and classifies
//! the message (auto-reply, mailing list, delivery report). The raw bytes stay with the caller,
//! so nothing here has to be lossless.

use mail_parser::{
    Address, Encoding, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart,
    MimeHeaders, PartType,
};
use thiserror::Error;

use crate::email::{Mailbox, strip_angle_brackets};

/// What the email channel keeps from one received message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundEmail {
    /// The `Message-ID` without angle brackets. `None` when the sender left it out: we never
    /// invent one, because an invented id could never match a later `In-Reply-To`.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids (usually one), brackets stripped.
    pub in_reply_to: Vec<String>,
    /// `References` ids in header order (oldest first), brackets stripped.
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    /// `Delivered-To` addresses added by the receiving MTA: the only place a reply address can
    /// show up when the customer replied via Bcc or a forwarding rule rewrote `To`.
    pub delivered_to: Vec<String>,
    /// The subject with RFC 2047 encoded words decoded.
    pub subject: Option<String>,
    /// `Date` as Unix seconds (UTC); `None` when absent or unparseable.
    pub date: Option<i64>,
    /// The text/plain body (several inline text parts are joined by a newline; line endings
    /// are `\n`). `None` when the message has no text part: HTML is not converted here, the
    /// caller decides how to show it.
    pub text_body: Option<String>,
    /// The text/html body, unsanitised: run it through [`crate::email::sanitize`] before display.
    pub html_body: Option<String>,
    pub attachments: Vec<Attachment>,
    /// An automatic message (`Auto-Submitted` other than `no`, `X-Autoreply`, `X-Autorespond`,
    /// `Precedence: bulk|list|junk`): it must never trigger an automatic answer (RFC 3834),
    /// otherwise two auto-responders ping-pong forever.
    pub auto_submitted: bool,
    /// `List-Id`, when the message came through a mailing list. Kept apart from
    /// [`Self::auto_submitted`] because many teams route `support@` through a group (Google
    /// Groups adds `List-Id`) and those messages are real customer mail.
    pub list_id: Option<String>,
    /// Set when the message is a delivery status notification (RFC 3464).
    pub bounce: Option<Bounce>,
}

impl InboundEmail {
    /// Whether an automatic answer (acknowledgement, out-of-office, CSAT) must be suppressed:
    /// automatic mail, list mail and bounces never get one.
    pub fn suppress_auto_response(&self) -> bool {
        self.auto_submitted || self.list_id.is_some() || self.bounce.is_some()
    }
}

/// One attachment or inline part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// From `Content-Disposition: filename` or `Content-Type: name` (RFC 2231/2047 decoded);
    /// calendar invites and forwarded messages get a default (`invite.ics`, `<subject>.eml`).
    pub file_name: Option<String>,
    /// `type/subtype`, lower-cased.
    pub content_type: String,
    /// `Content-ID` without brackets: the key that `cid:` URLs in the HTML body refer to.
    pub content_id: Option<String>,
    /// Shown inside the body (inline disposition, or a `Content-ID` without disposition) rather
    /// than listed as a download.
    pub inline: bool,
    /// Decoded bytes. Text parts are re-encoded as UTF-8; forwarded messages are their raw
    /// RFC 5322 bytes.
    pub data: Vec<u8>,
}

/// A delivery status notification about a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The `Message-ID` of the message that bounced, from an `Original-Message-ID` field or the
    /// returned message/headers part: the key to find our outgoing message.
    pub original_message_id: Option<String>,
    /// The failed recipient (`Final-Recipient`, else `Original-Recipient`), lower-cased.
    pub recipient: Option<String>,
    /// `Action` (`failed`, `delayed`, `delivered`, `relayed`, `expanded`), lower-cased.
    pub action: Option<String>,
    /// `Status`, e.g. `5.1.1`.
    pub status: Option<String>,
    /// What an agent should read: the remote server's `Diagnostic-Code` when present, else the
    /// status.
    pub reason: String,
}

impl Bounce {
    /// Whether the report says delivery failed for good. Delay warnings (`Action: delayed`)
    /// must not mark a message failed; a report without `Action` counts when its status is 5.x.
    pub fn is_failure(&self) -> bool {
        match self.action.as_deref() {
            Some(action) => action == "failed",
            None => self.status.as_deref().is_some_and(|s| s.starts_with('5')),
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("no message headers were found")]
    NoHeaders,
    #[error("the MIME parser failed on this message")]
    ParserFailed,
}

/// Parses a raw RFC 5322 message.
///
/// Malformed input gives a best-effort [`InboundEmail`] or an error, never a panic: on top of
/// `mail-parser`'s own best-effort promise, a panic inside it is caught and reported as
/// [`ParseError::ParserFailed`] so one hostile message cannot take down the receiver.
pub fn parse_inbound(raw: &[u8]) -> Result<InboundEmail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    std::panic::catch_unwind(|| parse_message(raw)).unwrap_or(Err(ParseError::ParserFailed))
}

fn parse_message(raw: &[u8]) -> Result<InboundEmail, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NoHeaders)?;
    let root = message.parts.first().ok_or(ParseError::NoHeaders)?;
    let headers = root.headers.as_slice();
    if headers.is_empty() {
        return Err(ParseError::NoHeaders);
    }

    let subject = first_value(headers, HeaderName::Subject)
        .and_then(HeaderValue::as_text)
        .map(|s| s.trim().to_owned());
    let attachments = attachments(&message, raw);
    let bounce = is_delivery_report(root).then(|| bounce(&message)).flatten();

    Ok(InboundEmail {
        message_id: first_value(headers, HeaderName::MessageId)
            .and_then(|v| message_ids(v).into_iter().next()),
        in_reply_to: all_values(headers, HeaderName::InReplyTo)
            .flat_map(message_ids)
            .collect(),
        references: all_values(headers, HeaderName::References)
            .flat_map(message_ids)
            .collect(),
        from: first_value(headers, HeaderName::From)
            .and_then(HeaderValue::as_address)
            .and_then(|a| mailboxes(a).into_iter().next()),
        to: address_list(headers, HeaderName::To),
        cc: address_list(headers, HeaderName::Cc),
        reply_to: address_list(headers, HeaderName::ReplyTo),
        delivered_to: raw_values(headers, raw, "Delivered-To")
            .map(|v| strip_angle_brackets(&v).to_lowercase())
            .filter(|v| !v.is_empty())
            .collect(),
        subject,
        date: first_value(headers, HeaderName::Date)
            .and_then(HeaderValue::as_datetime)
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp()),
        text_body: body_text(&message, &message.text_body, false),
        html_body: body_text(&message, &message.html_body, true),
        attachments,
        auto_submitted: is_auto_submitted(headers, raw),
        list_id: raw_values(headers, raw, "List-Id")
            .next()
            .filter(|v| !v.is_empty()),
        bounce,
    })
}

fn first_value<'a, 'x>(
    headers: &'a [Header<'x>],
    name: HeaderName<'_>,
) -> Option<&'a HeaderValue<'x>> {
    all_values(headers, name).next()
}

fn all_values<'a, 'x>(
    headers: &'a [Header<'x>],
    name: HeaderName<'_>,
) -> impl Iterator<Item = &'a HeaderValue<'x>> {
    headers
        .iter()
        .filter(move |h| h.name == name)
        .map(|h| &h.value)
}

/// The unparsed values of a header, unfolded and trimmed. Used for headers `mail-parser` has
/// no dedicated type for (or types in a way that does not fit, like `List-Id`).
fn raw_values<'a>(
    headers: &'a [Header<'_>],
    raw: &'a [u8],
    name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(|bytes| {
            String::from_utf8_lossy(bytes)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(|id| strip_angle_brackets(id).to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

fn address_list(headers: &[Header<'_>], name: HeaderName<'_>) -> Vec<Mailbox> {
    all_values(headers, name)
        .filter_map(HeaderValue::as_address)
        .flat_map(mailboxes)
        .collect()
}

fn mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address
        .iter()
        .filter_map(|addr| {
            let email = addr.address()?.trim().to_lowercase();
            if email.is_empty() {
                return None;
            }
            let name = addr
                .name()
                .map(str::trim)
                .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&email))
                .map(str::to_owned);
            Some(Mailbox {
                address: email,
                name,
            })
        })
        .collect()
}

/// Joins the body parts of one kind, with line endings normalised to `\n` (the wire's CRLF
/// means nothing to the store or the UI). `mail-parser` lists an HTML part under text bodies (and
/// the reverse) when the other alternative is missing; those are skipped so each field holds
/// only what the sender actually wrote in that format.
fn body_text(message: &Message<'_>, ids: &[u32], html: bool) -> Option<String> {
    let parts: Vec<&str> = ids
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .filter_map(|part| match (&part.body, html) {
            (PartType::Html(text), true) | (PartType::Text(text), false) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n").replace("\r\n", "\n"))
}

fn attachments(message: &Message<'_>, raw: &[u8]) -> Vec<Attachment> {
    message
        .attachments
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .filter_map(|part| attachment(part, raw))
        .collect()
}

fn attachment(part: &MessagePart<'_>, raw: &[u8]) -> Option<Attachment> {
    let data: Vec<u8> = match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
        PartType::Text(text) | PartType::Html(text) => text.as_bytes().to_vec(),
        PartType::Message(nested) => nested_message_bytes(part, nested, raw).to_vec(),
        PartType::Multipart(_) => return None,
    };
    let content_type = content_type_of(part);
    let content_id = part
        .content_id()
        .map(|id| strip_angle_brackets(id).to_owned())
        .filter(|id| !id.is_empty());
    let disposition = part.content_disposition();
    let inline = match disposition {
        Some(d) => d.is_inline(),
        None => content_id.is_some(),
    };
    let file_name = part
        .attachment_name()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .or_else(|| default_file_name(&content_type, part));
    Some(Attachment {
        file_name,
        content_type,
        content_id,
        inline,
        data,
    })
}

/// The bytes of a forwarded message/rfc822 part. Unencoded nested messages share the outer
/// buffer, so the part's own offsets select them; encoded ones were decoded into their own.
fn nested_message_bytes<'a>(
    part: &MessagePart<'_>,
    nested: &'a Message<'_>,
    raw: &'a [u8],
) -> &'a [u8] {
    let own = nested.raw_message();
    if part.encoding != Encoding::None {
        return own;
    }
    raw.get(part.offset_body as usize..part.offset_end as usize)
        .filter(|slice| !slice.is_empty())
        .unwrap_or(own)
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
            None => ct.ctype().to_lowercase(),
        },
        None if matches!(part.body, PartType::Text(_)) => "text/plain".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
}

fn default_file_name(content_type: &str, part: &MessagePart<'_>) -> Option<String> {
    match content_type {
        "text/calendar" | "application/ics" => Some("invite.ics".to_owned()),
        "message/rfc822" | "message/global" => {
            let subject = part
                .message()
                .and_then(|m| m.parts.first())
                .and_then(|p| first_value(&p.headers, HeaderName::Subject))
                .and_then(HeaderValue::as_text)
                .map(|s| s.replace(['/', '\\', '\r', '\n'], " ").trim().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "message".to_owned());
            Some(format!("{subject}.eml"))
        }
        _ => None,
    }
}

fn is_auto_submitted(headers: &[Header<'_>], raw: &[u8]) -> bool {
    let first_token = |value: &str| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let auto_submitted = raw_values(headers, raw, "Auto-Submitted")
        .any(|v| !v.is_empty() && first_token(&v) != "no");
    let autoreply = ["X-Autoreply", "X-Autorespond", "X-Autoresponder"]
        .iter()
        .any(|name| raw_values(headers, raw, name).any(|v| first_token(&v) != "no"));
    let precedence = raw_values(headers, raw, "Precedence").any(|v| {
        matches!(
            first_token(&v).as_str(),
            "bulk" | "list" | "junk" | "auto_reply"
        )
    });
    auto_submitted || autoreply || precedence
}

fn is_delivery_report(root: &MessagePart<'_>) -> bool {
    root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_none_or(|t| t.to_ascii_lowercase().contains("delivery-status"))
    })
}

/// Reads an RFC 3464 report: the per-recipient fields of the `message/delivery-status` part and
/// the id of the returned message.
fn bounce(message: &Message<'_>) -> Option<Bounce> {
    let status_part = message.parts.iter().find(|p| {
        content_type_of(p).ends_with("delivery-status") // message/(global-)delivery-status
    })?;
    let fields = DsnFields::parse(&String::from_utf8_lossy(status_part.contents()));
    let recipient_block = fields
        .blocks()
        .find(|b| field(b, "action").is_some_and(|a| a.eq_ignore_ascii_case("failed")))
        .or_else(|| {
            fields
                .blocks()
                .find(|b| field(b, "final-recipient").is_some())
        });

    let recipient = recipient_block.and_then(|b| {
        field(b, "final-recipient")
            .or_else(|| field(b, "original-recipient"))
            .map(|v| strip_type_prefix(v).to_lowercase())
    });
    let action = recipient_block
        .and_then(|b| field(b, "action"))
        .map(str::to_ascii_lowercase);
    let status = recipient_block
        .and_then(|b| field(b, "status"))
        .map(|s| s.split_whitespace().next().unwrap_or_default().to_owned())
        .filter(|s| !s.is_empty());
    let diagnostic = recipient_block
        .and_then(|b| field(b, "diagnostic-code"))
        .map(|d| strip_type_prefix(d).to_owned())
        .filter(|d| !d.is_empty());
    let reason = match (&diagnostic, &status) {
        (Some(diagnostic), _) => diagnostic.clone(),
        (None, Some(status)) => format!("delivery status {status}"),
        (None, None) => "delivery failed".to_owned(),
    };
    let original_message_id = fields
        .all()
        .find_map(|(name, value)| {
            name.eq_ignore_ascii_case("original-message-id")
                .then(|| strip_angle_brackets(value).to_owned())
        })
        .filter(|id| !id.is_empty())
        .or_else(|| returned_message_id(message));

    Some(Bounce {
        original_message_id,
        recipient,
        action,
        status,
        reason,
    })
}

/// The `Message-ID` of the returned original: a message/rfc822 part or a text/rfc822-headers
/// part (headers only).
fn returned_message_id(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(nested) => nested
            .parts
            .first()
            .and_then(|p| first_value(&p.headers, HeaderName::MessageId))
            .and_then(|v| message_ids(v).into_iter().next()),
        PartType::Text(text) if content_type_of(part).ends_with("rfc822-headers") => {
            let headers_only = MessageParser::default().parse_headers(text.as_bytes())?;
            let root = headers_only.parts.first()?;
            first_value(&root.headers, HeaderName::MessageId)
                .and_then(|v| message_ids(v).into_iter().next())
        }
        _ => None,
    })
}

fn field<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `rfc822; user@example.com` → `user@example.com`; `smtp; 550 …` → `550 …`.
fn strip_type_prefix(value: &str) -> &str {
    value.split_once(';').map_or(value, |(_, rest)| rest).trim()
}

/// The blocks of a delivery-status body: the per-message block, then one per recipient.
struct DsnFields {
    message: Vec<(String, String)>,
    recipients: Vec<Vec<(String, String)>>,
}

impl DsnFields {
    fn parse(body: &str) -> Self {
        let mut blocks: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for line in body.lines() {
            let Some(block) = blocks.last_mut() else {
                break;
            };
            if line.trim().is_empty() {
                if !block.is_empty() {
                    blocks.push(Vec::new());
                }
            } else if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = block.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                block.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        blocks.retain(|b| !b.is_empty());
        let mut blocks = blocks.into_iter();
        let message = blocks.next().unwrap_or_default();
        Self {
            message,
            recipients: blocks.collect(),
        }
    }

    fn blocks(&self) -> impl Iterator<Item = &[(String, String)]> {
        std::iter::once(self.message.as_slice()).chain(self.recipients.iter().map(Vec::as_slice))
    }

    fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.blocks()
            .flatten()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }
}
