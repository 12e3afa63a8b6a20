//! What routing decides over, read inside the transaction that assigns: the account's
//! waiting conversations, its agents with their queues and their load.
//!
//! [`lock_account`] makes the decision one at a time per account on every instance: on
//! PostgreSQL a row lock on the account held until commit, on SQLite the write lock
//! `BEGIN IMMEDIATE` already took. A second process deciding for the same account waits and
//! then reads the assignments the first one made, so no conversation goes to two agents and
//! no agent over capacity.

use std::collections::HashMap;

use throughline_core::conversation::{Priority, Status};
use throughline_core::model::ChannelType;

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::filters::is_postgres;
use crate::rows::RowExt;

/// Waiting conversations read per decision: the oldest, highest-priority first.
const WAITING_LIMIT: i64 = 5_000;

/// A conversation that needs an agent.
#[derive(Clone, Debug)]
pub struct Waiting {
    /// The conversation's internal id.
    pub id: i64,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub channel_type: ChannelType,
    pub priority: Option<Priority>,
    /// Since when the customer has waited (the conversation's creation when unknown).
    pub waiting_since: i64,
    pub contact_id: i64,
}

/// A member of the account who may take conversations.
#[derive(Clone, Debug, Default)]
pub struct Candidate {
    pub user_id: i64,
    pub inboxes: Vec<i64>,
    pub teams: Vec<i64>,
    /// Open work: (channel of the inbox, status) of each conversation assigned to the agent.
    pub assigned: Vec<(ChannelType, Status)>,
    /// When the agent was last given a conversation (0: never).
    pub last_assigned_at: i64,
}

/// Holds the account's routing lock until the transaction ends.
pub async fn lock_account(tx: &mut Tx, account_id: i64) -> Result<()> {
    if is_postgres(tx.conn()) {
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
    }
    Ok(())
}

/// Whether any conversation waits for auto-assignment (a read, before taking the lock).
pub async fn anything_waiting(conn: &mut crate::Conn, account_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT c.id FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND c.status = 'open' AND c.assignee_id IS NULL \
           AND i.enable_auto_assignment = $2 LIMIT 1",
    )
    .bind(account_id)
    .bind(true)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Open, unassigned conversations of inboxes with auto-assignment on.
pub async fn waiting(tx: &mut Tx, account_id: i64) -> Result<Vec<Waiting>> {
    let rows = sqlx::query(
        "SELECT c.id, c.inbox_id, c.team_id, c.priority, c.contact_id, \
           COALESCE(c.waiting_since, c.created_at) AS since, i.channel_type \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND c.status = 'open' AND c.assignee_id IS NULL \
           AND i.enable_auto_assignment = $2 \
         ORDER BY since, c.id LIMIT $3",
    )
    .bind(account_id)
    .bind(true)
    .bind(WAITING_LIMIT)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Waiting {
                id: row.int("id")?,
                inbox_id: row.int("inbox_id")?,
                team_id: row.opt_int("team_id")?,
                channel_type: row.parsed("channel_type", ChannelType::parse)?,
                priority: match row.opt_text("priority")? {
                    Some(p) => Priority::parse_optional(&p)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    None => None,
                },
                waiting_since: row.int("since")?,
                contact_id: row.int("contact_id")?,
            })
        })
        .collect()
}

/// The account's members among `user_ids`, with their inboxes, teams and open work.
pub async fn candidates(tx: &mut Tx, account_id: i64, user_ids: &[i64]) -> Result<Vec<Candidate>> {
    let mut by_user: HashMap<i64, Candidate> = HashMap::new();
    let members: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM account_users WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(tx.conn())
            .await?;
    for user_id in members.into_iter().filter(|u| user_ids.contains(u)) {
        by_user.insert(
            user_id,
            Candidate {
                user_id,
                ..Candidate::default()
            },
        );
    }
    if by_user.is_empty() {
        return Ok(Vec::new());
    }
    let inbox_rows = sqlx::query(
        "SELECT m.user_id, m.inbox_id FROM inbox_members m JOIN inboxes i ON i.id = m.inbox_id \
         WHERE i.account_id = $1",
    )
    .bind(account_id)
    .fetch_all(tx.conn())
    .await?;
    for row in &inbox_rows {
        if let Some(c) = by_user.get_mut(&row.int("user_id")?) {
            c.inboxes.push(row.int("inbox_id")?);
        }
    }
    let team_rows = sqlx::query(
        "SELECT m.user_id, m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id \
         WHERE t.account_id = $1",
    )
    .bind(account_id)
    .fetch_all(tx.conn())
    .await?;
    for row in &team_rows {
        if let Some(c) = by_user.get_mut(&row.int("user_id")?) {
            c.teams.push(row.int("team_id")?);
        }
    }
    let load_rows = sqlx::query(
        "SELECT c.assignee_id, c.status, i.channel_type, c.updated_at \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND c.assignee_id IS NOT NULL \
           AND c.status IN ('open', 'pending', 'snoozed')",
    )
    .bind(account_id)
    .fetch_all(tx.conn())
    .await?;
    for row in &load_rows {
        if let Some(c) = by_user.get_mut(&row.int("assignee_id")?) {
            c.assigned.push((
                row.parsed("channel_type", ChannelType::parse)?,
                row.parsed("status", Status::parse)?,
            ));
            c.last_assigned_at = c.last_assigned_at.max(row.int("updated_at")?);
        }
    }
    let mut out: Vec<Candidate> = by_user.into_values().collect();
    out.sort_by_key(|c| c.user_id);
    Ok(out)
}

/// Who last helped each of these contacts, and when: the assignee of the contact's most
/// recently active other conversation (for stickiness).
pub async fn last_helpers(
    tx: &mut Tx,
    account_id: i64,
    contact_ids: &[i64],
) -> Result<HashMap<i64, (i64, i64)>> {
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    if contact_ids.is_empty() {
        return Ok(out);
    }
    let mut q = crate::sql::SqlBuilder::new(
        "SELECT contact_id, assignee_id, last_activity_at FROM conversations \
         WHERE account_id = ",
    );
    q.bind(account_id);
    q.push(" AND assignee_id IS NOT NULL AND contact_id IN ");
    q.bind_list(contact_ids);
    let rows = q.build().fetch_all(tx.conn()).await?;
    for row in &rows {
        let contact = row.int("contact_id")?;
        let at = row.int("last_activity_at")?;
        let agent = row.int("assignee_id")?;
        let newer = out.get(&contact).is_none_or(|(_, seen)| at > *seen);
        if newer {
            out.insert(contact, (agent, at));
        }
    }
    Ok(out)
}

/// The live conversations (website chat, calls) an agent holds where the customer is waiting
/// for an answer: what goes back to the queue when the agent goes offline. Messaging and
/// email stay with their agent, who answers when back.
pub async fn unanswered_live(tx: &mut Tx, account_id: i64, agent_id: i64) -> Result<Vec<i64>> {
    let ids = sqlx::query_scalar(
        "SELECT c.id FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND c.assignee_id = $2 AND c.status = 'open' \
           AND c.waiting_since IS NOT NULL AND i.channel_type IN ($3, $4) ORDER BY c.id",
    )
    .bind(account_id)
    .bind(agent_id)
    .bind(ChannelType::WebWidget.as_str())
    .bind(ChannelType::Voice.as_str())
    .fetch_all(tx.conn())
    .await?;
    Ok(ids)
}
