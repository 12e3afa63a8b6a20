//! Row → record mappings shared by several modules.

use throughline_core::conversation::{Priority, Status};
use throughline_core::identity::AddressKind;
use throughline_core::message::{ContentType, DeliveryStatus, MessageType, SenderType};
use throughline_core::model::{Attachment, Contact, Conversation, Identity, Message};

use crate::error::{Result, StoreError};
use crate::rows::RowExt;

pub(crate) const CONTACT_COLUMNS: &str = "id, account_id, name, email, phone_number, identifier, \
     avatar_url, blocked, custom_attributes, additional_attributes, last_activity_at, created_at, updated_at";

pub(crate) fn contact(row: &sqlx::any::AnyRow) -> Result<Contact> {
    Ok(Contact {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        phone_number: row.opt_text("phone_number")?,
        identifier: row.opt_text("identifier")?,
        avatar_url: row.opt_text("avatar_url")?,
        blocked: row.flag("blocked")?,
        custom_attributes: row.json("custom_attributes")?,
        additional_attributes: row.json("additional_attributes")?,
        last_activity_at: row.opt_int("last_activity_at")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) const IDENTITY_COLUMNS: &str = "id, account_id, contact_id, inbox_id, source_id, \
     address_kind, address, hmac_verified, address_proven, pubsub_token, created_at";

pub(crate) fn identity(row: &sqlx::any::AnyRow) -> Result<Identity> {
    Ok(Identity {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        contact_id: row.int("contact_id")?,
        inbox_id: row.int("inbox_id")?,
        source_id: row.text("source_id")?,
        address_kind: row.opt_parsed("address_kind", AddressKind::parse)?,
        address: row.opt_text("address")?,
        hmac_verified: row.flag("hmac_verified")?,
        address_proven: row.flag("address_proven")?,
        pubsub_token: row.text("pubsub_token")?,
        created_at: row.int("created_at")?,
    })
}

pub(crate) const CONVERSATION_COLUMNS: &str = "id, account_id, display_id, uuid, contact_id, \
     inbox_id, contact_inbox_id, status, snoozed_until, priority, assignee_id, team_id, \
     custom_attributes, additional_attributes, waiting_since, first_reply_created_at, \
     last_activity_at, agent_last_seen_at, assignee_last_seen_at, contact_last_seen_at, muted, \
     previous_conversation_id, resolved_at, created_at, updated_at";

pub(crate) fn conversation(row: &sqlx::any::AnyRow) -> Result<Conversation> {
    Ok(Conversation {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        display_id: row.int("display_id")?,
        uuid: row.text("uuid")?,
        contact_id: row.int("contact_id")?,
        inbox_id: row.int("inbox_id")?,
        identity_id: row.opt_int("contact_inbox_id")?,
        status: row.parsed("status", Status::parse)?,
        snoozed_until: row.opt_int("snoozed_until")?,
        priority: match row.opt_text("priority")? {
            None => None,
            Some(p) => {
                Priority::parse_optional(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        },
        assignee_id: row.opt_int("assignee_id")?,
        team_id: row.opt_int("team_id")?,
        custom_attributes: row.json("custom_attributes")?,
        additional_attributes: row.json("additional_attributes")?,
        waiting_since: row.opt_int("waiting_since")?,
        first_reply_created_at: row.opt_int("first_reply_created_at")?,
        last_activity_at: row.int("last_activity_at")?,
        agent_last_seen_at: row.opt_int("agent_last_seen_at")?,
        assignee_last_seen_at: row.opt_int("assignee_last_seen_at")?,
        contact_last_seen_at: row.opt_int("contact_last_seen_at")?,
        muted: row.flag("muted")?,
        previous_conversation_id: row.opt_int("previous_conversation_id")?,
        resolved_at: row.opt_int("resolved_at")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, account_id, conversation_id, inbox_id, \
     contact_inbox_id, message_type, content, content_type, content_attributes, \
     additional_attributes, private, status, external_error, source_id, sender_type, sender_id, \
     created_at, updated_at";

pub(crate) fn message(row: &sqlx::any::AnyRow) -> Result<Message> {
    let code = row.int("message_type")?;
    Ok(Message {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        conversation_id: row.int("conversation_id")?,
        inbox_id: row.int("inbox_id")?,
        identity_id: row.opt_int("contact_inbox_id")?,
        message_type: MessageType::from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("message_type {code}")))?,
        content: row.opt_text("content")?,
        content_type: row.parsed("content_type", ContentType::parse)?,
        content_attributes: row.json("content_attributes")?,
        additional_attributes: row.json("additional_attributes")?,
        private: row.flag("private")?,
        status: row.parsed("status", DeliveryStatus::parse)?,
        external_error: row.opt_text("external_error")?,
        source_id: row.opt_text("source_id")?,
        sender_type: row.opt_parsed("sender_type", SenderType::parse)?,
        sender_id: row.opt_int("sender_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) const ATTACHMENT_COLUMNS: &str = "id, account_id, message_id, file_type, content_type, \
     file_name, byte_size, blob_key, external_url, created_at";

pub(crate) fn attachment(row: &sqlx::any::AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        message_id: row.int("message_id")?,
        file_type: row.text("file_type")?,
        content_type: row.opt_text("content_type")?,
        file_name: row.opt_text("file_name")?,
        byte_size: row.int("byte_size")?,
        blob_key: row.opt_text("blob_key")?,
        external_url: row.opt_text("external_url")?,
        created_at: row.int("created_at")?,
    })
}
