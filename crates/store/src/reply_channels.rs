//! Gathers what the reply-channel policy (`throughline_core::reply_channel`) needs for one
//! conversation: the contact's addresses and identities, the inboxes the caller may use, and
//! when the contact last wrote through each.

use std::collections::HashMap;

use throughline_core::model::{Conversation, Inbox};
use throughline_core::reply_channel::{self, InboxReach, Reach, ReplyOption};

use crate::clock::now_ms;
use crate::error::Result;
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::{Conn, Store, contacts, inboxes, messages};

/// Every inbox the caller may reply through, with its verdict; the default is marked.
/// `visitor_online` is whether the contact has the website chat open (from the realtime hub;
/// `None` when unknown).
pub async fn options(
    conn: &mut Conn,
    store: &Store,
    scope: &AccountScope,
    conversation: &Conversation,
    visitor_online: Option<bool>,
) -> Result<Vec<(Inbox, ReplyOption)>> {
    let contact = contacts::get(conn, scope, conversation.contact_id).await?;
    let with_identity: Vec<i64> = contacts::identities(conn, store, scope, contact.id)
        .await?
        .into_iter()
        .map(|(identity, _)| identity.inbox_id)
        .collect();
    let rows = sqlx::query(
        "SELECT m.inbox_id, MAX(m.created_at) AS last_at FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE c.account_id = $1 AND c.contact_id = $2 AND m.message_type = 0 \
         GROUP BY m.inbox_id",
    )
    .bind(scope.account_id())
    .bind(contact.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut last_incoming = HashMap::new();
    for row in rows {
        last_incoming.insert(row.int("inbox_id")?, row.int("last_at")?);
    }
    let inboxes = inboxes::list(conn, store.key(), scope).await?;
    let reaches: Vec<InboxReach> = inboxes
        .iter()
        .map(|i| InboxReach {
            inbox_id: i.id,
            channel_type: i.channel_type,
            has_identity: with_identity.contains(&i.id),
            last_incoming_at: last_incoming.get(&i.id).copied(),
            visitor_online,
        })
        .collect();
    let reach = Reach {
        has_email: contact.email.is_some(),
        has_phone: contact.phone_number.is_some(),
    };
    let (latest, _) = messages::reply_route(conn, conversation).await?;
    let verdicts = reply_channel::options(&reaches, &reach, Some(latest), now_ms());
    Ok(inboxes.into_iter().zip(verdicts).collect())
}

/// When the contact last wrote through `inbox_id` (any of their conversations), for a
/// windowed channel's check.
pub async fn last_incoming_at(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    inbox_id: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(m.created_at) FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE c.account_id = $1 AND c.contact_id = $2 AND m.inbox_id = $3 AND m.message_type = 0",
    )
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(inbox_id)
    .fetch_one(conn)
    .await?)
}
