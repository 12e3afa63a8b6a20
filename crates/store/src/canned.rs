//! Canned responses.

use throughline_core::model::CannedResponse;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str = "id, account_id, short_code, content, created_at, updated_at";

fn canned(row: &sqlx::any::AnyRow) -> Result<CannedResponse> {
    Ok(CannedResponse {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        short_code: row.text("short_code")?,
        content: row.text("content")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// All canned responses, or those whose short code or content contains `search`.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    search: Option<&str>,
) -> Result<Vec<CannedResponse>> {
    let pattern = search.map(|s| format!("%{}%", crate::like_escape(&s.to_lowercase())));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM canned_responses WHERE account_id = $1 \
         AND ($2 IS NULL OR LOWER(short_code) LIKE $2 ESCAPE '\\' OR LOWER(content) LIKE $2 ESCAPE '\\') \
         ORDER BY short_code"
    )))
    .bind(scope.account_id())
    .bind(pattern)
    .fetch_all(conn)
    .await?;
    rows.iter().map(canned).collect()
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<CannedResponse> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM canned_responses WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    canned(&row)
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    short_code: &str,
    content: &str,
) -> Result<CannedResponse> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO canned_responses (account_id, short_code, content, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(short_code)
    .bind(content)
    .bind(now)
    .fetch_one(conn)
    .await?;
    canned(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    short_code: Option<&str>,
    content: Option<&str>,
) -> Result<CannedResponse> {
    let cur = get(&mut *conn, scope, id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE canned_responses SET short_code = $3, content = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(short_code.unwrap_or(&cur.short_code))
    .bind(content.unwrap_or(&cur.content))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    canned(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM canned_responses WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
