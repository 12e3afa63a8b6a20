//! What `throughline backup` and `restore` ask of the database, and what the metrics read.
//!
//! A SQLite snapshot is taken with `VACUUM INTO` on a read-only connection of its own: it
//! runs inside one read transaction, so the copy is the database as of one commit, and under
//! WAL a reader never blocks the server's writer (nor the writer it). The online backup API
//! would do the same, but sqlx does not expose it (and this workspace forbids `unsafe`);
//! `VACUUM INTO` also writes a compact, defragmented file that needs nothing else to open.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{Connection, Row};

use crate::db::Backend;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;

/// The newest schema migration this build knows for `backend`.
pub fn latest_migration(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The file a `sqlite:` URL names.
pub fn sqlite_path(database_url: &str) -> Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(database_url)
        .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path == Path::new(":memory:") {
        return Err(StoreError::Other(
            "an in-memory SQLite database has nothing to back up".into(),
        ));
    }
    Ok(path.to_owned())
}

async fn open_sqlite(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        // The server's writer may hold the lock for a moment (a checkpoint): wait for it.
        .busy_timeout(Duration::from_secs(30));
    SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))
}

/// The highest migration applied to a database (0 for none).
async fn schema_version(conn: &mut SqliteConnection) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS version FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(conn)
    .await
    .map_err(|e| StoreError::Other(format!("no migration table: {e}")))?;
    row.try_get::<i64, _>("version")
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// Writes a consistent copy of the SQLite database at `database_url` to `dest` (which must
/// not exist yet) while the server may keep writing, and returns the copy's schema version.
/// The copy is a single file in rollback-journal mode, flushed to disk.
pub async fn sqlite_snapshot(database_url: &str, dest: &Path) -> Result<i64> {
    let source = sqlite_path(database_url)?;
    if !source.exists() {
        return Err(StoreError::Other(format!(
            "no database at {}",
            source.display()
        )));
    }
    let dest_text = dest
        .to_str()
        .ok_or_else(|| StoreError::Other(format!("{} is not UTF-8", dest.display())))?
        .to_owned();
    let mut conn = open_sqlite(&source, true).await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(dest_text)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    copied.map_err(|e| StoreError::Unavailable(format!("VACUUM INTO failed: {e}")))?;
    // The copy inherits WAL mode; make it one self-contained file, and read its level.
    let mut copy = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(dest)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Delete),
    )
    .await
    .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dest.display())))?;
    let version = schema_version(&mut copy).await;
    let _ = copy.close().await;
    let file = std::fs::File::open(dest)
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dest.display())))?;
    file.sync_all()
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dest.display())))?;
    version
}

/// Checks a SQLite file about to be restored: SQLite's own `quick_check` passes, and
/// returns its schema version.
pub async fn check_sqlite_file(path: &Path) -> Result<i64> {
    let mut conn = open_sqlite(path, true).await?;
    let checked = async {
        let rows = sqlx::query("PRAGMA quick_check")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| StoreError::Other(format!("quick_check: {e}")))?;
        let verdict: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>(0).ok())
            .collect();
        if verdict != ["ok"] {
            return Err(StoreError::Other(format!(
                "the database is damaged: {}",
                verdict.join("; ")
            )));
        }
        schema_version(&mut conn).await
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// The schema version of a PostgreSQL database, for a backup's manifest.
pub async fn postgres_schema_version(database_url: &str) -> Result<i64> {
    let mut conn = sqlx::postgres::PgConnection::connect(database_url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) AS version FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    row.map_err(|e| StoreError::Other(format!("no migration table: {e}")))?
        .try_get::<i64, _>("version")
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// Where the event consumers stand: the newest event id and each durable cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxPositions {
    pub newest_event_id: i64,
    /// (consumer, last event id it processed)
    pub consumers: Vec<(String, i64)>,
}

/// Two index lookups: the newest event (primary key) and the consumers' cursors (a few rows).
pub async fn outbox_positions(conn: &mut crate::Conn) -> Result<OutboxPositions> {
    let newest: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS newest FROM outbox_events")
        .fetch_one(&mut *conn)
        .await?
        .int("newest")?;
    let rows = sqlx::query("SELECT consumer, event_id FROM consumer_cursors ORDER BY consumer")
        .fetch_all(&mut *conn)
        .await?;
    let consumers = rows
        .iter()
        .map(|r| Ok((r.text("consumer")?, r.int("event_id")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(OutboxPositions {
        newest_event_id: newest,
        consumers,
    })
}
