use serde_json::Value;

use super::{InboxSummary, opt_secs, secs};
use crate::model::{Contact, Identity, Inbox};

view! {
    /// A contact (Chatwoot's `contact_list_item`, also the `meta.sender` of conversations).
    pub struct ContactView {
        pub id: i64,
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub phone_number: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub identifier: Option<String>,
        pub thumbnail: String,
        pub blocked: bool,
        /// online when the contact has a live widget session; offline otherwise.
        pub availability_status: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub additional_attributes: Value,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub custom_attributes: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_activity_at: Option<i64>,
        pub created_at: i64,
        #[serde(rename = "type")]
        pub kind: String,
        /// The contact's identities, one per inbox it has written through.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub contact_inboxes: Option<Vec<ContactInboxView>>,
    }

    /// An identity: Chatwoot's `contact_inbox`, plus the normalised address Throughline links on.
    pub struct ContactInboxView {
        pub source_id: String,
        pub inbox: InboxSummary,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub address_kind: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub address: Option<String>,
        pub hmac_verified: bool,
    }
}

impl ContactView {
    pub fn new(contact: &Contact) -> Self {
        Self {
            id: contact.id,
            name: contact.name.clone(),
            email: contact.email.clone(),
            phone_number: contact.phone_number.clone(),
            identifier: contact.identifier.clone(),
            thumbnail: super::user::avatar(&contact.avatar_url),
            blocked: contact.blocked,
            availability_status: "offline".into(),
            additional_attributes: contact.additional_attributes.clone(),
            custom_attributes: contact.custom_attributes.clone(),
            last_activity_at: opt_secs(contact.last_activity_at),
            created_at: secs(contact.created_at),
            kind: "contact".into(),
            contact_inboxes: None,
        }
    }

    pub fn with_identities(mut self, identities: &[(Identity, Inbox)]) -> Self {
        self.contact_inboxes = Some(identities.iter().map(ContactInboxView::from).collect());
        self
    }
}

impl From<&(Identity, Inbox)> for ContactInboxView {
    fn from((identity, inbox): &(Identity, Inbox)) -> Self {
        Self {
            source_id: identity.source_id.clone(),
            inbox: InboxSummary::from(inbox),
            address_kind: identity.address_kind.map(|k| k.as_str().to_owned()),
            address: identity.address.clone(),
            hmac_verified: identity.hmac_verified,
        }
    }
}

view! {
    /// A note on a contact.
    pub struct NoteView {
        pub id: i64,
        pub content: String,
        pub account_id: i64,
        pub contact_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub user: Option<super::UserSummary>,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

impl NoteView {
    pub fn new(note: &crate::model::ContactNote, user: Option<super::UserSummary>) -> Self {
        Self {
            id: note.id,
            content: note.content.clone(),
            account_id: note.account_id,
            contact_id: note.contact_id,
            user,
            created_at: secs(note.created_at),
            updated_at: secs(note.updated_at),
        }
    }
}
