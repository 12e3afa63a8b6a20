//! What the application layer hands an adapter to send, and what the adapter says happened.

/// The result of handing something to a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted; `provider_id` is the provider's id for it when it gives one.
    Accepted {
        provider_id: Option<String>,
        status: Option<u16>,
    },
    /// Worth retrying later (timeouts, 5xx, rate limits, a relay that is down).
    Temporary { reason: String, status: Option<u16> },
    /// The provider refused it for good; the reason is shown to the agent.
    Permanent { reason: String, status: Option<u16> },
}

impl SendOutcome {
    pub fn temporary(reason: impl Into<String>) -> Self {
        Self::Temporary {
            reason: reason.into(),
            status: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
            status: None,
        }
    }

    /// Why it was not accepted.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Accepted { .. } => None,
            Self::Temporary { reason, .. } | Self::Permanent { reason, .. } => Some(reason),
        }
    }
}

/// The delivery a send belongs to: its id is stable across retries so the receiving side can
/// drop duplicates.
#[derive(Clone, Debug)]
pub struct DeliveryRef {
    pub id: String,
    /// Where it goes, as the channel understands it (a callback URL, `smtp:<inbox>`).
    pub target: String,
    /// The domain event it carries, and that event's Chatwoot-shaped body, prepared once so
    /// every retry sends the same bytes.
    pub event: String,
    pub event_id: i64,
    pub payload: Vec<u8>,
}

/// A file to send with a message.
#[derive(Clone, Debug)]
pub struct OutgoingFile {
    pub file_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
    /// A signed public link to the file, for providers that fetch files themselves (Twilio,
    /// WhatsApp, Telegram, Meta).
    pub url: Option<String>,
}

/// The stored message a send carries, for channels that send messages rather than events.
#[derive(Clone, Debug)]
pub struct OutgoingMessage {
    pub message_id: i64,
    pub conversation_id: i64,
    pub conversation_uuid: String,
    pub text: String,
    /// The customer's email address and name (email).
    pub recipient: Option<(String, Option<String>)>,
    /// The customer's id in this inbox (a WhatsApp number, a Telegram chat, a page-scoped id).
    pub channel_address: Option<String>,
    /// The contact's phone (E.164), for phone channels they have not written through yet.
    pub phone: Option<String>,
    /// Chatwoot's `template_params` when the agent sent a WhatsApp template.
    pub template: Option<serde_json::Value>,
    /// The provider id of the customer message this one answers, when the agent quoted one.
    pub reply_to_external_id: Option<String>,
    /// When the customer last wrote through this inbox (Meta's tag choice).
    pub last_incoming_at: Option<i64>,
    /// The agent's display name when an agent wrote it.
    pub agent_name: Option<String>,
    pub inbox_name: String,
    /// Provider ids of the conversation's earlier messages on this channel, oldest first.
    pub thread_keys: Vec<String>,
    /// The thread's subject, where the channel has one.
    pub subject: Option<String>,
    pub attachments: Vec<OutgoingFile>,
    /// Sent without a person (greeting, out-of-office, survey): email marks it
    /// `Auto-Submitted`, so the customer's own auto-responder does not answer it.
    pub automatic: bool,
}

#[derive(Clone, Debug)]
pub struct OutboundMessage {
    pub delivery: DeliveryRef,
    /// Present when the adapter `needs_message()`.
    pub message: Option<OutgoingMessage>,
}
