//! Applies the conversation finder (`throughline_core::continuity`) to a contact's
//! conversations: continue, re-open, or start a new conversation linked to the previous one.

use throughline_core::continuity::{self, Arrival, Existing, Policy, Route};
use throughline_core::conversation::{Status, StatusRequest};
use throughline_core::model::{Conversation, Inbox};
use throughline_core::validate::FieldError;

use crate::clock::now_ms;
use crate::conversations::{self, NewConversation};
use crate::db::Tx;
use crate::error::Result;
use crate::records::{self, CONVERSATION_COLUMNS};
use crate::scope::AccountScope;
use crate::{Conn, accounts};

/// The inbox setting that keeps an inbox out of cross-channel continuity.
pub const KEEP_SEPARATE: &str = "keep_conversations_separate";

pub fn keeps_separate(inbox: &Inbox) -> bool {
    inbox
        .settings
        .get(KEEP_SEPARATE)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Checks the continuity keys of an account settings patch.
pub fn validate_settings(
    patch: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<(), FieldError> {
    if let Some(v) = patch.get("continue_across_channels")
        && !v.is_boolean()
    {
        return Err(FieldError::new(
            "continue_across_channels",
            "invalid",
            "continue_across_channels must be true or false",
        ));
    }
    if let Some(v) = patch.get("reopen_window_hours")
        && !v
            .as_i64()
            .is_some_and(|h| (0..=Policy::MAX_REOPEN_WINDOW_HOURS).contains(&h))
    {
        return Err(FieldError::new(
            "reopen_window_hours",
            "invalid",
            format!(
                "reopen_window_hours must be a whole number from 0 to {}",
                Policy::MAX_REOPEN_WINDOW_HOURS
            ),
        ));
    }
    Ok(())
}

async fn policy(conn: &mut Conn, account_id: i64) -> Result<Policy> {
    let account = accounts::get_account(conn, account_id).await?;
    Ok(Policy::from_settings(&account.settings))
}

/// The conversation an inbound message of `contact_id` through `inbox` joins, created or
/// re-opened as the rules say.
pub async fn conversation_for(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    inbox: &Inbox,
    identity_id: Option<i64>,
) -> Result<(Conversation, Route)> {
    conversation_for_excluding(tx, scope, contact_id, inbox, identity_id, &[], None).await
}

/// As [`conversation_for`], ignoring the conversations that started in `excluded_inboxes`
/// (email threading has already decided about those: a new subject is a new conversation);
/// a conversation it starts records `new_attributes`.
pub async fn conversation_for_excluding(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    inbox: &Inbox,
    identity_id: Option<i64>,
    excluded_inboxes: &[i64],
    new_attributes: Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<(Conversation, Route)> {
    let policy = policy(tx.conn(), scope.account_id()).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations \
         WHERE account_id = $1 AND contact_id = $2 ORDER BY last_activity_at DESC LIMIT 50"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .fetch_all(tx.conn())
    .await?;
    let list: Vec<Conversation> = rows
        .iter()
        .map(records::conversation)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|c| !excluded_inboxes.contains(&c.inbox_id))
        // A merged conversation lives on in the one it was merged into.
        .filter(|c| throughline_core::moves::merged_into(c).is_none())
        .collect();
    let separate = crate::inboxes::flagged(tx.conn(), scope.account_id(), KEEP_SEPARATE).await?;
    let existing: Vec<Existing> = list
        .iter()
        .map(|c| Existing {
            id: c.id,
            inbox_id: c.inbox_id,
            inbox_keeps_separate: separate.contains(&c.inbox_id),
            status: c.status,
            last_activity_at: c.last_activity_at,
            resolved_at: c.resolved_at,
        })
        .collect();
    let arrival = Arrival {
        inbox_id: inbox.id,
        keeps_separate: keeps_separate(inbox),
        single_conversation: inbox.lock_to_single_conversation,
    };
    let route = continuity::route(policy, arrival, &existing, now_ms());
    let find = |id: i64| list.iter().find(|c| c.id == id).cloned();
    let conversation = match route {
        Route::Continue(id) => find(id),
        Route::Reopen(id) => match find(id) {
            Some(c) => Some(
                conversations::set_status(
                    tx,
                    &AccountScope::system(scope.account_id()),
                    &c,
                    StatusRequest::Set {
                        status: Status::Open,
                        snoozed_until: None,
                    },
                )
                .await?
                .0,
            ),
            None => None,
        },
        Route::New { .. } => None,
    };
    if let Some(c) = conversation {
        return Ok((c, route));
    }
    let mut new = NewConversation::open(contact_id, inbox.id, identity_id);
    if let Route::New { previous } = route {
        new.previous_conversation_id = previous;
    }
    if let Some(attributes) = new_attributes {
        new.additional_attributes = serde_json::Value::Object(attributes);
    }
    let created = conversations::create(tx, scope, new).await?;
    Ok((created, route))
}
