//! Fresh databases for tests: a SQLite file in a temporary directory, or a new PostgreSQL
//! database on the local server (`THROUGHLINE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each test gets its own; PostgreSQL
//! databases are dropped when the guard goes out of scope.

use std::path::PathBuf;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::db::Backend;

pub const PG_ADMIN_URL_VAR: &str = "THROUGHLINE_TEST_PG_URL";
pub const TEST_DB_PREFIX: &str = "tl_test_";

fn pg_admin_url() -> String {
    std::env::var(PG_ADMIN_URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        let dir = std::env::temp_dir().join(format!("throughline-test-{}", uuid::Uuid::new_v4()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        match backend {
            Backend::Sqlite => Self {
                backend,
                url: format!("sqlite://{}/throughline.db", dir.display()),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("{TEST_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
                let admin = pg_admin_url();
                let mut conn = match PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) => panic!(
                        "PostgreSQL is needed for this test ({admin}): {e}. \
                         Start it with .ci/run or set {PG_ADMIN_URL_VAR}."
                    ),
                };
                if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                {
                    panic!("cannot create test database {name}: {e}");
                }
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Self {
                    backend,
                    url: format!("{base}/{name}"),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop needs async I/O; do it on a helper thread with its own small runtime so it works
        // from inside or outside a Tokio runtime.
        let admin = pg_admin_url();
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}
