//! Which conversation a customer's message belongs to — the one place that decides between
//! continuing a conversation and starting one.
//!
//! In order: a reply token (`reply+<uuid>@…`) → a referenced provider id (In-Reply-To,
//! References) → a shared subject on an open conversation active in the last 30 days → the
//! account's continuity rules (continue the contact's open conversation from any channel,
//! re-open a recent one, or start one linked to the previous) → new. A match belonging to
//! another contact is never used.

use serde_json::{Map, Value};
use throughline_channels::ThreadHints;
use throughline_channels::email::threading::normalize_subject;
use throughline_core::continuity::Route;
use throughline_core::model::{Conversation, Inbox};
use throughline_store::conversations::{self, NewConversation};
use throughline_store::{AccountScope, Result, StoreError, Tx, continuity, email, inboxes, moves};

/// A subject-only reply joins an open conversation of the same contact active this recently.
pub const SUBJECT_MATCH_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// How a conversation was found for an inbound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadedBy {
    /// The customer wrote in a conversation they named (Client API).
    Named,
    ReplyToken,
    References,
    Subject,
    /// No channel-level match: the continuity rules continued or re-opened a conversation.
    Continuity,
    New,
}

/// The customer behind a message.
#[derive(Clone, Copy, Debug)]
pub struct Customer<'a> {
    pub inbox: &'a Inbox,
    pub contact_id: i64,
    pub identity_id: Option<i64>,
}

/// Places a message that names no conversation.
pub(crate) async fn place(
    tx: &mut Tx,
    scope: &AccountScope,
    customer: Customer<'_>,
    hints: &ThreadHints,
) -> Result<(Conversation, ThreadedBy)> {
    let new_attributes = Some(hints.new_conversation_attributes.clone()).filter(|a| !a.is_empty());
    if hints.start_new {
        let c = create(tx, scope, customer, new_attributes).await?;
        return Ok((c, ThreadedBy::New));
    }
    for token in &hints.reply_tokens {
        if let Some(c) = conversations::by_uuid(tx.conn(), scope, token).await?
            && c.contact_id == customer.contact_id
        {
            let c = moves::current(tx.conn(), c).await?;
            return Ok((c, ThreadedBy::ReplyToken));
        }
    }
    for id in &hints.referenced_ids {
        if let Some((conversation_id, _, _)) =
            email::find_header(tx.conn(), scope.account_id(), id).await?
        {
            match conversations::by_internal_id(tx.conn(), scope, conversation_id).await {
                Ok(c) if c.contact_id == customer.contact_id => {
                    return Ok((c, ThreadedBy::References));
                }
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if let Some(subject) = &hints.normalized_subject
        && let Some(c) = by_subject(tx, scope, customer.contact_id, subject).await?
    {
        return Ok((c, ThreadedBy::Subject));
    }
    // Not an answer to anything known. Where the channel keeps threads apart (a new email
    // subject is a new conversation), its own inboxes' conversations are not continued.
    let excluded = if hints.separate_threads {
        inboxes::ids_by_channel(tx.conn(), scope.account_id(), customer.inbox.channel_type).await?
    } else {
        Vec::new()
    };
    continue_or_start(tx, scope, customer, &excluded, new_attributes).await
}

/// The continuity rules: the contact's open conversation from any channel, a recently
/// resolved one re-opened, or a new one linked to the previous. Every entry point that lets a
/// customer continue (a message, a proven visitor's "new conversation", an integration
/// relaying the customer) comes here.
pub(crate) async fn continue_or_start(
    tx: &mut Tx,
    scope: &AccountScope,
    customer: Customer<'_>,
    excluded_inboxes: &[i64],
    new_attributes: Option<Map<String, Value>>,
) -> Result<(Conversation, ThreadedBy)> {
    let (c, route) = continuity::conversation_for_excluding(
        tx,
        scope,
        customer.contact_id,
        customer.inbox,
        customer.identity_id,
        excluded_inboxes,
        new_attributes,
    )
    .await?;
    let by = match route {
        Route::New { .. } => ThreadedBy::New,
        Route::Continue(_) | Route::Reopen(_) => ThreadedBy::Continuity,
    };
    Ok((c, by))
}

pub(crate) async fn create(
    tx: &mut Tx,
    scope: &AccountScope,
    customer: Customer<'_>,
    attributes: Option<Map<String, Value>>,
) -> Result<Conversation> {
    let mut new =
        NewConversation::open(customer.contact_id, customer.inbox.id, customer.identity_id);
    if let Some(a) = attributes {
        new.additional_attributes = Value::Object(a);
    }
    conversations::create(tx, scope, new).await
}

/// The contact's most recent unresolved conversation, active within the window, with an email
/// whose subject normalises to the same text (case folded).
async fn by_subject(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    normalized: &str,
) -> Result<Option<Conversation>> {
    let since = throughline_store::now_ms() - SUBJECT_MATCH_WINDOW_MS;
    let wanted = normalized.to_lowercase();
    let candidates = email::recent_subjects(tx.conn(), scope, contact_id, since).await?;
    for (conversation_id, subject) in candidates {
        if normalize_subject(&subject).to_lowercase() == wanted {
            return conversations::by_internal_id(tx.conn(), scope, conversation_id)
                .await
                .map(Some);
        }
    }
    Ok(None)
}
