//! Website chat. Visitors write through the Client API from the widget on the business's site;
//! agents' replies reach them over the visitor's socket, so there is nothing to send to a
//! provider. What the channel checks is where a request comes from: a page of one of the
//! inbox's allowed domains (or any site when none are set).

use futures::future::BoxFuture;
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::reply_channel::ReplyRules;
use throughline_core::widget;

use crate::{ChannelAdapter, Inbound, OutboundMessage, RawInbound, Rejected, SendOutcome};

pub struct WebWidgetChannel {
    allowed_domains: Vec<String>,
}

impl WebWidgetChannel {
    pub fn new(inbox: &Inbox) -> Self {
        Self {
            allowed_domains: widget::domains_of(inbox),
        }
    }

    /// Whether a page with this `Origin` may use the inbox (requests without one — servers,
    /// SDKs — are not pages and are not limited by it).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        widget::origin_allowed(origin, &self.allowed_domains)
    }
}

impl ChannelAdapter for WebWidgetChannel {
    fn channel_type(&self) -> ChannelType {
        ChannelType::WebWidget
    }

    fn verify(&self, request: &RawInbound<'_>) -> Result<(), Rejected> {
        match request
            .headers
            .get(reqwest::header::ORIGIN)
            .map(|o| o.to_str().unwrap_or_default())
        {
            Some(origin) if !self.origin_allowed(origin) => Err(Rejected {
                status: 403,
                reason: "this website may not use the inbox".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Visitors' messages arrive as the Client API's bodies, read by the HTTP layer.
    fn parse(&self, _request: &RawInbound<'_>) -> Result<Vec<Inbound>, Rejected> {
        Err(Rejected {
            status: 404,
            reason: "website inboxes receive messages through the Client API".into(),
        })
    }

    fn needs_message(&self) -> bool {
        false
    }

    /// Replies are on the visitor's socket as soon as they are committed.
    fn send<'a>(&'a self, _out: &'a OutboundMessage) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async {
            SendOutcome::Accepted {
                provider_id: None,
                status: None,
            }
        })
    }

    fn reply_rules(&self) -> ReplyRules {
        ReplyRules::for_channel(ChannelType::WebWidget)
    }
}
