//! Macros (Chatwoot's `macros`): a named list of actions an agent runs on a conversation with
//! one click. `global` ones are the account's; `personal` ones only their author's.

use serde_json::Value;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Personal,
    Global,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Global => "global",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(Self::Personal),
            "global" => Some(Self::Global),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Macro {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub visibility: Visibility,
    pub actions: Value,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Most macros one account may hold.
pub const MAX_MACROS: i64 = 500;

const COLUMNS: &str =
    "id, account_id, name, visibility, actions, created_by, updated_by, created_at, updated_at";

fn record(row: &sqlx::any::AnyRow) -> Result<Macro> {
    Ok(Macro {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        visibility: row.parsed("visibility", Visibility::parse)?,
        actions: row.json("actions")?,
        created_by: row.opt_int("created_by")?,
        updated_by: row.opt_int("updated_by")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// The macros the scope's user may see and run: the account's global ones and their own
/// personal ones, oldest first.
pub async fn visible(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Macro>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM macros WHERE account_id = $1 \
         AND (visibility = 'global' OR created_by = $2) ORDER BY id"
    )))
    .bind(scope.account_id())
    .bind(scope.user_id().unwrap_or(0))
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

/// One macro the scope's user may see (another's personal macro is not found).
pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Macro> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM macros WHERE account_id = $1 AND id = $2 \
         AND (visibility = 'global' OR created_by = $3)"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(scope.user_id().unwrap_or(0))
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

#[derive(Clone, Debug)]
pub struct MacroFields {
    pub name: String,
    pub visibility: Visibility,
    pub actions: Value,
}

pub async fn create(conn: &mut Conn, scope: &AccountScope, fields: &MacroFields) -> Result<Macro> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM macros WHERE account_id = $1")
        .bind(scope.account_id())
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_MACROS {
        return Err(StoreError::Refused(format!(
            "an account holds at most {MAX_MACROS} macros"
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO macros (account_id, name, visibility, actions, created_by, updated_by, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $6) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&fields.name)
    .bind(fields.visibility.as_str())
    .bind(fields.actions.to_string())
    .bind(scope.user_id())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    record(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    fields: &MacroFields,
) -> Result<Macro> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE macros SET name = $3, visibility = $4, actions = $5, updated_by = $6, \
           updated_at = $7 WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(&fields.name)
    .bind(fields.visibility.as_str())
    .bind(fields.actions.to_string())
    .bind(scope.user_id())
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM macros WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records that `m` ran on the conversation (the outbox event its `send_webhook_event`
/// deliveries hang on); returns the event's id.
pub async fn record_execution(
    tx: &mut crate::db::Tx,
    scope: &AccountScope,
    m: &Macro,
    conversation: &throughline_core::model::Conversation,
) -> Result<i64> {
    tx.emit(throughline_core::event::NewEvent {
        kind: throughline_core::event::EventKind::MacroExecuted,
        account_id: scope.account_id(),
        conversation_id: Some(conversation.id),
        contact_id: Some(conversation.contact_id),
        inbox_id: Some(conversation.inbox_id),
        payload: serde_json::json!({
            "macro": {"id": m.id, "name": m.name},
            "conversation_id": conversation.display_id,
            "user_id": scope.user_id(),
        }),
    })
    .await
}
