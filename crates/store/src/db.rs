//! Connecting, migrating, and the two ways in: a read connection or a write transaction.
//!
//! ```text
//!   SQLite (one file, WAL)                 PostgreSQL
//!   ┌──────────────┐  ┌──────────────┐     ┌──────────────────────────────┐
//!   │ writer pool  │  │ reader pool  │     │ one pool for reads and writes│
//!   │ 1 connection │  │ N connections│     └──────────────────────────────┘
//!   │ BEGIN IMMED. │  │ snapshots    │
//!   └──────────────┘  └──────────────┘
//! ```
//! SQLite allows one writer at a time; giving it exactly one pooled connection queues writers
//! in-process instead of failing them with SQLITE_BUSY, while readers proceed in parallel.
//! Every commit is flushed (`synchronous=FULL`, `synchronous_commit=on`): an acknowledged write
//! survives a power cut.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor, Transaction};
use throughline_core::crypto::ServerKey;
use tokio::sync::watch;

use crate::error::{Result, StoreError};
use crate::links::Links;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Refuses anything but SQLite and PostgreSQL URLs rather than guessing.
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Other(format!(
                "unsupported database URL `{}`: use sqlite://path or postgres://…",
                redact_url(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub database_url: String,
    /// The URL the server is reached at, for links in payloads (attachments).
    pub public_url: String,
    /// Connections for readers (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            public_url: "http://127.0.0.1:3000".into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

struct Inner {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    key: ServerKey,
    links: Links,
    outbox_tick: watch::Sender<u64>,
    grouper: std::sync::OnceLock<crate::group::Grouper>,
}

/// A handle that does not keep the store open (for its own background tasks).
pub(crate) struct WeakStore(std::sync::Weak<Inner>);

impl WeakStore {
    pub(crate) fn upgrade(&self) -> Option<Store> {
        self.0.upgrade().map(|inner| Store { inner })
    }
}

/// The handle to the database. Cheap to clone; all clones share the pools.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish()
    }
}

pub type ReadConn = PoolConnection<Any>;

/// One connection pool's use, for the operations metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub name: &'static str,
    /// Connections open (idle or in use).
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl Store {
    /// Connects and runs pending migrations.
    pub async fn open(options: &StoreOptions, key: ServerKey) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&options.database_url)?;
        let (writer, reader) = match backend {
            Backend::Sqlite => {
                ensure_sqlite_dir(&options.database_url)?;
                let url = with_create_mode(&options.database_url);
                let writer = sqlite_pool(&url, 1, options.acquire_timeout).await?;
                // The writer creates the file and switches it to WAL before readers open it.
                migrate(&writer, backend).await?;
                let reader = sqlite_pool(
                    &url,
                    options.max_connections.max(1),
                    options.acquire_timeout,
                )
                .await?;
                (writer, reader)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.acquire_timeout)
                    // sqlx pings every connection it hands out: a round trip to the server per
                    // checkout, as dear as a statement. Under load a connection comes back within
                    // milliseconds (and sqlx pings it as it is returned); one that sat idle (the
                    // server may have restarted, a firewall may have dropped it) is still checked.
                    // A connection the server lost in the last second fails its one request with
                    // a 503 (`StoreError::Unavailable`) and is dropped.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= STALE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET synchronous_commit = on").await?;
                            Ok(())
                        })
                    })
                    .connect(&options.database_url)
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                migrate(&pool, backend).await?;
                (pool.clone(), pool)
            }
        };
        let (outbox_tick, _) = watch::channel(0);
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                writer,
                reader,
                links: Links::new(&options.public_url, key.clone()),
                key,
                outbox_tick,
                grouper: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub fn key(&self) -> &ServerKey {
        &self.inner.key
    }

    pub fn links(&self) -> &Links {
        &self.inner.links
    }

    /// A connection for reads that need no transaction.
    pub async fn read(&self) -> Result<ReadConn> {
        Ok(self.inner.reader.acquire().await?)
    }

    /// Starts a write transaction. Changes and their outbox events commit together.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.inner.backend {
            // IMMEDIATE takes the write lock up front, so a transaction that reads before it
            // writes cannot be refused half-way by another process's writer.
            Backend::Sqlite => self.inner.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.inner.writer.begin().await?,
        };
        Ok(Tx {
            tx,
            store: self.clone(),
            emitted: false,
            automation_chain: None,
        })
    }

    pub(crate) fn downgrade(&self) -> WeakStore {
        WeakStore(Arc::downgrade(&self.inner))
    }

    /// The group committers, started on first use: one on SQLite's single writer, several on
    /// PostgreSQL.
    pub(crate) fn grouper(&self) -> &crate::group::Grouper {
        self.inner.grouper.get_or_init(|| {
            let committers = match self.inner.backend {
                Backend::Sqlite => 1,
                Backend::Postgres => 4,
            };
            crate::group::Grouper::start(self, committers)
        })
    }

    /// Ticks after every commit that wrote outbox events; consumers wait on it.
    pub fn outbox_signal(&self) -> watch::Receiver<u64> {
        self.inner.outbox_tick.subscribe()
    }

    pub(crate) fn tick_outbox(&self) {
        self.inner
            .outbox_tick
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How full the connection pools are: `reader` and `writer` on SQLite, `main` on
    /// PostgreSQL (one pool for both).
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let stats = |name, pool: &AnyPool| PoolStats {
            name,
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        };
        match self.inner.backend {
            Backend::Sqlite => vec![
                stats("reader", &self.inner.reader),
                stats("writer", &self.inner.writer),
            ],
            Backend::Postgres => vec![stats("main", &self.inner.writer)],
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.inner.reader.acquire().await {
            Ok(mut c) => sqlx::query("SELECT 1").execute(&mut *c).await.is_ok(),
            Err(_) => false,
        }
    }

    pub async fn close(&self) {
        self.inner.reader.close().await;
        self.inner.writer.close().await;
    }
}

/// A write transaction. Dropping it without `commit` rolls everything back, events included.
/// See [`Tx::write_mark`].
#[derive(Clone, Copy, Debug)]
pub struct WriteMark(i64);

pub struct Tx {
    tx: Transaction<'static, Any>,
    store: Store,
    emitted: bool,
    /// Written on every event this transaction emits: the rules that caused it.
    automation_chain: Option<String>,
}

impl Tx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn mark_emitted(&mut self) {
        self.emitted = true;
    }

    /// From now on, the events this transaction emits were caused by the automation rules in
    /// `chain` (oldest first); an empty chain: by nobody's rule.
    pub fn caused_by_rules(&mut self, chain: &[i64]) {
        self.automation_chain = (!chain.is_empty()).then(|| {
            chain
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        });
    }

    /// Marks a point this transaction can return to (`name` is a fixed identifier), so one
    /// failing step does not abort the rest (PostgreSQL refuses every statement after an error
    /// until the transaction rolls back to a savepoint).
    pub async fn savepoint(&mut self, name: &'static str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SAVEPOINT {name}")))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Keeps what was done since the savepoint.
    pub async fn release(&mut self, name: &'static str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("RELEASE SAVEPOINT {name}")))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Undoes what was done since the savepoint, and forgets it.
    pub async fn roll_back_to(&mut self, name: &'static str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("ROLLBACK TO SAVEPOINT {name}")))
            .execute(self.conn())
            .await?;
        self.release(name).await
    }

    pub(crate) fn automation_chain(&self) -> Option<&str> {
        self.automation_chain.as_deref()
    }

    /// Where this transaction's changes stand now, for [`Tx::written_since`]. A consumer that
    /// may find nothing to do uses it to skip writing its cursor, so its COMMIT writes nothing
    /// (no fsync, SQLite's writer freed at once).
    pub async fn write_mark(&mut self) -> Result<WriteMark> {
        Ok(match self.store.backend() {
            Backend::Sqlite => WriteMark(
                sqlx::query_scalar::<_, i64>("SELECT total_changes()")
                    .fetch_one(self.conn())
                    .await?,
            ),
            // A PostgreSQL transaction gets an id at its first write: nothing to remember.
            Backend::Postgres => WriteMark(0),
        })
    }

    /// Whether anything was inserted, updated or deleted since `mark` (counting what a
    /// savepoint undid: a false "yes" only costs a write). On PostgreSQL: since the
    /// transaction began — take the mark first.
    pub async fn written_since(&mut self, mark: WriteMark) -> Result<bool> {
        Ok(match self.store.backend() {
            Backend::Sqlite => {
                sqlx::query_scalar::<_, i64>("SELECT total_changes()")
                    .fetch_one(self.conn())
                    .await?
                    != mark.0
            }
            Backend::Postgres => {
                sqlx::query_scalar::<_, Option<String>>("SELECT txid_current_if_assigned()::text")
                    .fetch_one(self.conn())
                    .await?
                    .is_some()
            }
        })
    }

    pub async fn commit(self) -> Result<()> {
        let Tx {
            tx, store, emitted, ..
        } = self;
        tx.commit().await?;
        if emitted {
            store.tick_outbox();
        }
        Ok(())
    }
}

fn ensure_sqlite_dir(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    Ok(())
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// How long a pooled PostgreSQL connection may sit idle before it is pinged on checkout.
const STALE_AFTER: Duration = Duration::from_secs(1);

async fn sqlite_pool(url: &str, max: u32, acquire_timeout: Duration) -> Result<AnyPool> {
    // Validate the URL with the SQLite driver's own parser for a precise error message.
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?;
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        // A connection to a local file does not go stale; sqlx's check before each checkout
        // would be one more trip to the connection's worker thread.
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

async fn migrate(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator
        .run(pool)
        .await
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_recognised_and_others_refused() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u:p@h/db").is_err());
        assert!(Backend::from_url("data/x.db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        let err = Backend::from_url("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
