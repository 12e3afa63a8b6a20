//! Domain events: what the outbox records for every state change.
//!
//! Names follow Chatwoot's webhook events so the same name travels from the outbox to the
//! realtime hub and to outgoing webhooks unchanged.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ConversationCreated,
    ConversationUpdated,
    ConversationStatusChanged,
    MessageCreated,
    MessageUpdated,
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    ContactMerged,
    ConversationTypingOn,
    ConversationTypingOff,
    WebwidgetTriggered,
    /// An outbound message must leave through its channel (API callback, later email, SMS…).
    OutboundRequested,
    /// Another system posted a business event (order, payment, delivery…) on a contact.
    BusinessEventCreated,
    /// An agent merged one conversation of a customer into another.
    ConversationMerged,
    /// An agent split messages out of a conversation into a new one.
    ConversationSplit,
    /// An agent ran a macro on a conversation (its webhook actions' deliveries hang on it).
    MacroExecuted,
    /// A conversation's SLA metric has used up its warning share (Throughline's).
    SlaWarning,
    /// A conversation's SLA metric passed its threshold (Throughline's).
    SlaBreached,
    /// An agent has a new notification (Chatwoot's `notification.created`): only that
    /// agent's tabs hear it.
    NotificationCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 20] = [
        Self::ConversationCreated,
        Self::ConversationUpdated,
        Self::ConversationStatusChanged,
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::ContactCreated,
        Self::ContactUpdated,
        Self::ContactDeleted,
        Self::ContactMerged,
        Self::ConversationTypingOn,
        Self::ConversationTypingOff,
        Self::WebwidgetTriggered,
        Self::OutboundRequested,
        Self::BusinessEventCreated,
        Self::ConversationMerged,
        Self::ConversationSplit,
        Self::MacroExecuted,
        Self::SlaWarning,
        Self::SlaBreached,
        Self::NotificationCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationCreated => "conversation_created",
            Self::ConversationUpdated => "conversation_updated",
            Self::ConversationStatusChanged => "conversation_status_changed",
            Self::MessageCreated => "message_created",
            Self::MessageUpdated => "message_updated",
            Self::ContactCreated => "contact_created",
            Self::ContactUpdated => "contact_updated",
            Self::ContactDeleted => "contact_deleted",
            Self::ContactMerged => "contact_merged",
            Self::ConversationTypingOn => "conversation_typing_on",
            Self::ConversationTypingOff => "conversation_typing_off",
            Self::WebwidgetTriggered => "webwidget_triggered",
            Self::OutboundRequested => "outbound_requested",
            Self::BusinessEventCreated => "business_event_created",
            Self::ConversationMerged => "conversation_merged",
            Self::ConversationSplit => "conversation_split",
            Self::MacroExecuted => "macro_executed",
            Self::SlaWarning => "sla_warning",
            Self::SlaBreached => "sla_breached",
            Self::NotificationCreated => "notification_created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Events an account webhook may subscribe to (Chatwoot's list, and the SLA alerts).
    pub fn is_webhook_event(self) -> bool {
        matches!(
            self,
            Self::ConversationCreated
                | Self::ConversationUpdated
                | Self::ConversationStatusChanged
                | Self::MessageCreated
                | Self::MessageUpdated
                | Self::ContactCreated
                | Self::ContactUpdated
                | Self::ConversationTypingOn
                | Self::ConversationTypingOff
                | Self::WebwidgetTriggered
                | Self::SlaWarning
                | Self::SlaBreached
        )
    }
}

/// Who changed a conversation (`{"user_id": n}`), in a `conversation_updated` payload, for the
/// consumers that must not tell people what they did themselves. Internal: stripped with
/// [`crate::visibility::AUDIENCE_KEY`] before a payload leaves.
pub const CHANGED_BY_KEY: &str = "changed_by";

/// Removes the keys only Throughline's own consumers read from a payload about to leave
/// (webhooks, sockets).
pub fn strip_internal_keys(map: &mut serde_json::Map<String, serde_json::Value>) {
    map.remove(crate::visibility::AUDIENCE_KEY);
    map.remove(CHANGED_BY_KEY);
}

/// The user who made a change, when a person did.
pub fn changed_by(payload: &serde_json::Value) -> Option<i64> {
    payload.get(CHANGED_BY_KEY)?.get("user_id")?.as_i64()
}

/// An event about to be written to the outbox, in the same transaction as its change.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub account_id: i64,
    pub conversation_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub inbox_id: Option<i64>,
    /// The Chatwoot-shaped body, as delivered to webhooks (without the `event` key).
    pub payload: serde_json::Value,
}

/// An event read back from the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub kind: EventKind,
    pub account_id: i64,
    pub conversation_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub inbox_id: Option<i64>,
    pub payload: serde_json::Value,
    pub created_at: crate::Millis,
    /// The automation rules whose actions caused it, oldest first (empty: not automation).
    pub automation_chain: Vec<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert!(seen.insert(k.as_str()));
        }
    }

    #[test]
    fn internal_events_are_not_webhook_events() {
        assert!(!EventKind::OutboundRequested.is_webhook_event());
        assert!(!EventKind::ContactMerged.is_webhook_event());
        assert!(EventKind::MessageCreated.is_webhook_event());
    }
}

/// A consumer's position in the outbox: events are read in (transaction order, id) order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub tx_order: i64,
    pub event_id: i64,
}
