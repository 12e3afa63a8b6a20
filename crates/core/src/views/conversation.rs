use serde_json::Value;

use super::{AgentView, ContactView, MessageView, TeamView, opt_secs, secs};
use crate::model::Conversation;

view! {
    /// A conversation as the API lists and shows it (Chatwoot's `conversation` + `meta`).
    pub struct ConversationView {
        /// The display id, unique per account; Chatwoot clients use it in URLs.
        pub id: i64,
        pub account_id: i64,
        pub uuid: String,
        pub inbox_id: i64,
        /// open, resolved, pending or snoozed.
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub snoozed_until: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub priority: Option<String>,
        pub can_reply: bool,
        pub muted: bool,
        pub labels: Vec<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub additional_attributes: Value,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub custom_attributes: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub agent_last_seen_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub assignee_last_seen_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub contact_last_seen_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub first_reply_created_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub waiting_since: Option<i64>,
        pub last_activity_at: i64,
        /// Chatwoot sends the last activity time here, as an integer.
        pub timestamp: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub unread_count: i64,
        /// The latest message, as Chatwoot's list shows it.
        pub messages: Vec<MessageView>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_non_activity_message: Option<Box<MessageView>>,
        /// Throughline: the conversation (display id) this one continues — the customer wrote
        /// again after the re-open window, or an agent split this one out of it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub previous_conversation_id: Option<i64>,
        /// Chatwoot's: the SLA policy measuring the conversation, and how it stands.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sla_policy_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub applied_sla: Option<super::AppliedSlaView>,
        pub meta: ConversationMeta,
    }

    pub struct ConversationMeta {
        pub sender: ContactView,
        /// The channel type of the inbox the conversation started in.
        pub channel: String,
        /// Rendered like `GET /agents` rows, as Chatwoot does.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub assignee: Option<AgentView>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub team: Option<TeamView>,
        pub hmac_verified: bool,
    }
}

/// Everything a conversation view is made of, loaded by the store.
#[derive(Clone, Debug)]
pub struct ConversationParts {
    pub conversation: Conversation,
    pub contact: ContactView,
    pub channel: String,
    pub hmac_verified: bool,
    pub assignee: Option<AgentView>,
    pub team: Option<TeamView>,
    pub labels: Vec<String>,
    pub last_message: Option<MessageView>,
    pub last_non_activity_message: Option<MessageView>,
    pub unread_count: i64,
    /// The display id of `conversation.previous_conversation_id`.
    pub previous_display_id: Option<i64>,
}

impl From<ConversationParts> for ConversationView {
    fn from(p: ConversationParts) -> Self {
        let c = p.conversation;
        Self {
            id: c.display_id,
            account_id: c.account_id,
            uuid: c.uuid,
            inbox_id: c.inbox_id,
            status: c.status.as_str().into(),
            snoozed_until: opt_secs(c.snoozed_until),
            priority: c.priority.map(|p| p.as_str().to_owned()),
            can_reply: true,
            muted: c.muted,
            labels: p.labels,
            additional_attributes: c.additional_attributes,
            custom_attributes: c.custom_attributes,
            agent_last_seen_at: opt_secs(c.agent_last_seen_at),
            assignee_last_seen_at: opt_secs(c.assignee_last_seen_at),
            contact_last_seen_at: opt_secs(c.contact_last_seen_at),
            first_reply_created_at: opt_secs(c.first_reply_created_at),
            waiting_since: opt_secs(c.waiting_since),
            last_activity_at: secs(c.last_activity_at),
            timestamp: secs(c.last_activity_at),
            created_at: secs(c.created_at),
            updated_at: secs(c.updated_at),
            unread_count: p.unread_count,
            messages: p.last_message.into_iter().collect(),
            last_non_activity_message: p.last_non_activity_message.map(Box::new),
            previous_conversation_id: p.previous_display_id,
            sla_policy_id: None,
            applied_sla: None,
            meta: ConversationMeta {
                sender: p.contact,
                channel: p.channel,
                assignee: p.assignee,
                team: p.team,
                hmac_verified: p.hmac_verified,
            },
        }
    }
}
