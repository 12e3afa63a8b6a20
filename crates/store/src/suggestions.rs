//! Merge suggestions: pairs of contacts that may be one person, with the reason, for an agent
//! to merge or dismiss. A merge removes the merged contact and with it its suggestions.

use serde::Serialize;
use throughline_core::linking::Reason;

use crate::Conn;
use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub id: i64,
    pub contact_id: i64,
    pub candidate_id: i64,
    pub reason: String,
    pub detail: Option<String>,
    pub status: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, contact_id, candidate_id, reason, detail, status, created_at";

fn record(row: &sqlx::any::AnyRow) -> Result<Suggestion> {
    Ok(Suggestion {
        id: row.int("id")?,
        contact_id: row.int("contact_id")?,
        candidate_id: row.int("candidate_id")?,
        reason: row.text("reason")?,
        detail: row.opt_text("detail")?,
        status: row.text("status")?,
        created_at: row.int("created_at")?,
    })
}

/// Records that `contact_id` may be `candidate_id`; a pair already suggested (either way
/// round) is left as it is, so a dismissed pair stays dismissed.
pub async fn suggest(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    candidate_id: i64,
    reason: Reason,
    detail: Option<&str>,
) -> Result<()> {
    if contact_id == candidate_id {
        return Ok(());
    }
    let (a, b) = (contact_id.min(candidate_id), contact_id.max(candidate_id));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO merge_suggestions (account_id, contact_id, candidate_id, reason, detail, \
           status, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, 'open', $6, $6 \
         WHERE (SELECT COUNT(*) FROM contacts WHERE account_id = $1 AND id IN ($2, $3)) = 2 \
         ON CONFLICT (account_id, contact_id, candidate_id) DO NOTHING",
    )
    .bind(scope.account_id())
    .bind(a)
    .bind(b)
    .bind(reason.as_str())
    .bind(detail)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Open suggestions, for one contact or the whole account, newest first.
pub async fn open(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Suggestion>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merge_suggestions WHERE account_id = $1 AND status = 'open' \
           AND ($2 = 0 OR contact_id = $2 OR candidate_id = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    )))
    .bind(scope.account_id())
    .bind(contact_id.unwrap_or(0))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(record).collect()
}

/// An agent decided the two are different people.
pub async fn dismiss(tx: &mut Tx, scope: &AccountScope, id: i64) -> Result<Suggestion> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE merge_suggestions SET status = 'dismissed', updated_at = $3 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound)?;
    record(&row)
}

/// Suggests merging the conversation's contact with the contacts whose email an incoming
/// message mentions ("my other address is …"), with the address as the detail.
pub async fn from_message(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    text: &str,
) -> Result<()> {
    if !text.contains('@') {
        return Ok(());
    }
    for email in throughline_core::linking::emails_mentioned(text) {
        let owner =
            crate::contacts::find_by(tx.conn(), scope, crate::contacts::ContactKey::Email(&email))
                .await?;
        if let Some(other) = owner.filter(|o| o.id != contact_id) {
            suggest(
                tx,
                scope,
                contact_id,
                other.id,
                Reason::EmailMentioned,
                Some(&email),
            )
            .await?;
        }
    }
    Ok(())
}
