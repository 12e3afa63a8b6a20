//! Channel adapters: everything that speaks a provider's protocol lives here, behind one trait.
//!
//! An adapter turns an outbound message into a provider call and reports what happened. The
//! first channel is Chatwoot's API channel, whose "provider" is the business's own system: an
//! outgoing message is POSTed, signed, to the inbox's callback URL. Account webhooks use the
//! same signed POST.

pub mod api;
mod http;

use std::future::Future;

pub use http::{HttpSender, PostOutcome, SignedPost};
use throughline_core::model::ChannelType;

/// The result of handing something to a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted; `provider_id` is the provider's id for it when it gives one.
    Accepted {
        provider_id: Option<String>,
        status: Option<u16>,
    },
    /// Worth retrying later (timeouts, 5xx, rate limits).
    Temporary { reason: String, status: Option<u16> },
    /// The provider refused it for good; the reason is shown to the agent.
    Permanent { reason: String, status: Option<u16> },
}

/// Something to hand to a provider.
#[derive(Clone, Debug)]
pub struct Outbound<'a> {
    /// Where it goes (callback URL, recipient address…), as the adapter understands it.
    pub target: &'a str,
    /// The adapter's own wire format, prepared once so every retry sends the same bytes.
    pub payload: &'a [u8],
    /// Stable across retries so the receiving side can drop duplicates.
    pub idempotency_key: &'a str,
    /// The domain event this send carries.
    pub event: &'a str,
    pub event_id: Option<i64>,
}

/// One channel's outbound side.
pub trait ChannelAdapter: Send + Sync {
    fn channel_type(&self) -> ChannelType;

    fn send(&self, outbound: Outbound<'_>) -> impl Future<Output = SendOutcome> + Send;
}
