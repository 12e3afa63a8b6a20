//! Automation rules (Chatwoot's `automation_rules`) and their execution log.
//!
//! Rules are stored as the administrator wrote them (conditions and actions as JSON lists) and
//! checked by `throughline_core::automation` when saved and again when run. A run row is
//! written in the transaction that does the rule's actions, unique per (rule, event): a batch
//! redone after a crash finds it and does not act twice.

use serde::Serialize;
use serde_json::Value;

use crate::Conn;
use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub event_name: String,
    pub conditions: Value,
    pub actions: Value,
    pub active: bool,
    pub delay_minutes: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A rule's fields as saved (already checked).
#[derive(Clone, Debug)]
pub struct RuleFields {
    pub name: String,
    pub description: Option<String>,
    pub event_name: String,
    pub conditions: Value,
    pub actions: Value,
    pub active: bool,
    pub delay_minutes: i64,
}

/// Most rules one account may hold.
pub const MAX_RULES: i64 = 200;

const COLUMNS: &str = "id, account_id, name, description, event_name, conditions, actions, \
     active, delay_minutes, created_at, updated_at";

fn rule(row: &sqlx::any::AnyRow) -> Result<Rule> {
    Ok(Rule {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        event_name: row.text("event_name")?,
        conditions: row.json("conditions")?,
        actions: row.json("actions")?,
        active: row.flag("active")?,
        delay_minutes: row.int("delay_minutes")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub async fn list(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Rule>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM automation_rules WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(rule).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Rule> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM automation_rules WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    rule(&row)
}

/// The account's active rules listening to any of `events`, oldest first (the order they run).
pub async fn active_for(conn: &mut Conn, account_id: i64, events: &[&str]) -> Result<Vec<Rule>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..events.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM automation_rules WHERE account_id = $1 AND active = TRUE \
         AND event_name IN ({}) ORDER BY id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for e in events {
        query = query.bind(*e);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(rule).collect()
}

pub async fn create(conn: &mut Conn, scope: &AccountScope, fields: &RuleFields) -> Result<Rule> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM automation_rules WHERE account_id = $1")
            .bind(scope.account_id())
            .fetch_one(&mut *conn)
            .await?;
    if count >= MAX_RULES {
        return Err(StoreError::Refused(format!(
            "an account holds at most {MAX_RULES} automation rules"
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO automation_rules (account_id, name, description, event_name, conditions, \
           actions, active, delay_minutes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&fields.name)
    .bind(fields.description.as_deref())
    .bind(&fields.event_name)
    .bind(fields.conditions.to_string())
    .bind(fields.actions.to_string())
    .bind(fields.active)
    .bind(fields.delay_minutes)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    rule(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    fields: &RuleFields,
) -> Result<Rule> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE automation_rules SET name = $3, description = $4, event_name = $5, \
           conditions = $6, actions = $7, active = $8, delay_minutes = $9, updated_at = $10 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(&fields.name)
    .bind(fields.description.as_deref())
    .bind(&fields.event_name)
    .bind(fields.conditions.to_string())
    .bind(fields.actions.to_string())
    .bind(fields.active)
    .bind(fields.delay_minutes)
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    rule(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM automation_rules WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// What happened when a rule met an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Delayed: the actions run at `due_at` if the conditions still hold then.
    Scheduled,
    Acted,
    /// Some action could not be done (the detail says which and why); the others were.
    Failed,
    /// Delayed, and the conditions no longer held when it was due.
    Lapsed,
    /// The rule matched an event its own actions (or a too-long chain of rules) caused.
    Stopped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Acted => "acted",
            Self::Failed => "failed",
            Self::Lapsed => "lapsed",
            Self::Stopped => "stopped",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Scheduled,
            Self::Acted,
            Self::Failed,
            Self::Lapsed,
            Self::Stopped,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub account_id: i64,
    pub rule_id: i64,
    pub event_id: i64,
    pub event_name: String,
    pub conversation_id: Option<i64>,
    /// The rules whose actions caused the event (oldest first).
    pub chain: Vec<i64>,
    pub outcome: Outcome,
    /// One entry per action: `{action, ok, error?}`, or why the run stopped.
    pub detail: Value,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const RUN_COLUMNS: &str = "id, account_id, rule_id, event_id, event_name, conversation_id, chain, outcome, \
     detail, due_at, created_at, updated_at";

fn run(row: &sqlx::any::AnyRow) -> Result<Run> {
    Ok(Run {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        rule_id: row.int("rule_id")?,
        event_id: row.int("event_id")?,
        event_name: row.text("event_name")?,
        conversation_id: row.opt_int("conversation_id")?,
        chain: row
            .text("chain")?
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect(),
        outcome: row.parsed("outcome", Outcome::parse)?,
        detail: row.json("detail")?,
        due_at: row.opt_int("due_at")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub account_id: i64,
    pub rule_id: i64,
    pub event_id: i64,
    pub event_name: &'a str,
    pub conversation_id: Option<i64>,
    pub chain: &'a [i64],
    pub outcome: Outcome,
    pub detail: &'a Value,
    pub due_at: Option<i64>,
}

/// Records a run; `None` when this rule already ran on this event (a redone batch).
pub async fn record_run(tx: &mut Tx, new: NewRun<'_>) -> Result<Option<i64>> {
    let chain = new
        .chain
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO automation_runs (account_id, rule_id, event_id, event_name, \
           conversation_id, chain, outcome, detail, due_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (rule_id, event_id) DO NOTHING RETURNING id",
    )
    .bind(new.account_id)
    .bind(new.rule_id)
    .bind(new.event_id)
    .bind(new.event_name)
    .bind(new.conversation_id)
    .bind(chain)
    .bind(new.outcome.as_str())
    .bind(new.detail.to_string())
    .bind(new.due_at)
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?;
    Ok(id)
}

/// Whether this rule already ran (or was scheduled) on this event.
pub async fn has_run(conn: &mut Conn, rule_id: i64, event_id: i64) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automation_runs WHERE rule_id = $1 AND event_id = $2")
            .bind(rule_id)
            .bind(event_id)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// A rule's latest runs, newest first, before the run id `before` (paging).
pub async fn runs_of(
    conn: &mut Conn,
    scope: &AccountScope,
    rule_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Run>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM automation_runs \
         WHERE account_id = $1 AND rule_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
    )))
    .bind(scope.account_id())
    .bind(rule_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(run).collect()
}

/// Delayed runs whose time has come, oldest first.
pub async fn due_runs(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Run>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM automation_runs WHERE outcome = 'scheduled' AND due_at <= $1 \
         ORDER BY due_at, id LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(run).collect()
}

/// When the next delayed run is due.
pub async fn next_due(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(due_at) FROM automation_runs WHERE outcome = 'scheduled'")
            .fetch_one(conn)
            .await?,
    )
}

/// Settles a delayed run in the transaction that acts on it; false when another process (or
/// an earlier attempt) already settled it.
pub async fn settle(tx: &mut Tx, run_id: i64, outcome: Outcome, detail: &Value) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE automation_runs SET outcome = $2, detail = $3, updated_at = $4 \
         WHERE id = $1 AND outcome = 'scheduled'",
    )
    .bind(run_id)
    .bind(outcome.as_str())
    .bind(detail.to_string())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets settled runs older than `before` (the log keeps a window, not history forever).
pub async fn prune_runs(conn: &mut Conn, before: i64) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM automation_runs WHERE outcome <> 'scheduled' AND updated_at < $1")
            .bind(before)
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}

/// Writes the outcome of a run acted on after it was claimed.
pub async fn record_outcome(
    tx: &mut Tx,
    run_id: i64,
    outcome: Outcome,
    detail: &Value,
) -> Result<()> {
    sqlx::query(
        "UPDATE automation_runs SET outcome = $2, detail = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(run_id)
    .bind(outcome.as_str())
    .bind(detail.to_string())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}
