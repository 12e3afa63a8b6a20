//! Chatwoot's API channel: the business's own system is the provider. Outgoing messages and
//! conversation events of the inbox are POSTed to its callback URL, signed with the inbox's
//! secret.

use throughline_core::model::ChannelType;
use throughline_core::webhook::Outcome;

use crate::{ChannelAdapter, HttpSender, Outbound, SendOutcome, SignedPost};

pub struct ApiChannel {
    http: HttpSender,
    secret: String,
}

impl ApiChannel {
    pub fn new(http: HttpSender, secret: String) -> Self {
        Self { http, secret }
    }
}

impl ChannelAdapter for ApiChannel {
    fn channel_type(&self) -> ChannelType {
        ChannelType::Api
    }

    async fn send(&self, outbound: Outbound<'_>) -> SendOutcome {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        let out = self
            .http
            .post(SignedPost {
                url: outbound.target,
                body: outbound.payload,
                secret: Some(&self.secret),
                event: outbound.event,
                delivery_id: outbound.idempotency_key,
                event_id: outbound.event_id,
                timestamp_secs: now,
            })
            .await;
        let status = out.status;
        match out.outcome {
            Outcome::Delivered => SendOutcome::Accepted {
                provider_id: None,
                status,
            },
            Outcome::Retry => SendOutcome::Temporary {
                reason: out.error.unwrap_or_default(),
                status,
            },
            Outcome::GiveUp => SendOutcome::Permanent {
                reason: out.error.unwrap_or_default(),
                status,
            },
        }
    }
}
