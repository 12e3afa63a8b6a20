//! Conversations: creation with per-account display ids, the list with Chatwoot's filters and
//! counts, status changes, priority, assignment, labels, attributes, last-seen marks, snoozes.

use serde_json::{Value, json};
use throughline_core::conversation::{
    Priority, Status, StatusOutcome, StatusRequest, apply_status_request,
};
use throughline_core::event::EventKind;
use throughline_core::model::{ChannelType, Conversation};
use throughline_core::role::Actor;
use throughline_core::views::webhook_body::changed;

use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::labels::{self, Tagged};
use crate::records::{self, CONVERSATION_COLUMNS};
use crate::rows::RowExt;
use crate::scope::{AccountScope, InboxVisibility};
use crate::sql::SqlBuilder;
use crate::{Conn, events, messages};

#[derive(Clone, Debug)]
pub struct NewConversation {
    pub contact_id: i64,
    pub inbox_id: i64,
    pub identity_id: Option<i64>,
    pub status: Status,
    pub snoozed_until: Option<i64>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub custom_attributes: Value,
    pub additional_attributes: Value,
    /// The conversation this one continues.
    pub previous_conversation_id: Option<i64>,
    /// When it started, for imports; now by default.
    pub created_at: Option<i64>,
}

impl NewConversation {
    pub fn open(contact_id: i64, inbox_id: i64, identity_id: Option<i64>) -> Self {
        Self {
            contact_id,
            inbox_id,
            identity_id,
            status: Status::Open,
            snoozed_until: None,
            assignee_id: None,
            team_id: None,
            custom_attributes: json!({}),
            additional_attributes: json!({}),
            previous_conversation_id: None,
            created_at: None,
        }
    }
}

async fn inbox_has_agent_bot(tx: &mut Tx, scope: &AccountScope, inbox_id: i64) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT agent_bot_id FROM agent_bot_inboxes WHERE account_id = $1 AND inbox_id = $2",
    )
    .bind(scope.account_id())
    .bind(inbox_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(found.is_some())
}

pub async fn create(
    tx: &mut Tx,
    scope: &AccountScope,
    new: NewConversation,
) -> Result<Conversation> {
    if !scope.sees_inbox(new.inbox_id) {
        return Err(StoreError::NotFound);
    }
    // The account row is the display-id sequence; its row lock orders concurrent creators.
    let display_id: i64 = sqlx::query_scalar(
        "UPDATE accounts SET conversation_seq = conversation_seq + 1 WHERE id = $1 \
         RETURNING conversation_seq",
    )
    .bind(scope.account_id())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound)?;
    let mut new = new;
    if new.status == Status::Open && inbox_has_agent_bot(tx, scope, new.inbox_id).await? {
        // Chatwoot's `determine_conversation_status`: a conversation in an inbox with a bot
        // starts with the bot (pending) until the bot hands it off by opening it.
        new.status = Status::Pending;
    }
    let now = new.created_at.unwrap_or_else(now_ms);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO conversations (account_id, display_id, uuid, contact_id, inbox_id, \
           contact_inbox_id, status, snoozed_until, assignee_id, team_id, custom_attributes, \
           additional_attributes, last_activity_at, created_at, updated_at, \
           previous_conversation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13, $14) \
         RETURNING {CONVERSATION_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(display_id)
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(new.contact_id)
    .bind(new.inbox_id)
    .bind(new.identity_id)
    .bind(new.status.as_str())
    .bind(new.snoozed_until)
    .bind(new.assignee_id)
    .bind(new.team_id)
    .bind(new.custom_attributes.to_string())
    .bind(new.additional_attributes.to_string())
    .bind(now)
    .bind(new.previous_conversation_id)
    .fetch_one(tx.conn())
    .await?;
    let conversation = records::conversation(&row)?;
    events::conversation(tx, EventKind::ConversationCreated, &conversation, None).await?;
    Ok(conversation)
}

/// Reads a conversation by the display id the API uses, if the scope may see its inbox.
pub async fn get(conn: &mut Conn, scope: &AccountScope, display_id: i64) -> Result<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND display_id = $2"
    )))
    .bind(scope.account_id())
    .bind(display_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let c = records::conversation(&row)?;
    if !scope.sees_inbox(c.inbox_id) {
        return Err(StoreError::NotFound);
    }
    Ok(c)
}

/// Conversations of a contact, newest activity first.
pub async fn of_contact(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Vec<Conversation>> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = "
    ));
    q.bind(scope.account_id())
        .push(" AND contact_id = ")
        .bind(contact_id);
    push_visibility(&mut q, scope);
    q.push(" ORDER BY last_activity_at DESC, id DESC");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(records::conversation).collect()
}

fn push_visibility(q: &mut SqlBuilder, scope: &AccountScope) {
    if let InboxVisibility::Only(ids) = scope.inboxes() {
        q.push(" AND inbox_id IN ").bind_list(ids);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Me,
    Unassigned,
    Assigned,
    All,
}

impl AssigneeFilter {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "me" | "mine" => Self::Me,
            "unassigned" => Self::Unassigned,
            "assigned" => Self::Assigned,
            "all" => Self::All,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversationSort {
    /// Most recent activity first (Chatwoot's `latest`).
    LastActivity,
    CreatedAtAsc,
    CreatedAtDesc,
    /// Highest priority first, then latest activity.
    Priority,
    /// Longest-waiting first; conversations nobody waits on last.
    WaitingSince,
}

impl ConversationSort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "latest" | "last_activity_at_desc" => Self::LastActivity,
            "sort_on_created_at" | "created_at_asc" => Self::CreatedAtAsc,
            "created_at_desc" => Self::CreatedAtDesc,
            "sort_on_priority" | "priority_desc" => Self::Priority,
            "sort_on_waiting_since" | "waiting_since_asc" => Self::WaitingSince,
            _ => return None,
        })
    }

    fn order_by(self) -> &'static str {
        match self {
            Self::LastActivity => "last_activity_at DESC, id DESC",
            Self::CreatedAtAsc => "created_at ASC, id ASC",
            Self::CreatedAtDesc => "created_at DESC, id DESC",
            Self::Priority => {
                "CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
                 WHEN 'low' THEN 1 ELSE 0 END DESC, last_activity_at DESC, id DESC"
            }
            Self::WaitingSince => "(waiting_since IS NULL), waiting_since ASC, id ASC",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConversationQuery {
    pub assignee: AssigneeFilter,
    /// `None` lists every status.
    pub status: Option<Status>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub channel: Option<ChannelType>,
    pub labels: Vec<String>,
    pub contact_id: Option<i64>,
    /// Matches message content, the contact's name, email or phone, or the display id.
    pub search: Option<String>,
    pub sort: ConversationSort,
    pub page: i64,
    pub per_page: i64,
    /// Conditions of Chatwoot's filter endpoint, already validated.
    pub conditions: Vec<throughline_core::filter::Condition>,
}

impl Default for ConversationQuery {
    fn default() -> Self {
        Self {
            assignee: AssigneeFilter::All,
            status: Some(Status::Open),
            inbox_id: None,
            team_id: None,
            channel: None,
            labels: Vec::new(),
            contact_id: None,
            search: None,
            sort: ConversationSort::LastActivity,
            page: 1,
            per_page: 25,
            conditions: Vec::new(),
        }
    }
}

/// Chatwoot's `meta`: how many conversations match the filters for each assignee tab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConversationCounts {
    pub mine: i64,
    pub unassigned: i64,
    pub assigned: i64,
    pub all: i64,
}

/// The filters on columns `conversations` and `conversation_tallies` share.
fn push_tallied_filters(q: &mut SqlBuilder, scope: &AccountScope, query: &ConversationQuery) {
    q.push(" WHERE account_id = ").bind(scope.account_id());
    push_visibility(q, scope);
    if let Some(status) = query.status {
        q.push(" AND status = ").bind(status.as_str());
    }
    if let Some(inbox_id) = query.inbox_id {
        q.push(" AND inbox_id = ").bind(inbox_id);
    }
    if let Some(team_id) = query.team_id {
        q.push(" AND team_id = ").bind(team_id);
    }
}

fn push_filters(q: &mut SqlBuilder, conn: &Conn, scope: &AccountScope, query: &ConversationQuery) {
    let account = scope.account_id();
    push_tallied_filters(q, scope, query);
    if let Some(contact_id) = query.contact_id {
        q.push(" AND contact_id = ").bind(contact_id);
    }
    if let Some(channel) = query.channel {
        q.push(" AND inbox_id IN (SELECT id FROM inboxes WHERE account_id = ")
            .bind(account)
            .push(" AND channel_type = ")
            .bind(channel.as_str())
            .push(")");
    }
    if !query.labels.is_empty() {
        q.push(" AND id IN (SELECT conversation_id FROM conversation_labels WHERE account_id = ")
            .bind(account)
            .push(" AND label IN ")
            .bind_list(&query.labels)
            .push(")");
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        crate::search::push_conversation_match(q, conn, account, search);
    }
    crate::filters::push_conditions(
        q,
        conn,
        scope,
        crate::filters::Target::Conversations,
        &query.conditions,
    );
}

fn push_assignee(q: &mut SqlBuilder, scope: &AccountScope, filter: AssigneeFilter) {
    match filter {
        AssigneeFilter::Me => {
            q.push(" AND assignee_id = ")
                .bind(scope.user_id().unwrap_or(-1));
        }
        AssigneeFilter::Unassigned => {
            q.push(" AND assignee_id IS NULL");
        }
        AssigneeFilter::Assigned => {
            q.push(" AND assignee_id IS NOT NULL");
        }
        AssigneeFilter::All => {}
    }
}

/// Whether the counts of `query` can be summed from `conversation_tallies` (migration 0022):
/// its filters are all columns the tallies keep.
fn tallied(query: &ConversationQuery) -> bool {
    let ConversationQuery {
        assignee: _,
        status: _,
        inbox_id: _,
        team_id: _,
        channel,
        labels,
        contact_id,
        search,
        sort: _,
        page: _,
        per_page: _,
        conditions,
    } = query;
    channel.is_none()
        && labels.is_empty()
        && contact_id.is_none()
        && search.as_deref().is_none_or(|s| s.trim().is_empty())
        && conditions.is_empty()
}

/// The per-tab counts from the tallies: a few rows per inbox, team and assignee instead of
/// every matching conversation.
fn tally_counts(scope: &AccountScope, query: &ConversationQuery) -> SqlBuilder {
    let mut q = SqlBuilder::new(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS total, \
           CAST(COALESCE(SUM(CASE WHEN assignee_id = ",
    );
    q.bind(scope.user_id().unwrap_or(-1)).push(
        " THEN n ELSE 0 END), 0) AS BIGINT) AS mine, \
         CAST(COALESCE(SUM(CASE WHEN assignee_id = 0 THEN n ELSE 0 END), 0) AS BIGINT) AS unassigned \
         FROM conversation_tallies",
    );
    push_tallied_filters(&mut q, scope, query);
    q
}

/// Folds the tallies' rows into one per (account, inbox, team, status, assignee); keys that
/// sum to nothing go. Returns the rows removed.
pub async fn compact_tallies(tx: &mut Tx) -> Result<u64> {
    const KEY: &str = "account_id, inbox_id, team_id, status, assignee_id";
    let conn = tx.conn();
    if crate::filters::is_postgres(conn) {
        // One statement, so the rows summed are exactly the rows deleted whatever commits
        // meanwhile.
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversation_tallies")
            .fetch_one(&mut *conn)
            .await?;
        let kept = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH gone AS (DELETE FROM conversation_tallies RETURNING {KEY}, n) \
             INSERT INTO conversation_tallies ({KEY}, n) \
             SELECT {KEY}, CAST(SUM(n) AS BIGINT) FROM gone GROUP BY {KEY} HAVING SUM(n) <> 0"
        )))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        return Ok(u64::try_from(before).unwrap_or(0).saturating_sub(kept));
    }
    // SQLite has one writer: nothing is added between these statements.
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM conversation_tallies")
        .fetch_one(&mut *conn)
        .await?;
    let Some(last) = last else { return Ok(0) };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO conversation_tallies ({KEY}, n) SELECT {KEY}, SUM(n) \
         FROM conversation_tallies WHERE id <= $1 GROUP BY {KEY} HAVING SUM(n) <> 0"
    )))
    .bind(last)
    .execute(&mut *conn)
    .await?;
    let removed = sqlx::query("DELETE FROM conversation_tallies WHERE id <= $1")
        .bind(last)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(removed)
}

/// Whether the tallies hold more rows than keys (a [`compact_tallies`] would shrink them).
pub async fn tallies_to_compact(conn: &mut Conn) -> Result<bool> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM conversation_tallies) AS total_rows, \
           (SELECT COUNT(*) FROM (SELECT 1 AS one FROM conversation_tallies \
              GROUP BY account_id, inbox_id, team_id, status, assignee_id) k) AS keys",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.int("total_rows")? > row.int("keys")?)
}

/// A page of conversations and the per-tab counts for the same filters.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    query: &ConversationQuery,
) -> Result<(Vec<Conversation>, ConversationCounts)> {
    let counts_q = if tallied(query) {
        tally_counts(scope, query)
    } else {
        let mut q = SqlBuilder::new(
            "SELECT COUNT(*) AS total, \
               COALESCE(SUM(CASE WHEN assignee_id = ",
        );
        q.bind(scope.user_id().unwrap_or(-1)).push(
            " THEN 1 ELSE 0 END), 0) AS mine, \
                 COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned \
                 FROM conversations",
        );
        push_filters(&mut q, conn, scope, query);
        q
    };
    let row = counts_q.build().fetch_one(&mut *conn).await?;
    let all = row.int("total")?;
    let unassigned = row.int("unassigned")?;
    let counts = ConversationCounts {
        mine: row.int("mine")?,
        unassigned,
        assigned: all - unassigned,
        all,
    };

    let mut q = SqlBuilder::new(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations"));
    push_filters(&mut q, conn, scope, query);
    push_assignee(&mut q, scope, query.assignee);
    q.push(" ORDER BY ")
        .push(query.sort.order_by())
        .push(" LIMIT ")
        .bind(query.per_page)
        .push(" OFFSET ")
        .bind((query.page.max(1) - 1) * query.per_page);
    let rows = q.build().fetch_all(conn).await?;
    Ok((
        rows.iter()
            .map(records::conversation)
            .collect::<Result<_>>()?,
        counts,
    ))
}

/// The name an activity line credits for a change.
pub(crate) async fn actor_name(conn: &mut Conn, scope: &AccountScope) -> Result<String> {
    Ok(match scope.actor() {
        Actor::User { id, .. } => crate::accounts::get_user_unscoped(conn, id)
            .await?
            .available_name()
            .to_owned(),
        Actor::AgentBot { id } => crate::auth::get_agent_bot_unscoped(conn, id).await?.name,
        Actor::Contact { .. } => "the customer".to_owned(),
        Actor::System => "Throughline".to_owned(),
        Actor::Automation { rule_id } => {
            let name: Option<String> =
                sqlx::query_scalar("SELECT name FROM automation_rules WHERE id = $1")
                    .bind(rule_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            format!("automation rule “{}”", name.unwrap_or_default())
        }
    })
}

async fn save(tx: &mut Tx, c: &Conversation) -> Result<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE conversations SET status = $3, snoozed_until = $4, priority = $5, \
           assignee_id = $6, team_id = $7, custom_attributes = $8, additional_attributes = $9, \
           agent_last_seen_at = $10, assignee_last_seen_at = $11, contact_last_seen_at = $12, \
           muted = $13, updated_at = $14, \
           resolved_at = CASE WHEN $3 = 'resolved' AND status <> 'resolved' THEN $14 \
             ELSE resolved_at END \
         WHERE account_id = $1 AND id = $2 RETURNING {CONVERSATION_COLUMNS}"
    )))
    .bind(c.account_id)
    .bind(c.id)
    .bind(c.status.as_str())
    .bind(c.snoozed_until)
    .bind(c.priority.map(Priority::as_str))
    .bind(c.assignee_id)
    .bind(c.team_id)
    .bind(c.custom_attributes.to_string())
    .bind(c.additional_attributes.to_string())
    .bind(c.agent_last_seen_at)
    .bind(c.assignee_last_seen_at)
    .bind(c.contact_last_seen_at)
    .bind(c.muted)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    records::conversation(&row)
}

/// Applies `toggle_status`. Writes the activity line and the status events when it changes.
pub async fn set_status(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    request: StatusRequest,
) -> Result<(Conversation, StatusOutcome)> {
    let outcome = apply_status_request(
        conversation.status,
        conversation.snoozed_until,
        request,
        now_ms(),
    )
    .map_err(|e| StoreError::Refused(e.to_string()))?;
    if !outcome.changed {
        return Ok((conversation.clone(), outcome));
    }
    let mut next = conversation.clone();
    next.status = outcome.status;
    next.snoozed_until = outcome.snoozed_until;
    let updated = save(tx, &next).await?;
    let who = actor_name(tx.conn(), scope).await?;
    let text = match (outcome.status, scope.actor()) {
        (Status::Open, Actor::System) => "Conversation was reopened".to_owned(),
        (Status::Open, _) => format!("Conversation was reopened by {who}"),
        (Status::Resolved, _) => format!("Conversation was marked resolved by {who}"),
        (Status::Pending, _) => format!("Conversation was marked as pending by {who}"),
        (Status::Snoozed, _) => format!("Conversation was snoozed by {who}"),
    };
    messages::create_activity(
        tx,
        scope,
        &updated,
        text,
        json!({ "kind": "status_changed", "status": outcome.status.as_str(), "actor": who }),
    )
    .await?;
    let diff = changed(&[(
        "status",
        json!(conversation.status.as_str()),
        json!(updated.status.as_str()),
    )]);
    events::conversation(
        tx,
        EventKind::ConversationStatusChanged,
        &updated,
        Some(diff.clone()),
    )
    .await?;
    events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(diff)).await?;
    Ok((updated, outcome))
}

pub async fn set_priority(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    priority: Option<Priority>,
) -> Result<Conversation> {
    if conversation.priority == priority {
        return Ok(conversation.clone());
    }
    let mut next = conversation.clone();
    next.priority = priority;
    let updated = save(tx, &next).await?;
    let who = actor_name(tx.conn(), scope).await?;
    let text = match (conversation.priority, priority) {
        (_, None) => format!("{who} removed the priority"),
        (None, Some(p)) => format!("{who} set the priority to {}", p.as_str()),
        (Some(old), Some(new)) => {
            format!(
                "{who} changed the priority from {} to {}",
                old.as_str(),
                new.as_str()
            )
        }
    };
    messages::create_activity(
        tx,
        scope,
        &updated,
        text,
        json!({ "kind": "priority_changed", "priority": priority.map(Priority::as_str), "actor": who }),
    )
    .await?;
    let diff = changed(&[(
        "priority",
        json!(conversation.priority.map(Priority::as_str)),
        json!(priority.map(Priority::as_str)),
    )]);
    events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(diff)).await?;
    Ok(updated)
}

/// Changes the assignee and/or team (`None` leaves a field as it is; `Some(None)` clears it).
/// Callers check that the assignee is an agent of the account and the team exists.
pub async fn assign(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    assignee: Option<Option<i64>>,
    team: Option<Option<i64>>,
) -> Result<Conversation> {
    assign_because(tx, scope, conversation, assignee, team, None).await
}

/// Why auto-assignment chose the agent: a stable code for the app to translate
/// (`routing_reason`) and the words the activity line shows.
#[derive(Clone, Copy, Debug)]
pub struct AssignReason<'a> {
    pub code: &'a str,
    pub words: &'a str,
}

/// [`assign`], saying why on the activity line and in its `routing_reason`.
pub async fn assign_because(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    assignee: Option<Option<i64>>,
    team: Option<Option<i64>>,
    reason: Option<AssignReason<'_>>,
) -> Result<Conversation> {
    let mut next = conversation.clone();
    if let Some(a) = assignee {
        next.assignee_id = a;
    }
    if let Some(t) = team {
        next.team_id = t;
    }
    if next.assignee_id == conversation.assignee_id && next.team_id == conversation.team_id {
        return Ok(conversation.clone());
    }
    let updated = save(tx, &next).await?;
    let who = actor_name(tx.conn(), scope).await?;
    let mut diff = Vec::new();
    if updated.assignee_id != conversation.assignee_id {
        let text = match updated.assignee_id {
            None => format!("Conversation unassigned by {who}"),
            Some(id) if Some(id) == scope.user_id() => {
                format!("{who} self-assigned this conversation")
            }
            Some(id) => {
                let name = crate::accounts::get_user_unscoped(tx.conn(), id)
                    .await?
                    .available_name()
                    .to_owned();
                format!("Assigned to {name} by {who}")
            }
        };
        let (text, attributes) = match reason {
            Some(why) => (
                format!("{text}: {}", why.words),
                json!({ "kind": "assignee_changed", "assignee_id": updated.assignee_id, "actor": who, "routing_reason": why.code }),
            ),
            None => (
                text,
                json!({ "kind": "assignee_changed", "assignee_id": updated.assignee_id, "actor": who }),
            ),
        };
        messages::create_activity(tx, scope, &updated, text, attributes).await?;
        diff.push((
            "assignee_id",
            json!(conversation.assignee_id),
            json!(updated.assignee_id),
        ));
    }
    if updated.team_id != conversation.team_id {
        let text = match (conversation.team_id, updated.team_id) {
            (_, Some(id)) => {
                let name = crate::teams::get(tx.conn(), scope, id).await?.name;
                format!("Assigned to {name} team by {who}")
            }
            (Some(old), None) => {
                let name = crate::teams::get(tx.conn(), scope, old)
                    .await
                    .map(|t| t.name)
                    .unwrap_or_else(|_| "the team".into());
                format!("Unassigned from {name} by {who}")
            }
            (None, None) => String::new(),
        };
        messages::create_activity(
            tx,
            scope,
            &updated,
            text,
            json!({ "kind": "team_changed", "team_id": updated.team_id, "actor": who }),
        )
        .await?;
        diff.push((
            "team_id",
            json!(conversation.team_id),
            json!(updated.team_id),
        ));
    }
    events::conversation_changed_by(
        tx,
        EventKind::ConversationUpdated,
        &updated,
        Some(changed(&diff)),
        scope.user_id(),
    )
    .await?;
    Ok(updated)
}

pub async fn labels_of(conn: &mut Conn, conversation: &Conversation) -> Result<Vec<String>> {
    labels::titles_of(conn, Tagged::Conversation(conversation.id)).await
}

/// Replaces the label set (Chatwoot's POST conversations/{id}/labels).
pub async fn set_labels(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    titles: &[String],
) -> Result<Vec<String>> {
    let before = labels_of(tx.conn(), conversation).await?;
    let (added, removed) = labels::replace(
        tx.conn(),
        scope.account_id(),
        Tagged::Conversation(conversation.id),
        titles,
    )
    .await?;
    if added.is_empty() && removed.is_empty() {
        return Ok(before);
    }
    let who = actor_name(tx.conn(), scope).await?;
    if !added.is_empty() {
        messages::create_activity(
            tx,
            scope,
            conversation,
            format!("{who} added {}", added.join(", ")),
            json!({ "kind": "labels_added", "labels": added, "actor": who }),
        )
        .await?;
    }
    if !removed.is_empty() {
        messages::create_activity(
            tx,
            scope,
            conversation,
            format!("{who} removed {}", removed.join(", ")),
            json!({ "kind": "labels_removed", "labels": removed, "actor": who }),
        )
        .await?;
    }
    let after = labels_of(tx.conn(), conversation).await?;
    let current = messages::conversation_by_id(tx.conn(), conversation.id).await?;
    let diff = changed(&[("label_list", json!(before), json!(after))]);
    events::conversation(tx, EventKind::ConversationUpdated, &current, Some(diff)).await?;
    Ok(after)
}

/// Replaces the custom attributes, as Chatwoot's endpoint does.
pub async fn set_custom_attributes(
    tx: &mut Tx,
    conversation: &Conversation,
    attributes: Value,
) -> Result<Conversation> {
    if conversation.custom_attributes == attributes {
        return Ok(conversation.clone());
    }
    let mut next = conversation.clone();
    next.custom_attributes = attributes;
    let updated = save(tx, &next).await?;
    let diff = changed(&[(
        "custom_attributes",
        conversation.custom_attributes.clone(),
        updated.custom_attributes.clone(),
    )]);
    events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(diff)).await?;
    Ok(updated)
}

/// Adds to the additional attributes (the visitor's page, browser and language); keys given
/// replace the stored ones, others stay.
pub async fn merge_additional_attributes(
    tx: &mut Tx,
    conversation: &Conversation,
    attributes: serde_json::Map<String, Value>,
) -> Result<Conversation> {
    let mut merged = conversation.additional_attributes.clone();
    crate::accounts::merge_object(&mut merged, attributes);
    if merged == conversation.additional_attributes {
        return Ok(conversation.clone());
    }
    let mut next = conversation.clone();
    next.additional_attributes = merged;
    let updated = save(tx, &next).await?;
    let diff = changed(&[(
        "additional_attributes",
        conversation.additional_attributes.clone(),
        updated.additional_attributes.clone(),
    )]);
    events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(diff)).await?;
    Ok(updated)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seer {
    Agent { user_id: i64 },
    Contact,
}

/// Marks the conversation read by an agent (resets the unread count) or by the contact.
pub async fn mark_seen(
    tx: &mut Tx,
    conversation: &Conversation,
    seer: Seer,
) -> Result<Conversation> {
    let now = now_ms();
    let mut next = conversation.clone();
    match seer {
        Seer::Agent { user_id } => {
            next.agent_last_seen_at = Some(now);
            if conversation.assignee_id == Some(user_id) {
                next.assignee_last_seen_at = Some(now);
            }
        }
        Seer::Contact => next.contact_last_seen_at = Some(now),
    }
    save(tx, &next).await
}

/// Snoozed conversations whose time has come, across all accounts (timer).
pub async fn due_snoozes(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Conversation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE status = 'snoozed' \
         AND snoozed_until IS NOT NULL AND snoozed_until <= $1 ORDER BY snoozed_until LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(records::conversation).collect()
}

/// When the next snooze ends, so the timer can sleep until then.
pub async fn next_snooze_end(conn: &mut Conn) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MIN(snoozed_until) AS next FROM conversations \
         WHERE status = 'snoozed' AND snoozed_until IS NOT NULL",
    )
    .fetch_one(conn)
    .await?;
    row.opt_int("next")
}

/// Deletes a conversation and its messages (administrators).
pub async fn delete(tx: &mut Tx, scope: &AccountScope, conversation: &Conversation) -> Result<()> {
    sqlx::query("DELETE FROM conversations WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(conversation.id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Conversations started through one identity (the Client API shows a visitor only these).
pub async fn of_identity(
    conn: &mut Conn,
    scope: &AccountScope,
    identity_id: i64,
) -> Result<Vec<Conversation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND contact_inbox_id = $2 \
         ORDER BY last_activity_at DESC, id DESC"
    )))
    .bind(scope.account_id())
    .bind(identity_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(records::conversation).collect()
}

/// A conversation by its uuid (the token of its reply address).
pub async fn by_uuid(
    conn: &mut Conn,
    scope: &AccountScope,
    uuid: &str,
) -> Result<Option<Conversation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND uuid = $2"
    )))
    .bind(scope.account_id())
    .bind(uuid.to_ascii_lowercase())
    .fetch_optional(conn)
    .await?;
    row.map(|r| records::conversation(&r)).transpose()
}

/// A conversation by its internal id (as threading keys record it), within the account.
pub async fn by_internal_id(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
) -> Result<Conversation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::conversation(&row)
}

/// Mutes or unmutes the conversation (Chatwoot's `mute`: muting also resolves it). The
/// activity line and `conversation_updated` say so.
pub async fn set_muted(
    tx: &mut Tx,
    scope: &AccountScope,
    conversation: &Conversation,
    muted: bool,
) -> Result<Conversation> {
    let mut current = conversation.clone();
    if muted && current.status != Status::Resolved {
        current = set_status(
            tx,
            scope,
            &current,
            StatusRequest::Set {
                status: Status::Resolved,
                snoozed_until: None,
            },
        )
        .await?
        .0;
    }
    if current.muted == muted {
        return Ok(current);
    }
    let mut next = current.clone();
    next.muted = muted;
    let updated = save(tx, &next).await?;
    let who = actor_name(tx.conn(), scope).await?;
    let text = if muted {
        format!("{who} has muted the conversation")
    } else {
        format!("{who} has unmuted the conversation")
    };
    messages::create_activity(
        tx,
        scope,
        &updated,
        text,
        json!({ "kind": if muted { "muted" } else { "unmuted" }, "actor": who }),
    )
    .await?;
    let diff = changed(&[("muted", json!(current.muted), json!(muted))]);
    events::conversation(tx, EventKind::ConversationUpdated, &updated, Some(diff)).await?;
    Ok(updated)
}

/// The agent who last replied to the customer in the conversation (public replies only).
pub async fn last_responding_agent(
    conn: &mut Conn,
    conversation: &Conversation,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT sender_id FROM messages WHERE conversation_id = $1 AND message_type = 1 \
         AND sender_type = 'User' AND private = FALSE ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation.id)
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// The contact's conversation with the latest activity, if any.
pub async fn latest_of_contact(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Option<Conversation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 \
         AND contact_id = $2 ORDER BY last_activity_at DESC, id DESC LIMIT 1"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| records::conversation(&r)).transpose()
}

/// The inbox of the customer's incoming message before `message_id` in the same
/// conversation (to tell when they moved to another channel).
pub async fn previous_incoming_inbox(
    conn: &mut Conn,
    conversation_id: i64,
    message_id: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT inbox_id FROM messages WHERE conversation_id = $1 AND message_type = 0 \
         AND id < $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation_id)
    .bind(message_id)
    .fetch_optional(conn)
    .await?)
}

/// The latest conversations of the account (for previewing a rule), newest first.
pub async fn latest(
    conn: &mut Conn,
    scope: &AccountScope,
    limit: i64,
) -> Result<Vec<Conversation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 \
         ORDER BY id DESC LIMIT $2"
    )))
    .bind(scope.account_id())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(records::conversation).collect()
}

/// The conversation as Chatwoot's webhooks carry it, as of now (an automation rule's
/// `send_webhook_event`).
pub async fn webhook_data(tx: &mut Tx, conversation: &Conversation) -> Result<Value> {
    events::conversation_body(tx, conversation, None).await
}
