//! The one place that knows which adapter serves which channel. Adding a channel is a line in
//! each function here and a folder of its own.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use throughline_core::email::EmailChannel;
use throughline_core::event::StoredEvent;
use throughline_core::messaging::ProviderSettings;
use throughline_core::model::{ChannelType, Inbox};

use crate::{ChannelAdapter, HttpSender, api, email, meta, telegram, twilio, web_widget, whatsapp};

/// Settings an adapter needs beyond the inbox row, loaded by the application layer.
#[derive(Clone, Debug)]
pub enum ChannelConfig {
    /// Everything is on the inbox row.
    Inbox,
    Email(Box<EmailChannel>),
    Provider(Box<ProviderSettings>),
    /// The secret Chatwoot signs this inbox's callbacks with (`X-Chatwoot-Signature`; the API
    /// channel's own `secret`, derived by the application layer from the server key).
    SigningSecret(String),
}

/// Where the providers' APIs are and what the instance tells them. Tests point the URLs at the
/// fakes in testkit.
#[derive(Clone, Debug)]
pub struct ProviderEndpoints {
    /// `https://api.twilio.com`
    pub twilio_api: String,
    /// `https://graph.facebook.com/v22.0` (WhatsApp Cloud, Messenger, Instagram)
    pub meta_graph: String,
    /// `https://api.telegram.org`
    pub telegram_api: String,
    /// The Meta app's secret, for inboxes that were not given their own.
    pub meta_app_secret: Option<String>,
    /// The handshake token for Messenger's and Instagram's shared webhook paths.
    pub meta_verify_token: Option<String>,
    /// Throughline's public URL: status callback URLs and links to attachments we send.
    pub public_url: String,
}

impl Default for ProviderEndpoints {
    fn default() -> Self {
        Self {
            twilio_api: "https://api.twilio.com".into(),
            meta_graph: "https://graph.facebook.com/v22.0".into(),
            telegram_api: "https://api.telegram.org".into(),
            meta_app_secret: None,
            meta_verify_token: None,
            public_url: "http://127.0.0.1:3000".into(),
        }
    }
}

/// Shared clients adapters send with.
#[derive(Clone, Debug)]
pub struct Clients {
    pub http: HttpSender,
    /// How long one SMTP exchange may take.
    pub smtp_timeout: Duration,
    pub providers: ProviderEndpoints,
}

impl Clients {
    /// `http_timeout` bounds a callback, webhook POST or provider API call; one SMTP exchange
    /// may take 20 s, so a dead relay holds a sender slot no longer than that. Every HTTP
    /// request goes through one guarded client (`outbound_guard`): `outbound` is the
    /// instance's policy, and the providers' configured base URLs are trusted (their host and
    /// port), unlike URLs that arrive inside providers' webhooks.
    pub fn new(
        http_timeout: Duration,
        providers: ProviderEndpoints,
        outbound: &crate::OutboundPolicy,
    ) -> Result<Self, String> {
        let trusted = [
            providers.twilio_api.as_str(),
            providers.meta_graph.as_str(),
            providers.telegram_api.as_str(),
        ];
        Ok(Self {
            http: HttpSender::new(http_timeout, outbound, &trusted)?,
            smtp_timeout: Duration::from_secs(20),
            providers,
        })
    }
}

/// What a channel's adapter needs loaded besides the inbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Inbox,
    Email,
    Provider,
    /// The inbox row and its callbacks' signing secret.
    SigningSecret,
}

pub fn needs_config(channel: ChannelType) -> Needs {
    match channel {
        ChannelType::Email => Needs::Email,
        ChannelType::Sms
        | ChannelType::Whatsapp
        | ChannelType::Telegram
        | ChannelType::FacebookPage
        | ChannelType::Instagram => Needs::Provider,
        ChannelType::Api => Needs::SigningSecret,
        ChannelType::WebWidget | ChannelType::Voice => Needs::Inbox,
    }
}

/// The adapter of one inbox. `None` for channel types no adapter serves yet.
pub fn adapter_for(
    inbox: &Inbox,
    config: ChannelConfig,
    clients: &Clients,
) -> Option<Arc<dyn ChannelAdapter>> {
    match (inbox.channel_type, config) {
        (ChannelType::Api, ChannelConfig::SigningSecret(secret)) => Some(Arc::new(
            api::ApiChannel::new(clients.http.clone(), inbox.hmac_token.clone(), secret),
        )),
        (ChannelType::WebWidget, _) => Some(Arc::new(web_widget::WebWidgetChannel::new(inbox))),
        (ChannelType::Email, ChannelConfig::Email(settings)) => Some(Arc::new(
            email::EmailAdapter::new(*settings, clients.smtp_timeout, inbox.hmac_token.clone()),
        )),
        (_, ChannelConfig::Provider(settings)) => {
            let http = clients.http.client().clone();
            let p = &clients.providers;
            Some(match *settings {
                ProviderSettings::Twilio(s) => Arc::new(twilio::TwilioAdapter::new(s, http, p)),
                ProviderSettings::WhatsappCloud(s) => {
                    Arc::new(whatsapp::WhatsappAdapter::new(s, http, p))
                }
                ProviderSettings::Telegram(s) => {
                    Arc::new(telegram::TelegramAdapter::new(s, http, p))
                }
                ProviderSettings::FacebookPage(s) => {
                    Arc::new(meta::MetaAdapter::new(meta::Surface::Messenger, s, http, p))
                }
                ProviderSettings::Instagram(s) => {
                    Arc::new(meta::MetaAdapter::new(meta::Surface::Instagram, s, http, p))
                }
            })
        }
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
        ChannelType::Sms
        | ChannelType::Whatsapp
        | ChannelType::Telegram
        | ChannelType::FacebookPage
        | ChannelType::Instagram => message_delivery(inbox, event),
        ChannelType::WebWidget | ChannelType::Voice => None,
    }
}

/// A public message an agent, bot or integration sent (not the customer's, not a note).
pub(crate) fn public_outgoing(payload: &Value) -> bool {
    matches!(
        payload["message_type"].as_str(),
        Some("outgoing" | "template")
    ) && !payload["private"].as_bool().unwrap_or(false)
}

/// A messaging channel sends each public message an agent, bot or integration writes through
/// its inbox (the event's inbox; `<channel>:<inbox id>` names the target in the delivery log).
fn message_delivery(inbox: &Inbox, event: &StoredEvent) -> Option<ChannelDelivery> {
    use throughline_core::event::EventKind;
    if event.kind != EventKind::MessageCreated || !public_outgoing(&event.payload) {
        return None;
    }
    Some(ChannelDelivery {
        target: format!("{}:{}", inbox.channel_type.short_name(), inbox.id),
        message_id: event.payload["id"].as_i64(),
    })
}
