use serde_json::Value;

use super::{AgentBotSummary, ContactView, UserSummary, secs};
use crate::model::{Attachment, Message};

view! {
    /// A message as the API and the realtime stream show it (Chatwoot's `push_event_data`).
    pub struct MessageView {
        pub id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub content: Option<String>,
        pub account_id: i64,
        /// The inbox (channel) this message travelled through.
        pub inbox_id: i64,
        /// The conversation's display id.
        pub conversation_id: i64,
        /// 0 incoming, 1 outgoing, 2 activity, 3 template.
        pub message_type: i64,
        pub content_type: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub content_attributes: Value,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub additional_attributes: Value,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub external_source_ids: Value,
        pub private: bool,
        /// queued, sent, delivered, read or failed.
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sender_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sender_id: Option<i64>,
        pub created_at: i64,
        pub updated_at: i64,
        pub conversation: MessageConversationRef,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub attachments: Vec<AttachmentView>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sender: Option<SenderView>,
    }

    /// The few conversation fields a message carries along.
    pub struct MessageConversationRef {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub assignee_id: Option<i64>,
        pub unread_count: i64,
        pub last_activity_at: i64,
        pub contact_inbox: SourceRef,
    }

    pub struct SourceRef {
        pub source_id: String,
    }

    /// An attachment (Chatwoot's attachment `push_event_data`).
    pub struct AttachmentView {
        pub id: i64,
        pub message_id: i64,
        pub account_id: i64,
        /// image, audio, video, file, location or fallback.
        pub file_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub extension: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub content_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub file_name: Option<String>,
        pub data_url: String,
        pub thumb_url: String,
        pub file_size: i64,
    }
}

/// Who wrote a message: a contact, an agent or a bot.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SenderView {
    Contact(Box<ContactView>),
    User(UserSummary),
    AgentBot(AgentBotSummary),
}

/// Conversation facts a message view needs.
#[derive(Clone, Debug)]
pub struct MessageContext {
    pub display_id: i64,
    pub assignee_id: Option<i64>,
    pub unread_count: i64,
    pub last_activity_at: crate::Millis,
    pub source_id: String,
}

/// A message's `content_attributes` as Chatwoot shows them: with the provider's
/// `external_error` when sending failed (Chatwoot stores it there).
pub fn content_attributes(message: &Message) -> Value {
    let mut attributes = message.content_attributes.clone();
    if let (Some(err), Value::Object(map)) = (&message.external_error, &mut attributes) {
        map.insert("external_error".into(), Value::String(err.clone()));
    }
    attributes
}

impl MessageView {
    pub fn new(
        message: &Message,
        ctx: &MessageContext,
        sender: Option<SenderView>,
        attachments: Vec<AttachmentView>,
    ) -> Self {
        let content_attributes = content_attributes(message);
        Self {
            id: message.id,
            content: message.content.clone(),
            account_id: message.account_id,
            inbox_id: message.inbox_id,
            conversation_id: ctx.display_id,
            message_type: message.message_type.code(),
            content_type: message.content_type.as_str().into(),
            content_attributes,
            additional_attributes: message.additional_attributes.clone(),
            external_source_ids: serde_json::json!({}),
            private: message.private,
            status: message.status.as_str().into(),
            source_id: message.source_id.clone(),
            sender_type: message.sender_type.map(|s| s.as_str().to_owned()),
            sender_id: message.sender_id,
            created_at: secs(message.created_at),
            updated_at: secs(message.updated_at),
            conversation: MessageConversationRef {
                assignee_id: ctx.assignee_id,
                unread_count: ctx.unread_count,
                last_activity_at: secs(ctx.last_activity_at),
                contact_inbox: SourceRef {
                    source_id: ctx.source_id.clone(),
                },
            },
            attachments,
            sender,
        }
    }
}

impl AttachmentView {
    pub fn new(a: &Attachment, data_url: String) -> Self {
        let extension = a
            .file_name
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, ext)| ext.to_lowercase());
        Self {
            id: a.id,
            message_id: a.message_id,
            account_id: a.account_id,
            file_type: a.file_type.clone(),
            extension,
            content_type: a.content_type.clone(),
            file_name: a.file_name.clone(),
            thumb_url: if a.file_type == "image" {
                data_url.clone()
            } else {
                String::new()
            },
            data_url,
            file_size: a.byte_size,
        }
    }
}
