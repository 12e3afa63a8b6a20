//! The audit log: one row per recorded change, written with one INSERT in the transaction of
//! the change it records (a change rolled back leaves no entry), read by the account's
//! administrators newest first, never updated (a trigger refuses it), deleted only by the
//! retention sweep. Entries hold ids, names and settings, never a customer's details, and pass
//! through `core::audit::redact` on the way in, whatever built them.

use serde_json::Value;
use throughline_core::Millis;
pub use throughline_core::audit::{AuditEntry, Change, Origin, action, kind};
use throughline_core::audit::{redact, retention_days};

use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use crate::{Conn, Store};

const COLUMNS: &str = "id, account_id, auditable_type, auditable_id, auditable, action, \
     audited_changes, user_id, user_type, username, remote_address, created_at";

fn entry(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        auditable_type: row.text("auditable_type")?,
        auditable_id: row.int("auditable_id")?,
        auditable: row.json("auditable")?,
        action: row.text("action")?,
        audited_changes: row.json("audited_changes")?,
        user_id: row.opt_int("user_id")?,
        user_type: row.opt_text("user_type")?,
        username: row.opt_text("username")?,
        remote_address: row.opt_text("remote_address")?,
        created_at: row.int("created_at")?,
    })
}

/// The two JSON columns of a change, redacted.
fn json_columns(change: &Change) -> (String, String) {
    let mut auditable = Value::Object(change.auditable.clone());
    let mut changes = Value::Object(change.changes.clone());
    redact(&mut auditable);
    redact(&mut changes);
    (auditable.to_string(), changes.to_string())
}

/// Records `change` in the scope's account. Call it on the connection of the transaction that
/// makes the change. An update that changed nothing records nothing.
pub async fn record(
    conn: &mut Conn,
    scope: &AccountScope,
    origin: &Origin,
    change: Change,
) -> Result<()> {
    if change.is_noop() {
        return Ok(());
    }
    let (auditable, changes) = json_columns(&change);
    sqlx::query(
        "INSERT INTO audit_logs (account_id, auditable_type, auditable_id, auditable, action, \
           audited_changes, user_id, user_type, username, remote_address, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(scope.account_id())
    .bind(change.auditable_type)
    .bind(change.auditable_id)
    .bind(auditable)
    .bind(change.action)
    .bind(changes)
    .bind(origin.user_id)
    .bind(origin.user_type)
    .bind(origin.username.as_deref())
    .bind(origin.remote_address.as_deref())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records `change` in a transaction of its own, for a change that already committed its own
/// (or has none): a privacy erasure run by the service, a failed sign-in.
pub async fn record_alone(
    store: &Store,
    scope: &AccountScope,
    origin: &Origin,
    change: Change,
) -> Result<()> {
    let mut tx = store.begin().await?;
    record(tx.conn(), scope, origin, change).await?;
    tx.commit().await
}

/// Records `change` about a user in every account the user belongs to (sign-ins, sign-outs,
/// their access token), with one INSERT. Answers how many accounts got the entry.
pub async fn record_for_user_unscoped(
    conn: &mut Conn,
    user_id: i64,
    origin: &Origin,
    change: Change,
) -> Result<u64> {
    let (auditable, changes) = json_columns(&change);
    let done = sqlx::query(
        "INSERT INTO audit_logs (account_id, auditable_type, auditable_id, auditable, action, \
           audited_changes, user_id, user_type, username, remote_address, created_at) \
         SELECT account_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         FROM account_users WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(change.auditable_type)
    .bind(change.auditable_id)
    .bind(auditable)
    .bind(change.action)
    .bind(changes)
    .bind(origin.user_id)
    .bind(origin.user_type)
    .bind(origin.username.as_deref())
    .bind(origin.remote_address.as_deref())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// What to list; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub auditable_type: Option<String>,
    pub auditable_id: Option<i64>,
    /// The actor.
    pub user_id: Option<i64>,
    /// Entries at or after this time…
    pub since: Option<Millis>,
    /// …and before this one.
    pub until: Option<Millis>,
}

fn filtered(q: &mut SqlBuilder, scope: &AccountScope, f: &Filter) {
    q.push(" WHERE account_id = ").bind(scope.account_id());
    if let Some(v) = &f.action {
        q.push(" AND action = ").bind(v.as_str());
    }
    if let Some(v) = &f.auditable_type {
        q.push(" AND auditable_type = ").bind(v.as_str());
    }
    if let Some(v) = f.auditable_id {
        q.push(" AND auditable_id = ").bind(v);
    }
    if let Some(v) = f.user_id {
        q.push(" AND user_id = ").bind(v);
    }
    if let Some(v) = f.since {
        q.push(" AND created_at >= ").bind(v);
    }
    if let Some(v) = f.until {
        q.push(" AND created_at < ").bind(v);
    }
}

/// A page of the account's entries, newest first, and how many match in all. Administrators
/// only.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditEntry>, i64)> {
    if !scope.can_administer() {
        return Err(StoreError::Refused(
            "only administrators read the audit log".into(),
        ));
    }
    let mut count = SqlBuilder::new("SELECT COUNT(*) AS n FROM audit_logs");
    filtered(&mut count, scope, filter);
    let total = count.build().fetch_one(&mut *conn).await?.int("n")?;
    let mut q = SqlBuilder::new(&format!("SELECT {COLUMNS} FROM audit_logs"));
    filtered(&mut q, scope, filter);
    q.push(" ORDER BY id DESC LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = q.build().fetch_all(&mut *conn).await?;
    Ok((rows.iter().map(entry).collect::<Result<_>>()?, total))
}

/// What one retention sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub deleted: u64,
    /// Batches ran out before every account's old entries were gone.
    pub more_due: bool,
}

/// Deletes entries older than each account's retention (`audit_log_retention_days`, default
/// 365) as of `now`, `batch` rows per transaction and at most `max_batches` transactions per
/// account, so a large backlog never holds a long write lock.
pub async fn sweep_expired_unscoped(
    store: &Store,
    now: Millis,
    batch: i64,
    max_batches: usize,
) -> Result<Sweep> {
    let accounts: Vec<(i64, Value)> = {
        let mut conn = store.read().await?;
        let rows = sqlx::query(
            "SELECT a.id, a.settings FROM accounts a \
             WHERE EXISTS (SELECT 1 FROM audit_logs l WHERE l.account_id = a.id) ORDER BY a.id",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.int("id")?, r.json("settings")?)))
            .collect::<Result<_>>()?
    };
    let mut sweep = Sweep::default();
    for (account_id, settings) in accounts {
        let cutoff = now - retention_days(&settings) * 86_400_000;
        let mut batches = 0;
        loop {
            if batches == max_batches {
                sweep.more_due = true;
                break;
            }
            let mut tx = store.begin().await?;
            let done = sqlx::query(
                "DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs \
                 WHERE account_id = $1 AND created_at < $2 ORDER BY id LIMIT $3)",
            )
            .bind(account_id)
            .bind(cutoff)
            .bind(batch)
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            batches += 1;
            sweep.deleted += done.rows_affected();
            if done.rows_affected() < u64::try_from(batch).unwrap_or(0) {
                break;
            }
        }
    }
    Ok(sweep)
}
