//! The transactional outbox: events written with their change, read in commit order by
//! consumers that each keep a durable cursor.
//!
//! Ordering. On SQLite there is one writer, so id order is commit order. On PostgreSQL ids are
//! handed out before commit, so a slow transaction can commit an older id after a newer one is
//! visible. Each event therefore records its transaction id (`tx_order`, a column default), and
//! readers only take events whose transaction is older than every transaction still running
//! (`pg_snapshot_xmin`). Those are final: nothing can appear before them any more. Readers
//! order by (tx_order, id) and resume after the last pair they processed.

use sqlx::AnyConnection;
use throughline_core::event::{EventKind, NewEvent, StoredEvent};

use crate::clock::now_ms;
use crate::db::{Backend, Tx};
use crate::error::{Result, StoreError};
use crate::rows::RowExt;

pub use throughline_core::event::Cursor;

impl Tx {
    /// Appends a domain event; it becomes visible to consumers when the transaction commits.
    pub async fn emit(&mut self, event: NewEvent) -> Result<i64> {
        let payload = event.payload.to_string();
        let chain = self.automation_chain().map(str::to_owned);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox_events (account_id, kind, conversation_id, contact_id, \
               inbox_id, payload, created_at, automation_chain) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(event.account_id)
        .bind(event.kind.as_str())
        .bind(event.conversation_id)
        .bind(event.contact_id)
        .bind(event.inbox_id)
        .bind(payload)
        .bind(now_ms())
        .bind(chain)
        .fetch_one(self.conn())
        .await?;
        self.mark_emitted();
        Ok(id)
    }
}

const EVENT_COLUMNS: &str = "id, tx_order, account_id, kind, conversation_id, contact_id, \
     inbox_id, payload, created_at, automation_chain";

fn stored_event(row: &sqlx::any::AnyRow) -> Result<(Cursor, StoredEvent)> {
    let cursor = Cursor {
        tx_order: row.int("tx_order")?,
        event_id: row.int("id")?,
    };
    let event = StoredEvent {
        id: cursor.event_id,
        kind: row.parsed("kind", EventKind::parse)?,
        account_id: row.int("account_id")?,
        conversation_id: row.opt_int("conversation_id")?,
        contact_id: row.opt_int("contact_id")?,
        inbox_id: row.opt_int("inbox_id")?,
        payload: row.json("payload")?,
        created_at: row.int("created_at")?,
        automation_chain: row
            .opt_text("automation_chain")?
            .map(|chain| chain.split(',').filter_map(|id| id.parse().ok()).collect())
            .unwrap_or_default(),
    };
    Ok((cursor, event))
}

fn visible_horizon(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => {
            " AND tx_order < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        }
    }
}

/// Up to `limit` final events after `cursor`, in commit order. The condition is written so
/// each database seeks the (tx_order, id) index instead of scanning every event ever written:
/// on SQLite tx_order is always 0, so it is an equality plus an id range; PostgreSQL ranges
/// over the row value.
pub async fn read_after(
    conn: &mut AnyConnection,
    backend: Backend,
    cursor: Cursor,
    limit: i64,
) -> Result<Vec<(Cursor, StoredEvent)>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events \
         WHERE {}{} ORDER BY tx_order, id LIMIT $3",
        match backend {
            Backend::Sqlite => "tx_order = $1 AND id > $2",
            Backend::Postgres => "(tx_order, id) > ($1, $2)",
        },
        visible_horizon(backend)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cursor.tx_order)
        .bind(cursor.event_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(stored_event).collect()
}

/// The cursor just past the newest final event: a consumer starting here sees only new events.
pub async fn head(conn: &mut AnyConnection, backend: Backend) -> Result<Cursor> {
    let sql = format!(
        "SELECT tx_order, id FROM outbox_events WHERE 1 = 1{} \
         ORDER BY tx_order DESC, id DESC LIMIT 1",
        visible_horizon(backend)
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => Ok(Cursor {
            tx_order: r.int("tx_order")?,
            event_id: r.int("id")?,
        }),
        None => Ok(Cursor::default()),
    }
}

pub async fn load_cursor(conn: &mut AnyConnection, consumer: &str) -> Result<Option<Cursor>> {
    let row = sqlx::query("SELECT tx_order, event_id FROM consumer_cursors WHERE consumer = $1")
        .bind(consumer)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(Cursor {
            tx_order: r.int("tx_order")?,
            event_id: r.int("event_id")?,
        })
    })
    .transpose()
}

pub async fn save_cursor(conn: &mut AnyConnection, consumer: &str, cursor: Cursor) -> Result<()> {
    sqlx::query(
        "INSERT INTO consumer_cursors (consumer, tx_order, event_id, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer) DO UPDATE SET tx_order = excluded.tx_order, \
           event_id = excluded.event_id, updated_at = excluded.updated_at",
    )
    .bind(consumer)
    .bind(cursor.tx_order)
    .bind(cursor.event_id)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The cursor of `consumer`, creating it at the current head on first use so a newly added
/// consumer does not replay history.
pub async fn cursor_or_head(tx: &mut Tx, consumer: &str) -> Result<Cursor> {
    if let Some(c) = load_cursor(tx.conn(), consumer).await? {
        return Ok(c);
    }
    let backend = tx.store().backend();
    let start = head(tx.conn(), backend).await?;
    save_cursor(tx.conn(), consumer, start).await?;
    Ok(start)
}

/// Events of one account after an event id, for clients resuming a realtime stream.
pub async fn account_events_after(
    conn: &mut AnyConnection,
    account_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events WHERE account_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| stored_event(r).map(|(_, e)| e))
        .collect()
}

pub async fn event(conn: &mut AnyConnection, id: i64) -> Result<StoredEvent> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    stored_event(&row).map(|(_, e)| e)
}

/// Events about one contact after an event id, for a widget visitor resuming its stream.
pub async fn contact_events_after(
    conn: &mut AnyConnection,
    account_id: i64,
    contact_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events \
         WHERE account_id = $1 AND contact_id = $2 AND id > $3 ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(contact_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| stored_event(r).map(|(_, e)| e))
        .collect()
}

/// The newest event id (0 when there is none): where a freshly connected client stands.
pub async fn last_id(conn: &mut AnyConnection) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM outbox_events")
        .fetch_one(conn)
        .await?;
    Ok(id.unwrap_or(0))
}

/// Deletes at most `limit` events older than `older_than` that every durable consumer has
/// passed (by its cursor) and no delayed automation run still hangs on; returns how many.
/// Nothing is deleted before the consumers have saved a cursor.
pub async fn prune(conn: &mut AnyConnection, older_than: i64, limit: i64) -> Result<u64> {
    let slowest = sqlx::query(
        "SELECT tx_order, event_id FROM consumer_cursors ORDER BY tx_order, event_id LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(slowest) = slowest else {
        return Ok(0);
    };
    let (tx_order, event_id) = (slowest.int("tx_order")?, slowest.int("event_id")?);
    let done = sqlx::query(
        "DELETE FROM outbox_events WHERE id IN (SELECT id FROM outbox_events \
           WHERE created_at < $1 AND (tx_order < $2 OR (tx_order = $2 AND id <= $3)) \
           AND id NOT IN (SELECT event_id FROM automation_runs WHERE outcome = 'scheduled') \
           ORDER BY id LIMIT $4)",
    )
    .bind(older_than)
    .bind(tx_order)
    .bind(event_id)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The oldest event still kept (a realtime client resuming from before it missed events
/// that are gone, and must refetch instead).
pub async fn oldest_id(conn: &mut AnyConnection) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT MIN(id) FROM outbox_events")
        .fetch_one(conn)
        .await?)
}
