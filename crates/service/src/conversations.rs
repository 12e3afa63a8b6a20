//! Starting a conversation, by whoever starts it. Who starts it is said explicitly, because it
//! decides whether the customer's open conversation continues instead.

use serde_json::{Map, Value};
use throughline_core::model::{Conversation, Inbox};
use throughline_store::conversations::{self, NewConversation};
use throughline_store::{AccountScope, Result, Tx};

use crate::threading::{self, Customer};

/// Who asks for a conversation.
#[derive(Clone, Debug)]
pub enum StartedBy {
    /// The customer, through a channel identity. A proven one continues the contact's
    /// conversation from any channel (the continuity rules); an unproven one only ever sees
    /// what it started itself, so it always gets a new one.
    Customer { proven: bool },
    /// An integration relaying the customer (a WhatsApp bridge, a bot): the continuity rules.
    Integration,
    /// An agent writing to the contact: always a new conversation, as asked.
    Agent(Box<NewConversation>),
}

#[derive(Clone, Debug)]
pub struct Start<'a> {
    pub inbox: &'a Inbox,
    pub contact_id: i64,
    pub identity_id: Option<i64>,
    pub started_by: StartedBy,
    /// Added to what a continued conversation already holds, never replacing it.
    pub custom_attributes: Option<Map<String, Value>>,
    pub additional_attributes: Option<Map<String, Value>>,
}

pub async fn start(tx: &mut Tx, scope: &AccountScope, s: Start<'_>) -> Result<Conversation> {
    let customer = Customer {
        inbox: s.inbox,
        contact_id: s.contact_id,
        identity_id: s.identity_id,
    };
    let mut additional = s.additional_attributes.filter(|a| !a.is_empty());
    let c = match s.started_by {
        StartedBy::Agent(new) => return conversations::create(tx, scope, *new).await,
        StartedBy::Customer { proven: false } => {
            threading::create(tx, scope, customer, additional.take()).await?
        }
        StartedBy::Customer { proven: true } | StartedBy::Integration => {
            threading::continue_or_start(tx, scope, customer, &[], None)
                .await?
                .0
        }
    };
    let c = match s.custom_attributes {
        Some(attrs) if !attrs.is_empty() => {
            let mut merged = c.custom_attributes.clone();
            throughline_store::accounts::merge_object(&mut merged, attrs);
            conversations::set_custom_attributes(tx, &c, merged).await?
        }
        _ => c,
    };
    // A continued conversation keeps what it had and learns the latest (the visitor's page).
    match additional {
        Some(attrs) => conversations::merge_additional_attributes(tx, &c, attrs).await,
        None => Ok(c),
    }
}
