use serde_json::Value;

use super::{AttachmentView, opt_secs, secs};
use crate::model::{Contact, Conversation, Identity, Message};

view! {
    /// A contact as the Client API returns it.
    pub struct PublicContactView {
        pub id: i64,
        /// The identity's id in this inbox; the Client API calls it `contact_identifier`.
        pub source_id: String,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub phone_number: Option<String>,
        pub pubsub_token: String,
    }

    pub struct PublicConversationView {
        pub id: i64,
        pub uuid: String,
        pub inbox_id: i64,
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub contact_last_seen_at: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub agent_last_seen_at: Option<i64>,
        pub messages: Vec<PublicMessageView>,
        pub contact: PublicContactRef,
    }

    pub struct PublicContactRef {
        pub id: i64,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub phone_number: Option<String>,
    }

    /// A public (non-private) message as the customer sees it.
    pub struct PublicMessageView {
        pub id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub content: Option<String>,
        pub message_type: i64,
        pub content_type: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub content_attributes: Value,
        pub created_at: i64,
        pub conversation_id: i64,
        pub status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
        pub attachments: Vec<AttachmentView>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sender: Option<PublicSender>,
    }

    /// What a customer may know about who wrote: a name and an avatar, never an email.
    pub struct PublicSender {
        pub id: i64,
        pub name: String,
        pub available_name: String,
        pub avatar_url: String,
        #[serde(rename = "type")]
        pub kind: String,
    }
}

impl PublicContactView {
    pub fn new(contact: &Contact, identity: &Identity) -> Self {
        Self {
            id: contact.id,
            source_id: identity.source_id.clone(),
            name: contact.name.clone(),
            email: contact.email.clone(),
            phone_number: contact.phone_number.clone(),
            pubsub_token: identity.pubsub_token.clone(),
        }
    }
}

impl PublicConversationView {
    pub fn new(c: &Conversation, contact: &Contact, messages: Vec<PublicMessageView>) -> Self {
        Self {
            id: c.display_id,
            uuid: c.uuid.clone(),
            inbox_id: c.inbox_id,
            status: c.status.as_str().into(),
            contact_last_seen_at: opt_secs(c.contact_last_seen_at),
            agent_last_seen_at: opt_secs(c.agent_last_seen_at),
            messages,
            contact: PublicContactRef {
                id: contact.id,
                name: contact.name.clone(),
                email: contact.email.clone(),
                phone_number: contact.phone_number.clone(),
            },
        }
    }
}

impl PublicMessageView {
    pub fn new(
        m: &Message,
        display_id: i64,
        sender: Option<PublicSender>,
        attachments: Vec<AttachmentView>,
    ) -> Self {
        Self {
            id: m.id,
            content: m.content.clone(),
            message_type: m.message_type.code(),
            content_type: m.content_type.as_str().into(),
            content_attributes: m.content_attributes.clone(),
            created_at: secs(m.created_at),
            conversation_id: display_id,
            status: m.status.as_str().into(),
            source_id: m.source_id.clone(),
            attachments,
            sender,
        }
    }
}
