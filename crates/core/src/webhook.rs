//! Outgoing webhook rules: signatures, retry schedule, and how a receiver's answer is judged.

use crate::Millis;
use crate::crypto::{ServerKey, hmac_sha256_hex};
use crate::event::EventKind;

/// The signature sent with every delivery: `sha256=` + hex HMAC-SHA256 over
/// `"{timestamp}.{body}"` with the webhook's secret. Binding the timestamp lets a receiver
/// refuse replays older than its tolerance.
pub fn signature(secret: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut signed = timestamp_secs.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &signed))
}

/// An API inbox's signing secret (Chatwoot's `Channel::Api#secret`, shown to administrators as
/// the inbox's `secret`): what `X-Chatwoot-Signature` of its callbacks is made with. Chatwoot
/// 4.13 keeps it apart from the inbox's `hmac_token` (contacts' identity verification), so one
/// can be handed to the callback's receiver without the other. Derived from the server key and
/// the inbox's own random identifier: stable, nothing stored, and the database alone reveals
/// none.
pub fn api_inbox_secret(key: &ServerKey, inbox_identifier: &str) -> String {
    key.keyed_hash("webhook-secret/api-inbox", inbox_identifier)
}

/// An agent bot's signing secret (Chatwoot's `AgentBot#secret`, apart from its access token),
/// for the events delivered to its `outgoing_url`; derived like [`api_inbox_secret`] from the
/// bot's id and creation time.
pub fn agent_bot_secret(key: &ServerKey, bot_id: i64, created_at: Millis) -> String {
    key.keyed_hash(
        "webhook-secret/agent-bot",
        &format!("{bot_id}/{created_at}"),
    )
}

/// The event an inbox's agent bot is sent for an outbox event, by Chatwoot's name
/// (`AgentBotListener`): messages (not activity lines), the conversation opened or resolved,
/// and the widget opened. `None`: the bot is not told.
pub fn agent_bot_event(kind: EventKind, payload: &serde_json::Value) -> Option<&'static str> {
    match kind {
        EventKind::MessageCreated | EventKind::MessageUpdated
            if payload["message_type"] != "activity" =>
        {
            Some(kind.as_str())
        }
        EventKind::ConversationStatusChanged => match payload["status"].as_str() {
            Some("open") => Some("conversation_opened"),
            Some("resolved") => Some("conversation_resolved"),
            _ => None,
        },
        EventKind::WebwidgetTriggered => Some(kind.as_str()),
        _ => None,
    }
}

/// How an agent bot's answer is judged (Chatwoot's `AgentBots::WebhookJob`): a bot that is
/// busy (429) or failing (5xx) or unreachable is asked again; any other refusal is final, since
/// asking again would get the same answer while the customer waits.
pub fn judge_agent_bot_status(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        429 | 500..=599 => Outcome::Retry,
        _ => Outcome::GiveUp,
    }
}

/// What a receiver's reply means for a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again later (network error, timeout, 408, 429, 5xx, and other non-2xx answers).
    Retry,
    /// The receiver says it will never accept this (410 Gone).
    GiveUp,
}

pub fn judge_status(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        410 => Outcome::GiveUp,
        _ => Outcome::Retry,
    }
}

/// Exponential back-off with a cap and a bounded number of attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay_ms: Millis,
    pub max_delay_ms: Millis,
}

impl Default for RetryPolicy {
    /// 10 attempts: 10 s, 20 s, 40 s … capped at 1 h — about 4 h 30 min in all.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay_ms: 10_000,
            max_delay_ms: 3_600_000,
        }
    }
}

impl RetryPolicy {
    /// An agent bot is asked three times, about three seconds apart (Chatwoot's `retry_on …
    /// wait: 3.seconds, attempts: 3`): a customer is waiting for its answer, and after the
    /// last attempt the conversation goes to the team instead.
    pub fn agent_bot() -> Self {
        Self {
            max_attempts: 3,
            base_delay_ms: 3_000,
            max_delay_ms: 3_000,
        }
    }

    /// Delay before the next attempt after `attempts_made` failed attempts, or `None` when
    /// the delivery has used all its attempts. `jitter_seed` spreads retries of many
    /// deliveries (use a hash of the delivery id) by up to +25 %.
    pub fn next_delay(&self, attempts_made: u32, jitter_seed: u64) -> Option<Millis> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let exponent = attempts_made.saturating_sub(1).min(30);
        let raw = self.base_delay_ms.saturating_mul(1_i64 << exponent);
        let capped = raw.min(self.max_delay_ms);
        let jitter = (capped / 4).max(1);
        let extra = i64::try_from(jitter_seed % jitter.unsigned_abs()).unwrap_or(0);
        Some(capped + extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_binds_timestamp_and_body() {
        let s = signature("secret", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("sha256="));
        assert_eq!(s.len(), "sha256=".len() + 64);
        assert_ne!(s, signature("secret", 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(s, signature("secret", 1_700_000_000, b"{\"a\":2}"));
        assert_ne!(s, signature("other", 1_700_000_000, b"{\"a\":1}"));
        // Reference: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            s,
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn derived_secrets_are_stable_and_apart() {
        let key = ServerKey::generate();
        let a = api_inbox_secret(&key, "inbox-one");
        assert_eq!(a, api_inbox_secret(&key, "inbox-one"));
        assert_ne!(a, api_inbox_secret(&key, "inbox-two"));
        assert_ne!(a, api_inbox_secret(&ServerKey::generate(), "inbox-one"));
        assert_eq!(a.len(), 64);
        let b = agent_bot_secret(&key, 7, 1_700_000_000_000);
        assert_eq!(b, agent_bot_secret(&key, 7, 1_700_000_000_000));
        assert_ne!(b, agent_bot_secret(&key, 7, 1_700_000_000_001));
        assert_ne!(b, agent_bot_secret(&key, 8, 1_700_000_000_000));
    }

    #[test]
    fn receiver_answers() {
        assert_eq!(judge_status(200), Outcome::Delivered);
        assert_eq!(judge_status(204), Outcome::Delivered);
        assert_eq!(judge_status(500), Outcome::Retry);
        assert_eq!(judge_status(429), Outcome::Retry);
        assert_eq!(judge_status(404), Outcome::Retry);
        assert_eq!(judge_status(410), Outcome::GiveUp);
    }

    #[test]
    fn agent_bots_hear_messages_and_openings() {
        use serde_json::json;
        let incoming = json!({"message_type": "incoming"});
        assert_eq!(
            agent_bot_event(EventKind::MessageCreated, &incoming),
            Some("message_created")
        );
        assert_eq!(
            agent_bot_event(
                EventKind::MessageCreated,
                &json!({"message_type": "activity"})
            ),
            None
        );
        assert_eq!(
            agent_bot_event(
                EventKind::ConversationStatusChanged,
                &json!({"status": "open"})
            ),
            Some("conversation_opened")
        );
        assert_eq!(
            agent_bot_event(
                EventKind::ConversationStatusChanged,
                &json!({"status": "resolved"})
            ),
            Some("conversation_resolved")
        );
        assert_eq!(
            agent_bot_event(
                EventKind::ConversationStatusChanged,
                &json!({"status": "snoozed"})
            ),
            None
        );
        assert_eq!(agent_bot_event(EventKind::ContactUpdated, &incoming), None);
        assert_eq!(judge_agent_bot_status(204), Outcome::Delivered);
        assert_eq!(judge_agent_bot_status(429), Outcome::Retry);
        assert_eq!(judge_agent_bot_status(503), Outcome::Retry);
        assert_eq!(judge_agent_bot_status(404), Outcome::GiveUp);
        let p = RetryPolicy::agent_bot();
        assert_eq!(p.next_delay(1, 0), Some(3_000));
        let jittered = p.next_delay(2, 1_234).unwrap();
        assert!((3_000..=3_750).contains(&jittered), "{jittered}");
        assert_eq!(p.next_delay(3, 0), None);
    }

    #[test]
    fn back_off_grows_then_caps_then_stops() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay_ms: 1_000,
            max_delay_ms: 5_000,
        };
        let delays: Vec<_> = (1..=5).map(|n| p.next_delay(n, 0)).collect();
        assert_eq!(
            delays,
            vec![Some(1_000), Some(2_000), Some(4_000), Some(5_000), None]
        );
        let jittered = p.next_delay(2, 123_456).unwrap();
        assert!((2_000..=2_500).contains(&jittered), "{jittered}");
    }
}
