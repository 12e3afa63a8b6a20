//! A user's saved filters in one account (Chatwoot's `custom_filters`): each belongs to the
//! user of the scope and is invisible to everyone else, administrators included.

use serde_json::Value;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

/// Chatwoot's `CustomFilter::MAX_FILTER_PER_USER`: per user and account.
pub const MAX_PER_USER: i64 = 50;

/// conversation, contact or report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterType {
    Conversation,
    Contact,
    Report,
}

impl FilterType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "conversation" => Some(Self::Conversation),
            "contact" => Some(Self::Contact),
            "report" => Some(Self::Report),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conversation => "conversation",
            Self::Contact => "contact",
            Self::Report => "report",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomFilter {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    pub filter_type: FilterType,
    pub query: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, account_id, user_id, name, filter_type, query, created_at, updated_at";

fn custom_filter(row: &sqlx::any::AnyRow) -> Result<CustomFilter> {
    Ok(CustomFilter {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        user_id: row.int("user_id")?,
        name: row.text("name")?,
        filter_type: row.parsed("filter_type", FilterType::parse)?,
        query: row.json("query")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// Only a user has saved filters; any other caller has none to reach.
fn owner(scope: &AccountScope) -> Result<i64> {
    scope.user_id().ok_or(StoreError::NotFound)
}

/// The scope's user's filters of one type, oldest first.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    filter_type: FilterType,
) -> Result<Vec<CustomFilter>> {
    let user_id = owner(scope)?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM custom_filters \
         WHERE account_id = $1 AND user_id = $2 AND filter_type = $3 ORDER BY id"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .bind(filter_type.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(custom_filter).collect()
}

/// One of the scope's user's filters, of any type.
pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<CustomFilter> {
    let user_id = owner(scope)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM custom_filters WHERE account_id = $1 AND user_id = $2 AND id = $3"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    custom_filter(&row)
}

/// Saves a filter for the scope's user; refused past [`MAX_PER_USER`] in the account.
pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    name: &str,
    filter_type: FilterType,
    query: &Value,
) -> Result<CustomFilter> {
    let user_id = owner(scope)?;
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM custom_filters WHERE account_id = $1 AND user_id = $2",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if count >= MAX_PER_USER {
        return Err(StoreError::Refused(format!(
            "Limit reached. The maximum number of allowed custom filters for a user per account is {MAX_PER_USER}."
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO custom_filters (account_id, user_id, name, filter_type, query, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .bind(name)
    .bind(filter_type.as_str())
    .bind(query.to_string())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    custom_filter(&row)
}

/// What an update changes; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub filter_type: Option<FilterType>,
    pub query: Option<Value>,
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    changes: Changes,
) -> Result<CustomFilter> {
    let current = get(&mut *conn, scope, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE custom_filters SET name = $4, filter_type = $5, query = $6, updated_at = $7 \
         WHERE account_id = $1 AND user_id = $2 AND id = $3 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(current.user_id)
    .bind(id)
    .bind(changes.name.unwrap_or(current.name))
    .bind(changes.filter_type.unwrap_or(current.filter_type).as_str())
    .bind(changes.query.unwrap_or(current.query).to_string())
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    custom_filter(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let user_id = owner(scope)?;
    let done = sqlx::query(
        "DELETE FROM custom_filters WHERE account_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(scope.account_id())
    .bind(user_id)
    .bind(id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
