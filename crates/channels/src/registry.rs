//! The one place that knows which adapter serves which channel. Adding a channel is a line in
//! each function here and a folder of its own.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use throughline_core::email::EmailChannel;
use throughline_core::event::StoredEvent;
use throughline_core::model::{ChannelType, Inbox};

use crate::{ChannelAdapter, HttpSender, api, email, web_widget};

/// Settings an adapter needs beyond the inbox row, loaded by the application layer.
#[derive(Clone, Debug)]
pub enum ChannelConfig {
    /// Everything is on the inbox row.
    Inbox,
    Email(Box<EmailChannel>),
}

/// Shared clients adapters send with.
#[derive(Clone, Debug)]
pub struct Clients {
    pub http: HttpSender,
    /// How long one SMTP exchange may take.
    pub smtp_timeout: Duration,
}

impl Clients {
    /// `http_timeout` bounds a callback or webhook POST; one SMTP exchange may take 20 s, so a
    /// dead relay holds a sender slot no longer than that.
    pub fn new(http_timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: HttpSender::new(http_timeout)?,
            smtp_timeout: Duration::from_secs(20),
        })
    }
}

/// Whether a channel needs settings beyond the inbox row (so the caller loads them).
pub fn needs_config(channel: ChannelType) -> bool {
    channel == ChannelType::Email
}

/// The adapter of one inbox. `None` for channel types no adapter serves yet.
pub fn adapter_for(
    inbox: &Inbox,
    config: ChannelConfig,
    clients: &Clients,
) -> Option<Arc<dyn ChannelAdapter>> {
    match (inbox.channel_type, config) {
        (ChannelType::Api, _) => Some(Arc::new(api::ApiChannel::new(
            clients.http.clone(),
            inbox.hmac_token.clone(),
        ))),
        (ChannelType::WebWidget, _) => Some(Arc::new(web_widget::WebWidgetChannel::new(inbox))),
        (ChannelType::Email, ChannelConfig::Email(settings)) => Some(Arc::new(
            email::EmailAdapter::new(*settings, clients.smtp_timeout, inbox.hmac_token.clone()),
        )),
        _ => None,
    }
}

/// What a channel sends for an outbox event of its inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDelivery {
    pub target: String,
    /// The message it carries, so a final failure is shown on it.
    pub message_id: Option<i64>,
}

/// The delivery (if any) an event of `inbox` asks of its channel: the API channel's callback,
/// an email to send. Website chat replies reach the visitor over their socket instead.
pub fn delivery_for(inbox: &Inbox, event: &StoredEvent) -> Option<ChannelDelivery> {
    match inbox.channel_type {
        ChannelType::Api => api::delivery_for(inbox, event),
        ChannelType::Email => email::delivery_for(inbox, event),
        _ => None,
    }
}

/// A public message an agent, bot or integration sent (not the customer's, not a note).
pub(crate) fn public_outgoing(payload: &Value) -> bool {
    matches!(
        payload["message_type"].as_str(),
        Some("outgoing" | "template")
    ) && !payload["private"].as_bool().unwrap_or(false)
}
