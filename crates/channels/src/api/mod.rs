//! Chatwoot's API channel: the business's own system is the provider. Customers' messages come
//! in through the Client API (or are relayed through the Application API); outgoing messages
//! and conversation events of the inbox are POSTed to its callback URL, signed with the
//! inbox's `hmac_token` (`X-Throughline-Signature`) and, as Chatwoot signs them, with its
//! `secret` (`X-Chatwoot-Signature`).

use futures::future::BoxFuture;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::reply_channel::ReplyRules;
use throughline_core::webhook::Outcome;

use crate::registry::ChannelDelivery;
use crate::{
    ChannelAdapter, HttpSender, Inbound, OutboundMessage, RawInbound, Rejected, SendOutcome,
    SignedPost,
};

pub struct ApiChannel {
    http: HttpSender,
    /// The inbox's `hmac_token`: signs `X-Throughline-Signature`.
    secret: String,
    /// The inbox's `secret` (Chatwoot 4.13's, apart from the `hmac_token`): signs
    /// `X-Chatwoot-Signature`.
    chatwoot_secret: String,
}

impl ApiChannel {
    pub fn new(http: HttpSender, secret: String, chatwoot_secret: String) -> Self {
        Self {
            http,
            secret,
            chatwoot_secret,
        }
    }
}

/// Chatwoot sends these to an API inbox's callback URL.
fn callback_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::MessageCreated
            | EventKind::MessageUpdated
            | EventKind::ConversationCreated
            | EventKind::ConversationUpdated
            | EventKind::ConversationStatusChanged
            | EventKind::ConversationTypingOn
            | EventKind::ConversationTypingOff
    )
}

pub(crate) fn delivery_for(inbox: &Inbox, event: &StoredEvent) -> Option<ChannelDelivery> {
    let url = inbox.webhook_url.as_deref()?;
    if !callback_event(event.kind) {
        return None;
    }
    let outgoing = matches!(
        event.payload["message_type"].as_str(),
        Some("outgoing" | "template")
    );
    Some(ChannelDelivery {
        target: url.to_owned(),
        message_id: (event.kind == EventKind::MessageCreated && outgoing)
            .then(|| event.payload["id"].as_i64())
            .flatten(),
    })
}

impl ChannelAdapter for ApiChannel {
    fn channel_type(&self) -> ChannelType {
        ChannelType::Api
    }

    /// The Client API authenticates by the inbox identifier and, with identity verification,
    /// the contact's `identifier_hash`: both are checked where the request is read.
    fn verify(&self, _request: &RawInbound<'_>) -> Result<(), Rejected> {
        Ok(())
    }

    /// Customers' messages arrive as the Client API's JSON and multipart bodies, read by the
    /// HTTP layer; there is no provider webhook to parse.
    fn parse(&self, _request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        Err(Rejected {
            status: 404,
            reason: "API inboxes receive messages through the Client API".into(),
        })
    }

    fn needs_message(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, out: &'a OutboundMessage) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
                .unwrap_or(0);
            let d = &out.delivery;
            let sent = self
                .http
                .post(SignedPost {
                    url: &d.target,
                    body: &d.payload,
                    secret: Some(&self.secret),
                    chatwoot_secret: Some(&self.chatwoot_secret),
                    event: &d.event,
                    delivery_id: &d.id,
                    event_id: Some(d.event_id),
                    timestamp_secs: now,
                })
                .await;
            let status = sent.status;
            let reason = || sent.error.clone().unwrap_or_default();
            match sent.outcome {
                Outcome::Delivered => SendOutcome::Accepted {
                    provider_id: None,
                    status,
                },
                Outcome::Retry => SendOutcome::Temporary {
                    reason: reason(),
                    status,
                },
                Outcome::GiveUp => SendOutcome::Permanent {
                    reason: reason(),
                    status,
                },
            }
        })
    }

    fn describe_failure(&self, target: &str, error: &str) -> String {
        format!("callback to {target} failed: {error}")
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(ChannelType::Api)
    }
}
