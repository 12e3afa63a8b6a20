//! What a provider sent, before and after its adapter read it.

use reqwest::header::HeaderMap;
use serde_json::Value;
use throughline_core::linking::Evidence;
use throughline_core::message::DeliveryStatus;

/// How a request reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Our own SMTP receiver (recipients checked) or IMAP polling of the inbox's own mailbox.
    Mail,
    /// The shared provider webhook entry, `POST /webhooks/inboxes/{inbox_identifier}`: anyone
    /// on the internet can call it, so the adapter must check who did.
    Webhook,
}

/// A provider's request as it arrived: an HTTP webhook, an SMTP transaction's DATA or an IMAP
/// fetch (no headers, the raw bytes as `body`).
#[derive(Clone, Copy, Debug)]
pub struct RawInbound<'a> {
    pub transport: Transport,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The SMTP envelope sender, when the request came over SMTP.
    pub envelope_from: Option<&'a str>,
    /// The URL the provider called, as it sees it (`THROUGHLINE_PUBLIC_URL` + path + query):
    /// Twilio signs it.
    pub url: Option<&'a str>,
}

impl<'a> RawInbound<'a> {
    /// A webhook request.
    pub fn webhook(headers: &'a HeaderMap, body: &'a [u8], url: &'a str) -> Self {
        Self {
            transport: Transport::Webhook,
            headers,
            body,
            envelope_from: None,
            url: Some(url),
        }
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why an adapter refused a request; the status is what the provider is answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejected {
    pub status: u16,
    pub reason: String,
}

impl Rejected {
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self {
            status: 401,
            reason: reason.into(),
        }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Self {
            status: 422,
            reason: reason.into(),
        }
    }

    pub fn too_large(reason: impl Into<String>) -> Self {
        Self {
            status: 413,
            reason: reason.into(),
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self {
            status: 403,
            reason: reason.into(),
        }
    }

    /// Nothing here by that name (answered without saying which names exist).
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self {
            status: 404,
            reason: reason.into(),
        }
    }
}

/// One thing a request carried.
#[derive(Clone, Debug)]
pub enum Inbound {
    Message(Box<NormalisedInbound>),
    /// A delivery report for something we sent (a bounce, a provider status callback).
    Status(StatusReport),
    /// The customer changed a message they sent earlier (Telegram's `edited_message`).
    Edit(MessageEdit),
}

/// A customer's change to one of their messages: the new text replaces the shown one, the
/// earlier text is kept with the message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEdit {
    /// The provider's id of the edited message (the `external_id` it arrived with).
    pub external_id: String,
    pub content: String,
    /// When the provider says the edit was made (Unix seconds).
    pub edited_at: Option<i64>,
}

/// Who wrote, as far as the channel can tell. None of it is proof of who the person is: the
/// application layer decides what links to an existing contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboundSender {
    /// The channel's id for the sender (an email address, a phone number, a chat id).
    pub source_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A file that came with a message; the application layer stores the bytes.
#[derive(Clone, Debug)]
pub struct InboundAttachment {
    pub file_name: Option<String>,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// What the message says about the conversation it belongs to, strongest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadHints {
    /// Conversation tokens the sender wrote to (`reply+<token>@…`).
    pub reply_tokens: Vec<String>,
    /// Provider ids of earlier messages this one answers (Message-IDs, quoted message ids).
    pub referenced_ids: Vec<String>,
    /// A subject, normalised, that an open conversation of the same contact may share.
    pub normalized_subject: Option<String>,
    /// Conversations started in inboxes of this channel are separate threads: a message
    /// that answers none of them starts a new one instead of continuing them.
    pub separate_threads: bool,
    /// Nothing can be read of the thread (an unreadable message): always a new conversation.
    pub start_new: bool,
    /// Recorded on a conversation this message starts (`mail_subject`, `source`).
    pub new_conversation_attributes: serde_json::Map<String, Value>,
}

/// A file the provider holds for us: the adapter downloads it (`ChannelAdapter::fetch_media`)
/// once the message is known not to be a repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRef {
    /// The provider's handle: a media id (WhatsApp, Telegram `file_id`) or a URL (Twilio, Meta).
    pub handle: String,
    pub content_type: Option<String>,
    pub file_name: Option<String>,
}

/// The provider's own copy of a message, kept as received.
#[derive(Clone, Debug)]
pub struct RawOriginal {
    pub bytes: Vec<u8>,
    /// Where in `content_attributes` the stored copy's key is written (object keys from the
    /// top, e.g. `["email", "raw_blob_key"]`).
    pub key_at: &'static [&'static str],
}

/// One inbound message in the form every channel shares.
#[derive(Clone, Debug)]
pub struct NormalisedInbound {
    pub sender: InboundSender,
    /// The provider's id for the message: a second one with the same id in the same inbox is
    /// a duplicate (a provider's retry), answered as already stored.
    pub external_id: String,
    pub content: String,
    /// The channel's details, shaped as Chatwoot does (`{"email": {...}}`).
    pub content_attributes: Value,
    pub attachments: Vec<InboundAttachment>,
    /// Files still at the provider, downloaded before the message is stored.
    pub media: Vec<MediaRef>,
    /// What the sender's addresses are worth: a provider that delivers from a phone number it
    /// verified (WhatsApp, SMS) proves it; an email From header proves nothing.
    pub evidence: Evidence,
    pub thread: ThreadHints,
    /// When the provider says it was written (kept as information: arrival orders messages).
    pub provider_timestamp: Option<i64>,
    pub raw: Option<RawOriginal>,
    /// The message could not be read; it is kept with a note and its raw original.
    pub malformed: bool,
    /// The provider-side key later messages will reference to answer this one (an email's
    /// Message-ID), with the subject they may share.
    pub thread_key: Option<ThreadKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadKey {
    pub key: String,
    pub subject: Option<String>,
}

/// A provider's word on something we sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// The thread key the provider names (the original's Message-ID, the provider message id).
    pub thread_key: Option<String>,
    pub status: DeliveryStatus,
    /// Shown on the message when it failed.
    pub reason: String,
    pub raw: Option<Vec<u8>>,
}
