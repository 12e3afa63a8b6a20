//! Agents' notifications, written by the automation consumer in its batch transaction: who is
//! told of a new message (mentions in private notes, the assignee, the participants) and of a
//! conversation given to them. The rules are the core's (`core::notification`); this module
//! reads the event and the conversation's people and writes one notification per agent, which
//! `store::notifications::create` announces to that agent's tabs.
//!
//! An agent is told only of conversations they may see: a mention of someone without access to
//! the inbox tells them nothing (and does not make them a participant).

use std::collections::HashMap;

use serde_json::Value;
use throughline_core::conversation::Status;
use throughline_core::event::{EventKind, StoredEvent, changed_by};
use throughline_core::model::Conversation;
use throughline_core::notification::{self as rules, NewMessage, NotificationType};
use throughline_store::notifications::{self as store, NewNotification};
use throughline_store::{AccountScope, Conn, Found, StoreError, Tx, conversations};

type Result<T> = std::result::Result<T, StoreError>;

/// What one batch has read already: whether a conversation has participants.
#[derive(Default)]
pub struct Cache {
    followed: HashMap<i64, bool>,
}

/// What an event may need, read from its payload alone.
enum Due<'a> {
    Message {
        view: &'a Value,
        assignee: Option<i64>,
        author: Option<i64>,
        mentions: rules::Mentions,
    },
    Assignment {
        assignee: i64,
    },
}

fn due(event: &StoredEvent) -> Option<Due<'_>> {
    match event.kind {
        EventKind::MessageCreated => {
            let view = event.payload.get("view")?;
            let kind = view.get("message_type")?.as_i64()?;
            // Incoming and outgoing (notes included); activity lines and templates are not news.
            if kind != 0 && kind != 1 {
                return None;
            }
            let private = view.get("private").and_then(Value::as_bool) == Some(true);
            let content = view.get("content").and_then(Value::as_str).unwrap_or("");
            let mentions = if private {
                rules::mentions(content)
            } else {
                rules::Mentions::default()
            };
            let author = (view.get("sender_type").and_then(Value::as_str) == Some("User"))
                .then(|| view.get("sender_id").and_then(Value::as_i64))
                .flatten();
            let assignee = view
                .pointer("/conversation/assignee_id")
                .and_then(Value::as_i64);
            Some(Due::Message {
                view,
                assignee,
                author,
                mentions,
            })
        }
        EventKind::ConversationUpdated => {
            let changes = event.payload.get("changed_attributes")?.as_array()?;
            let change = changes.iter().find_map(|c| c.get("assignee_id"))?;
            let assignee = change.get("current_value")?.as_i64();
            let assignee = rules::for_assignment(assignee, changed_by(&event.payload))?;
            Some(Due::Assignment { assignee })
        }
        _ => None,
    }
}

async fn followed(conn: &mut Conn, cache: &mut Cache, conversation_id: i64) -> Result<bool> {
    if let Some(known) = cache.followed.get(&conversation_id) {
        return Ok(*known);
    }
    let any = store::has_participants(conn, conversation_id).await?;
    cache.followed.insert(conversation_id, any);
    Ok(any)
}

/// Whether the event may tell anyone anything (on any connection; the write transaction
/// decides again).
pub async fn may_notify(conn: &mut Conn, cache: &mut Cache, event: &StoredEvent) -> Result<bool> {
    let Some(conversation_id) = event.conversation_id else {
        return Ok(false);
    };
    Ok(match due(event) {
        None => false,
        Some(Due::Assignment { .. }) => true,
        Some(Due::Message {
            assignee,
            author,
            mentions,
            ..
        }) => {
            !mentions.is_empty()
                || assignee.is_some_and(|a| Some(a) != author)
                || followed(conn, cache, conversation_id).await?
        }
    })
}

/// Writes the event's notifications (and a note's mentioned agents as participants).
pub async fn on_event(tx: &mut Tx, cache: &mut Cache, event: &StoredEvent) -> Result<()> {
    let Some(due) = due(event) else {
        return Ok(());
    };
    let Some(conversation_id) = event.conversation_id else {
        return Ok(());
    };
    let scope = AccountScope::system(event.account_id);
    let Some(conversation) = conversations::by_internal_id(tx.conn(), &scope, conversation_id)
        .await
        .found()?
    else {
        return Ok(());
    };
    let told = match due {
        Due::Assignment { assignee } => {
            // A conversation a bot holds is not yet anyone's work (Chatwoot's rule).
            if conversation.status == Status::Pending || conversation.assignee_id != Some(assignee)
            {
                return Ok(());
            }
            vec![(assignee, NotificationType::ConversationAssignment, None)]
        }
        Due::Message {
            view,
            assignee,
            author,
            mentions,
        } => {
            let mut mentioned = mentions.users.clone();
            for member in store::team_members(tx.conn(), event.account_id, &mentions.teams).await? {
                if !mentioned.contains(&member) {
                    mentioned.push(member);
                }
            }
            let mentioned = store::who_may_see(tx.conn(), &conversation, &mentioned).await?;
            store::add_participants(tx.conn(), &conversation, &mentioned).await?;
            let participants = store::participants(tx.conn(), &conversation).await?;
            cache
                .followed
                .insert(conversation.id, !participants.is_empty());
            let message = NewMessage {
                author,
                notifiable: true,
                private: view.get("private").and_then(Value::as_bool) == Some(true),
                content: view.get("content").and_then(Value::as_str).unwrap_or(""),
                assignee,
                participants: &participants,
                mentioned: &mentioned,
            };
            let message_id = view.get("id").and_then(Value::as_i64);
            rules::for_message(&message)
                .into_iter()
                .map(|(user, kind)| (user, kind, message_id))
                .collect()
        }
    };
    notify(tx, &conversation, event, told).await
}

async fn notify(
    tx: &mut Tx,
    conversation: &Conversation,
    event: &StoredEvent,
    told: Vec<(i64, NotificationType, Option<i64>)>,
) -> Result<()> {
    let users: Vec<i64> = told.iter().map(|(u, _, _)| *u).collect();
    let seeing = store::who_may_see(tx.conn(), conversation, &users).await?;
    for (user_id, kind, message_id) in told {
        if !seeing.contains(&user_id) {
            continue;
        }
        store::create(
            tx,
            NewNotification {
                user_id,
                kind,
                conversation,
                message_id,
                event_id: event.id,
            },
        )
        .await?;
    }
    Ok(())
}
