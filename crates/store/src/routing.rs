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
use throughline_core::routing::{AgentProfile, RoutingSettings};

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::filters::is_postgres;
use crate::rows::RowExt;
use crate::scope::AccountScope;

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
    /// The inbox's `auto_assignment_config.max_assignment_limit`.
    pub inbox_limit: Option<i64>,
}

/// A member of the account who may take conversations.
#[derive(Clone, Debug, Default)]
pub struct Candidate {
    pub user_id: i64,
    pub inboxes: Vec<i64>,
    pub teams: Vec<i64>,
    /// Open work: (channel of the inbox, status) of each conversation assigned to the agent.
    pub assigned: Vec<(ChannelType, Status)>,
    /// The channel of each conversation offered to the agent and not answered yet (load too).
    pub offered: Vec<ChannelType>,
    /// Conversations counting as load, per inbox (for an inbox's assignment limit).
    pub open_by_inbox: HashMap<i64, i64>,
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

/// Whether any conversation waits for auto-assignment, or an offer has expired (a read,
/// before taking the lock).
pub async fn anything_waiting(
    conn: &mut crate::Conn,
    account_id: i64,
    user_ids: &[i64],
) -> Result<bool> {
    if user_ids.is_empty() {
        return Ok(false);
    }
    let mut q = crate::sql::SqlBuilder::new("SELECT c.id FROM conversations c ");
    push_waiting_filter(&mut q, account_id, user_ids);
    q.push(" UNION ALL SELECT conversation_id FROM routing_offers WHERE account_id = ");
    q.bind(account_id);
    q.push(" AND state = 'pending' AND expires_at <= ");
    q.bind(crate::now_ms());
    q.push(" LIMIT 1");
    Ok(q.build().fetch_optional(conn).await?.is_some())
}

/// `JOIN … WHERE …` of a conversation that waits for auto-assignment in an inbox one of
/// `user_ids` works (`c` is the conversation, `i` its inbox).
fn push_waiting_filter(q: &mut crate::sql::SqlBuilder, account_id: i64, user_ids: &[i64]) {
    q.push("JOIN inboxes i ON i.id = c.inbox_id WHERE c.account_id = ");
    q.bind(account_id);
    q.push(" AND c.status = 'open' AND c.assignee_id IS NULL AND i.enable_auto_assignment = ");
    q.bind(true);
    q.push(" AND c.inbox_id IN (SELECT inbox_id FROM inbox_members WHERE user_id IN ");
    q.bind_list(user_ids);
    q.push(
        ") AND NOT EXISTS (SELECT 1 FROM routing_offers o WHERE o.conversation_id = c.id \
             AND o.state = 'pending')",
    );
}

/// Open, unassigned conversations of inboxes with auto-assignment on that one of
/// `user_ids` works: the oldest first.
pub async fn waiting(tx: &mut Tx, account_id: i64, user_ids: &[i64]) -> Result<Vec<Waiting>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = crate::sql::SqlBuilder::new(
        "SELECT c.id, c.inbox_id, c.team_id, c.priority, c.contact_id, \
           COALESCE(c.waiting_since, c.created_at) AS since, i.channel_type, \
           i.auto_assignment_limit FROM conversations c ",
    );
    push_waiting_filter(&mut q, account_id, user_ids);
    q.push(" ORDER BY since, c.id LIMIT ");
    q.bind(WAITING_LIMIT);
    let rows = q.build().fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|row| {
            Ok(Waiting {
                id: row.int("id")?,
                inbox_id: row.int("inbox_id")?,
                team_id: row.opt_int("team_id")?,
                channel_type: row.parsed("channel_type", ChannelType::parse)?,
                priority: parse_priority(row.opt_text("priority")?)?,
                waiting_since: row.int("since")?,
                contact_id: row.int("contact_id")?,
                inbox_limit: row.opt_int("auto_assignment_limit")?,
            })
        })
        .collect()
}

/// The account's members (among `user_ids` when given), with their inboxes, teams and open
/// work.
pub async fn candidates(
    conn: &mut crate::Conn,
    account_id: i64,
    user_ids: Option<&[i64]>,
) -> Result<Vec<Candidate>> {
    let mut by_user: HashMap<i64, Candidate> = HashMap::new();
    let members: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM account_users WHERE account_id = $1 AND deactivated_at IS NULL",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let wanted = |u: &i64| user_ids.is_none_or(|ids| ids.contains(u));
    for user_id in members.into_iter().filter(wanted) {
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
    .fetch_all(&mut *conn)
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
    .fetch_all(&mut *conn)
    .await?;
    for row in &team_rows {
        if let Some(c) = by_user.get_mut(&row.int("user_id")?) {
            c.teams.push(row.int("team_id")?);
        }
    }
    let load_rows = sqlx::query(
        "SELECT c.assignee_id, c.status, c.inbox_id, i.channel_type, c.updated_at \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND c.assignee_id IS NOT NULL \
           AND c.status IN ('open', 'pending', 'snoozed')",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &load_rows {
        if let Some(c) = by_user.get_mut(&row.int("assignee_id")?) {
            let status = row.parsed("status", Status::parse)?;
            c.assigned
                .push((row.parsed("channel_type", ChannelType::parse)?, status));
            if throughline_core::routing::counts_as_load(status) {
                *c.open_by_inbox.entry(row.int("inbox_id")?).or_default() += 1;
            }
            c.last_assigned_at = c.last_assigned_at.max(row.int("updated_at")?);
        }
    }
    let offer_rows = sqlx::query(
        "SELECT o.user_id, i.channel_type FROM routing_offers o \
           JOIN conversations c ON c.id = o.conversation_id JOIN inboxes i ON i.id = c.inbox_id \
         WHERE o.account_id = $1 AND o.state = 'pending' AND c.assignee_id IS NULL \
           AND c.status = 'open'",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &offer_rows {
        if let Some(c) = by_user.get_mut(&row.int("user_id")?) {
            c.offered
                .push(row.parsed("channel_type", ChannelType::parse)?);
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

/// The account's routing settings (the defaults when none were saved).
pub async fn settings(conn: &mut crate::Conn, account_id: i64) -> Result<RoutingSettings> {
    let saved: Option<String> =
        sqlx::query_scalar("SELECT settings FROM routing_settings WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    match saved {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("routing settings: {e}"))),
        None => Ok(RoutingSettings::default()),
    }
}

/// Saves the account's routing settings (administrators; checked by the caller).
pub async fn save_settings(
    conn: &mut crate::Conn,
    scope: &AccountScope,
    settings: &RoutingSettings,
) -> Result<()> {
    let json = serde_json::to_string(settings)
        .map_err(|e| StoreError::Corrupt(format!("routing settings: {e}")))?;
    sqlx::query(
        "INSERT INTO routing_settings (account_id, settings, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, \
           updated_at = excluded.updated_at",
    )
    .bind(scope.account_id())
    .bind(json)
    .bind(crate::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Every saved agent profile of the account, by user id (members without one are absent).
pub async fn agent_profiles(
    conn: &mut crate::Conn,
    account_id: i64,
) -> Result<HashMap<i64, AgentProfile>> {
    let rows = sqlx::query("SELECT user_id, profile FROM agent_routing WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let profile = serde_json::from_str(&row.text("profile")?)
                .map_err(|e| StoreError::Corrupt(format!("agent routing profile: {e}")))?;
            Ok((row.int("user_id")?, profile))
        })
        .collect()
}

/// Saves a member's routing profile; `NotFound` when the user is not a member of the account.
pub async fn save_agent_profile(
    conn: &mut crate::Conn,
    scope: &AccountScope,
    user_id: i64,
    profile: &AgentProfile,
) -> Result<()> {
    let member: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM account_users WHERE account_id = $1 AND user_id = $2 \
         AND deactivated_at IS NULL",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    if member.is_none() {
        return Err(StoreError::NotFound);
    }
    let json = serde_json::to_string(profile)
        .map_err(|e| StoreError::Corrupt(format!("agent routing profile: {e}")))?;
    sqlx::query(
        "INSERT INTO agent_routing (account_id, user_id, profile, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, user_id) DO UPDATE SET profile = excluded.profile, \
           updated_at = excluded.updated_at",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .bind(json)
    .bind(crate::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The labels of each of these conversations (internal ids).
pub async fn labels_of(
    conn: &mut crate::Conn,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if conversation_ids.is_empty() {
        return Ok(out);
    }
    let mut q = crate::sql::SqlBuilder::new(
        "SELECT conversation_id, label FROM conversation_labels WHERE account_id = ",
    );
    q.bind(account_id);
    q.push(" AND conversation_id IN ");
    q.bind_list(conversation_ids);
    for row in &q.build().fetch_all(conn).await? {
        out.entry(row.int("conversation_id")?)
            .or_default()
            .push(row.text("label")?);
    }
    Ok(out)
}

/// Characters of the customer's words read per conversation for language detection.
const CUSTOMER_TEXT_CHARS: usize = 600;

/// The customer's first words in each of these conversations (public incoming messages, up
/// to a few hundred characters), for language detection.
pub async fn customer_texts(
    conn: &mut crate::Conn,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<HashMap<i64, String>> {
    let mut out: HashMap<i64, String> = HashMap::new();
    if conversation_ids.is_empty() {
        return Ok(out);
    }
    // The first few of each conversation: a long history is not read to tell its language.
    let mut q = crate::sql::SqlBuilder::new(
        "SELECT conversation_id, content FROM (SELECT conversation_id, content, id, \
           ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY id) AS n \
         FROM messages WHERE account_id = ",
    );
    q.bind(account_id);
    q.push(" AND message_type = 0 AND private = ");
    q.bind(false);
    q.push(" AND content IS NOT NULL AND conversation_id IN ");
    q.bind_list(conversation_ids);
    q.push(") firsts WHERE n <= 3 ORDER BY conversation_id, id");
    for row in &q.build().fetch_all(conn).await? {
        let text = out.entry(row.int("conversation_id")?).or_default();
        if text.chars().count() < CUSTOMER_TEXT_CHARS {
            if !text.is_empty() {
                text.push('\n');
            }
            text.extend(row.text("content")?.chars().take(CUSTOMER_TEXT_CHARS));
        }
    }
    Ok(out)
}

/// A conversation waiting for an agent, as the live view lists it.
#[derive(Clone, Debug)]
pub struct Unassigned {
    pub display_id: i64,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub channel_type: ChannelType,
    pub priority: Option<Priority>,
    pub waiting_since: i64,
    pub contact_name: Option<String>,
}

/// Open, unassigned conversations of the account (every inbox, auto-assigned or not), the
/// highest priority and longest waiting first, at most `limit`.
pub async fn unassigned(
    conn: &mut crate::Conn,
    account_id: i64,
    limit: i64,
) -> Result<Vec<Unassigned>> {
    let rows = sqlx::query(
        "SELECT c.display_id, c.inbox_id, c.team_id, c.priority, i.channel_type, \
           COALESCE(c.waiting_since, c.created_at) AS since, p.name AS contact_name \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
           JOIN contacts p ON p.id = c.contact_id \
         WHERE c.account_id = $1 AND c.status = 'open' AND c.assignee_id IS NULL \
         ORDER BY since, c.id LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Unassigned {
                display_id: row.int("display_id")?,
                inbox_id: row.int("inbox_id")?,
                team_id: row.opt_int("team_id")?,
                channel_type: row.parsed("channel_type", ChannelType::parse)?,
                priority: parse_priority(row.opt_text("priority")?)?,
                waiting_since: row.int("since")?,
                contact_name: row.opt_text("contact_name")?,
            })
        })
        .collect()
}

/// How many wait in each (inbox, team), and since when the longest has.
#[derive(Clone, Copy, Debug)]
pub struct WaitingCount {
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub waiting: i64,
    pub oldest: i64,
}

pub async fn waiting_counts(conn: &mut crate::Conn, account_id: i64) -> Result<Vec<WaitingCount>> {
    let rows = sqlx::query(
        "SELECT inbox_id, team_id, COUNT(*) AS waiting, \
           MIN(COALESCE(waiting_since, created_at)) AS oldest \
         FROM conversations WHERE account_id = $1 AND status = 'open' AND assignee_id IS NULL \
         GROUP BY inbox_id, team_id",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(WaitingCount {
                inbox_id: row.int("inbox_id")?,
                team_id: row.opt_int("team_id")?,
                waiting: row.int("waiting")?,
                oldest: row.int("oldest")?,
            })
        })
        .collect()
}

/// A conversation's outcome for the day's service level: when it began, when an agent first
/// answered, and whether it ended unanswered.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub channel_type: ChannelType,
    pub created_at: i64,
    pub first_reply_at: Option<i64>,
    pub resolved: bool,
}

/// Conversations begun or first answered since `since` (ms).
pub async fn outcomes_since(
    conn: &mut crate::Conn,
    account_id: i64,
    since: i64,
) -> Result<Vec<Outcome>> {
    let rows = sqlx::query(
        "SELECT c.inbox_id, c.team_id, i.channel_type, c.created_at, c.first_reply_created_at, \
           c.status FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         WHERE c.account_id = $1 AND (c.created_at >= $2 OR c.first_reply_created_at >= $2)",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Outcome {
                inbox_id: row.int("inbox_id")?,
                team_id: row.opt_int("team_id")?,
                channel_type: row.parsed("channel_type", ChannelType::parse)?,
                created_at: row.int("created_at")?,
                first_reply_at: row.opt_int("first_reply_created_at")?,
                resolved: row.text("status")? == "resolved",
            })
        })
        .collect()
}

fn parse_priority(raw: Option<String>) -> Result<Option<Priority>> {
    match raw {
        Some(p) => Priority::parse_optional(&p).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(None),
    }
}

/// How long an agent who declined a conversation, or let its offer expire, is not offered it
/// again.
pub const REFUSAL_MEMORY_MS: i64 = 10 * 60_000;

/// An offer as its agent's app shows it.
#[derive(Clone, Debug)]
pub struct Offer {
    /// The conversation's internal id.
    pub conversation: i64,
    pub display_id: i64,
    pub user_id: i64,
    pub inbox_id: i64,
    pub channel_type: ChannelType,
    pub contact_name: Option<String>,
    pub expires_at: i64,
}

const OFFER_COLUMNS: &str = "o.conversation_id, c.display_id, o.user_id, c.inbox_id, \
     i.channel_type, p.name AS contact_name, o.expires_at";
const OFFER_JOINS: &str = "routing_offers o JOIN conversations c ON c.id = o.conversation_id \
     JOIN inboxes i ON i.id = c.inbox_id JOIN contacts p ON p.id = c.contact_id";

fn offer(row: &sqlx::any::AnyRow) -> Result<Offer> {
    Ok(Offer {
        conversation: row.int("conversation_id")?,
        display_id: row.int("display_id")?,
        user_id: row.int("user_id")?,
        inbox_id: row.int("inbox_id")?,
        channel_type: row.parsed("channel_type", ChannelType::parse)?,
        contact_name: row.opt_text("contact_name")?,
        expires_at: row.int("expires_at")?,
    })
}

/// Offers the conversation to the agent until `expires_at` (again, if the agent had it
/// before and the refusal is forgotten).
pub async fn create_offer(
    tx: &mut Tx,
    account_id: i64,
    conversation: i64,
    user_id: i64,
    expires_at: i64,
) -> Result<Offer> {
    sqlx::query(
        "INSERT INTO routing_offers (conversation_id, user_id, account_id, state, expires_at, \
           created_at) VALUES ($1, $2, $3, 'pending', $4, $5) \
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET state = 'pending', \
           expires_at = excluded.expires_at, created_at = excluded.created_at",
    )
    .bind(conversation)
    .bind(user_id)
    .bind(account_id)
    .bind(expires_at)
    .bind(crate::now_ms())
    .execute(tx.conn())
    .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM {OFFER_JOINS} \
         WHERE o.conversation_id = $1 AND o.user_id = $2"
    )))
    .bind(conversation)
    .bind(user_id)
    .fetch_one(tx.conn())
    .await?;
    offer(&row)
}

/// Marks the account's pending offers that ran out as expired; returns them.
pub async fn expire_offers(tx: &mut Tx, account_id: i64, now: i64) -> Result<Vec<Offer>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM {OFFER_JOINS} \
         WHERE o.account_id = $1 AND o.state = 'pending' AND o.expires_at <= $2"
    )))
    .bind(account_id)
    .bind(now)
    .fetch_all(tx.conn())
    .await?;
    let expired: Vec<Offer> = rows.iter().map(offer).collect::<Result<_>>()?;
    if !expired.is_empty() {
        // One statement for all; `created_at` becomes when the offer was refused.
        sqlx::query(
            "UPDATE routing_offers SET state = 'expired', created_at = $2 \
             WHERE account_id = $1 AND state = 'pending' AND expires_at <= $2",
        )
        .bind(account_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(expired)
}

/// Who declined or let an offer of each conversation expire since `since`.
pub async fn refusals_since(
    conn: &mut crate::Conn,
    account_id: i64,
    since: i64,
) -> Result<HashMap<i64, Vec<i64>>> {
    let rows = sqlx::query(
        "SELECT conversation_id, user_id FROM routing_offers \
         WHERE account_id = $1 AND state <> 'pending' AND created_at >= $2",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for row in &rows {
        out.entry(row.int("conversation_id")?)
            .or_default()
            .push(row.int("user_id")?);
    }
    Ok(out)
}

/// When the account's next pending offer runs out.
pub async fn next_offer_expiry(conn: &mut crate::Conn, account_id: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(expires_at) FROM routing_offers WHERE account_id = $1 AND state = 'pending'",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await?)
}

/// The agent's offers still open at `now`, oldest first.
pub async fn offers_of(
    conn: &mut crate::Conn,
    account_id: i64,
    user_id: i64,
    now: i64,
) -> Result<Vec<Offer>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFER_COLUMNS} FROM {OFFER_JOINS} \
         WHERE o.account_id = $1 AND o.user_id = $2 AND o.state = 'pending' \
           AND o.expires_at > $3 AND c.assignee_id IS NULL AND c.status = 'open' \
         ORDER BY o.created_at, o.conversation_id"
    )))
    .bind(account_id)
    .bind(user_id)
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter().map(offer).collect()
}

/// Ends the agent's open offer of the conversation as `accepted` (every offer of the
/// conversation goes) or `declined`. `false` when the agent had no open offer of it.
pub async fn answer_offer(
    tx: &mut Tx,
    conversation: i64,
    user_id: i64,
    accepted: bool,
    now: i64,
) -> Result<bool> {
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT expires_at FROM routing_offers WHERE conversation_id = $1 AND user_id = $2 \
           AND state = 'pending' AND expires_at > $3",
    )
    .bind(conversation)
    .bind(user_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    if open.is_none() {
        return Ok(false);
    }
    if accepted {
        sqlx::query("DELETE FROM routing_offers WHERE conversation_id = $1")
            .bind(conversation)
            .execute(tx.conn())
            .await?;
    } else {
        sqlx::query(
            "UPDATE routing_offers SET state = 'declined', created_at = $3 \
             WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conversation)
        .bind(user_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(true)
}

/// How often an instance refreshes its presence rows.
pub const PRESENCE_REFRESH_MS: i64 = 10_000;
/// Rows not refreshed for this long belong to an instance that stopped.
pub const PRESENCE_STALE_MS: i64 = 3 * PRESENCE_REFRESH_MS;

/// An agent present on some instance, as that instance last wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceRow {
    pub user_id: i64,
    /// online, busy or away (offline agents have no row).
    pub status: String,
    /// When the status began (ms).
    pub since: i64,
}

/// This instance's word on an agent: present with `status` since `since`, or gone (`None`).
pub async fn record_presence(
    conn: &mut crate::Conn,
    account_id: i64,
    user_id: i64,
    instance: &str,
    status: Option<(&str, i64)>,
) -> Result<()> {
    match status {
        Some((status, since)) => {
            sqlx::query(
                "INSERT INTO agent_presence (account_id, user_id, instance, status, since, \
                   seen_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (account_id, user_id, instance) DO UPDATE SET \
                   status = excluded.status, since = excluded.since, seen_at = excluded.seen_at",
            )
            .bind(account_id)
            .bind(user_id)
            .bind(instance)
            .bind(status)
            .bind(since)
            .bind(crate::now_ms())
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query(
                "DELETE FROM agent_presence WHERE account_id = $1 AND user_id = $2 \
                   AND instance = $3",
            )
            .bind(account_id)
            .bind(user_id)
            .bind(instance)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Keeps this instance's rows fresh; `gone` removes them all (the instance stops).
pub async fn refresh_presence(conn: &mut crate::Conn, instance: &str, gone: bool) -> Result<()> {
    let q = if gone {
        sqlx::query("DELETE FROM agent_presence WHERE instance = $1").bind(instance)
    } else {
        sqlx::query("UPDATE agent_presence SET seen_at = $2 WHERE instance = $1")
            .bind(instance)
            .bind(crate::now_ms())
    };
    q.execute(conn).await?;
    Ok(())
}

/// Agents present in the account on instances other than `instance` (every instance when
/// `None`) whose rows were refreshed since `fresh_since`.
pub async fn present_elsewhere(
    conn: &mut crate::Conn,
    account_id: i64,
    instance: Option<&str>,
    fresh_since: i64,
) -> Result<Vec<PresenceRow>> {
    let rows = sqlx::query(
        "SELECT user_id, status, since, instance FROM agent_presence \
         WHERE account_id = $1 AND seen_at >= $2 ORDER BY user_id, since",
    )
    .bind(account_id)
    .bind(fresh_since)
    .fetch_all(conn)
    .await?;
    let mut out: Vec<PresenceRow> = Vec::new();
    for row in &rows {
        if instance.is_some_and(|me| row.text("instance").is_ok_and(|i| i == me)) {
            continue;
        }
        let user_id = row.int("user_id")?;
        // Connected on two instances: the status chosen last holds.
        out.retain(|p| p.user_id != user_id);
        out.push(PresenceRow {
            user_id,
            status: row.text("status")?,
            since: row.int("since")?,
        });
    }
    Ok(out)
}
