//! Signed JSON POSTs, shared by account webhooks and the API channel.

use std::time::Duration;

use throughline_core::webhook::{Outcome, judge_status, signature};

use crate::outbound_guard::{OutboundClient, OutboundPolicy, SendError};

/// Installs ring as rustls' crypto provider once per process (reqwest is built without a
/// default provider to keep a single TLS stack).
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone, Debug)]
pub struct HttpSender {
    client: OutboundClient,
    user_agent: String,
}

/// A POST to make: body bytes are sent exactly as given, so a retry is byte-identical.
#[derive(Clone, Debug)]
pub struct SignedPost<'a> {
    pub url: &'a str,
    pub body: &'a [u8],
    /// Signs `X-Throughline-Signature`.
    pub secret: Option<&'a str>,
    /// Signs `X-Chatwoot-Signature`: the secret Chatwoot would sign this kind of delivery with
    /// (an account webhook's `secret`, an API inbox's or an agent bot's own `secret`). Without
    /// one, Chatwoot sends only `X-Chatwoot-Delivery`, and so do we.
    pub chatwoot_secret: Option<&'a str>,
    pub event: &'a str,
    pub delivery_id: &'a str,
    /// The outbox event this delivery carries (for receivers that want to deduplicate by it).
    pub event_id: Option<i64>,
    pub timestamp_secs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostOutcome {
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// What went wrong, for the delivery log: the status line and the start of the answer, or
    /// the network error.
    pub error: Option<String>,
}

impl HttpSender {
    /// `trusted_urls`: the operator's provider base URLs, allowed whatever their address
    /// (see [`OutboundClient::new`]).
    pub fn new(
        timeout: Duration,
        policy: &OutboundPolicy,
        trusted_urls: &[&str],
    ) -> Result<Self, String> {
        Ok(Self {
            client: OutboundClient::new(timeout, policy, trusted_urls)?,
            user_agent: format!("Throughline-Webhooks/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// The guarded client itself, for provider APIs (same timeouts, no redirects, the same
    /// address check).
    pub fn client(&self) -> &OutboundClient {
        &self.client
    }

    pub async fn post(&self, p: SignedPost<'_>) -> PostOutcome {
        let mut req = self
            .client
            .post(p.url)
            .header("content-type", "application/json")
            .header("user-agent", self.user_agent.as_str())
            .header("x-throughline-event", p.event)
            .header("x-throughline-delivery", p.delivery_id)
            .header("x-throughline-timestamp", p.timestamp_secs.to_string());
        if let Some(id) = p.event_id {
            req = req.header("x-throughline-event-id", id.to_string());
        }
        if let Some(secret) = p.secret {
            let sig = signature(secret, p.timestamp_secs, p.body);
            req = req.header("x-throughline-signature", sig);
        }
        // Chatwoot's own headers (lib/webhooks/trigger.rb, `request_headers`), so receivers
        // written for Chatwoot verify and deduplicate our deliveries unchanged: the delivery
        // id, the same on every retry; and, with a secret, the Unix time of this attempt and
        // `sha256=` + hex HMAC-SHA256 over "{timestamp}.{body}" — the scheme of our own
        // signature, with the secret Chatwoot would use.
        req = req.header("x-chatwoot-delivery", p.delivery_id);
        if let Some(secret) = p.chatwoot_secret {
            req = req
                .header("x-chatwoot-timestamp", p.timestamp_secs.to_string())
                .header(
                    "x-chatwoot-signature",
                    signature(secret, p.timestamp_secs, p.body),
                );
        }
        match req.body(p.body.to_vec()).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let outcome = judge_status(status);
                let error = if outcome == Outcome::Delivered {
                    None
                } else {
                    let text = resp.text().await.unwrap_or_default();
                    let snippet: String = text.chars().take(300).collect();
                    Some(format!("HTTP {status}: {snippet}"))
                };
                PostOutcome {
                    outcome,
                    status: Some(status),
                    error,
                }
            }
            // Refused before connecting: nothing was sent, and trying again would be refused
            // the same way until the operator allows the host.
            Err(SendError::Refused(r)) => PostOutcome {
                outcome: Outcome::GiveUp,
                status: None,
                error: Some(r.to_string()),
            },
            Err(SendError::Http(e)) => PostOutcome {
                outcome: Outcome::Retry,
                status: None,
                error: Some(describe(&e)),
            },
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out waiting for the receiver".into()
    } else if e.is_connect() {
        format!("could not connect: {e}")
    } else {
        e.to_string()
    }
}
