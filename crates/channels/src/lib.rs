//! Channel adapters: everything that speaks a provider's protocol lives here, behind one trait.
//!
//! An adapter is one channel's whole edge, in both directions:
//!
//! ```text
//!  provider ──raw request──► verify ─► parse ─► Inbound (normalised) ──► service::inbound
//!  provider ◄──answer─────── answer ◄────────── what was stored (after the commit)
//!  provider ◄──send───────── send ◄──────────── OutboundMessage ◄─────── service::outbound
//! ```
//!
//! Adapters never touch the database: the application layer (`throughline-service`) loads what
//! a send needs, stores what a parse produced, and decides threading and identity. One folder
//! per channel: [`api`] (Chatwoot's API channel: the business's own system), [`email`]
//! (SMTP/IMAP, MIME), [`web_widget`] (website chat), [`twilio`] (SMS and WhatsApp),
//! [`whatsapp`] (Meta's Cloud API), [`telegram`] (Bot API), [`meta`] (Messenger and
//! Instagram). [`registry`] maps a channel type to its adapter.

pub mod api;
pub mod email;
mod http;
pub mod inbound;
pub mod meta;
pub mod model_api;
pub mod outbound;
pub mod outbound_guard;
mod provider_api;
pub mod registry;
pub mod telegram;
#[cfg(test)]
mod test_server;
pub mod twilio;
pub mod web_widget;
pub mod whatsapp;

pub use http::{HttpSender, PostOutcome, SignedPost, ensure_crypto_provider};
pub use inbound::{
    Inbound, InboundAttachment, MediaRef, MessageEdit, NormalisedInbound, RawInbound, Rejected,
    StatusReport, ThreadHints, Transport,
};
pub use outbound::{OutboundMessage, SendOutcome};
pub use outbound_guard::{OutboundClient, OutboundPolicy, Outgoing, Refused, SendError};
pub use provider_api::hub_challenge;

use futures::future::BoxFuture;
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::ReplyRules;

/// What to answer the provider once what it sent is stored (status code, content type, body:
/// an empty 200, a challenge echo, TwiML…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl ProviderAnswer {
    pub fn ok() -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body: b"{}".to_vec(),
        }
    }
}

/// One channel, configured for one inbox.
pub trait ChannelAdapter: Send + Sync {
    fn channel_type(&self) -> ChannelType;

    /// Checks that a raw request really comes from the provider (signature, shared secret,
    /// page origin). Runs before anything is parsed or stored.
    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected>;

    /// Reads a verified request into what Throughline stores. Never panics on bad input: what
    /// cannot be understood is refused with a reason (or, where the channel promises to keep
    /// everything, kept as a message with a note).
    fn parse(&self, request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected>;

    /// The answer the provider gets after the commit.
    fn answer(&self, _stored: usize) -> ProviderAnswer {
        ProviderAnswer::ok()
    }

    /// A provider's subscription check (`GET …?hub.mode=subscribe&hub.verify_token=…&
    /// hub.challenge=…`): the challenge is echoed when the token is the inbox's.
    fn handshake(&self, _query: &str) -> Result<ProviderAnswer, Rejected> {
        Err(Rejected::not_found(
            "this channel has no subscription handshake",
        ))
    }

    /// Downloads a file the provider holds (its size bounded by `limit` bytes).
    fn fetch_media<'a>(
        &'a self,
        _media: &'a MediaRef,
        _limit: usize,
    ) -> BoxFuture<'a, Result<InboundAttachment, String>> {
        Box::pin(async { Err("this channel does not hold files for us".to_owned()) })
    }

    /// The display name of a sender the webhook names only by id (Messenger and Instagram
    /// look it up in the profile API). Asked once, when the sender is new to the inbox; `None`
    /// leaves the contact unnamed.
    fn sender_name<'a>(&'a self, _source_id: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }

    /// Whether a send needs the stored message (text, attachments, recipient, thread keys)
    /// or only the event payload the delivery carries.
    fn needs_message(&self) -> bool;

    /// The provider-side thread key the next send will carry (an email's Message-ID), so it
    /// is recorded before the message leaves and a quick answer can never outrun it.
    fn thread_key(&self, _out: &OutboundMessage) -> Option<String> {
        None
    }

    /// Hands one message to the provider.
    fn send<'a>(&'a self, out: &'a OutboundMessage) -> BoxFuture<'a, SendOutcome>;

    /// What the agent is shown on a message that could not be sent, from the provider's
    /// last error.
    fn describe_failure(&self, _target: &str, error: &str) -> String {
        error.to_owned()
    }

    /// What a reply through this channel must respect (window, templates, size and type
    /// limits), for `reply_channels`.
    fn reply_rules(&self) -> ReplyRules;

    /// Phone calls through this channel's provider, when it carries them (a Twilio number).
    fn voice(&self) -> Option<&dyn VoiceCalls> {
        None
    }
}

/// A call the provider is asked to place: an agent's leg of a queued call.
#[derive(Clone, Debug)]
pub struct PlaceCall<'a> {
    /// E.164.
    pub to: &'a str,
    /// The number the callee sees (the inbox's).
    pub from: &'a str,
    /// Asked for TwiML when the callee picks up.
    pub url: &'a str,
    /// Told how the call went (initiated, ringing, answered, completed…).
    pub status_callback: &'a str,
    /// How long the phone rings before the provider gives up.
    pub ring_seconds: u32,
}

/// Placing and ending phone calls at the provider.
pub trait VoiceCalls: Send + Sync {
    /// The number calls come from and go to (E.164).
    fn line_number(&self) -> &str;

    /// The provider's id of the call it will place, or its refusal in words.
    fn place_call<'a>(&'a self, call: &'a PlaceCall<'a>) -> BoxFuture<'a, Result<String, String>>;

    /// Hangs up a call (ringing or answered).
    fn end_call<'a>(&'a self, provider_id: &'a str) -> BoxFuture<'a, Result<(), String>>;
}
