//! The machine's own limits, measured in the same run so figures can be compared across
//! machines: a trivial HTTP handler's rate, single-row insert transactions on the same kind of
//! database, and a bare WebSocket broadcast.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures::StreamExt;
use serde::Serialize;
use sqlx::Connection;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize)]
pub struct MachineLimits {
    /// Requests per second a do-nothing axum handler answers to the same load generator.
    pub trivial_http_per_sec: f64,
    /// Single-row INSERT transactions per second, each durable (fsync'd).
    pub single_row_inserts_per_sec: f64,
    /// Messages per second one process pushes to many WebSocket clients.
    pub ws_broadcast_per_sec: f64,
}

async fn serve(router: Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

pub async fn trivial_http(concurrency: usize, for_how_long: Duration) -> anyhow::Result<f64> {
    let addr = serve(Router::new().route("/", get(|| async { "ok" }))).await?;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/");
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, done) = (client.clone(), url.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < for_how_long {
                if let Ok(r) = client.get(&url).send().await
                    && r.bytes().await.is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// On SQLite: a fresh file beside the data set with the same pragmas the server uses. On
/// PostgreSQL: a scratch table in the bench database, `synchronous_commit` on.
pub async fn single_row_inserts(
    database_url: &str,
    scratch_dir: &Path,
    for_how_long: Duration,
) -> anyhow::Result<f64> {
    let start;
    let mut n = 0u64;
    if database_url.starts_with("postgres") {
        let mut conn = sqlx::postgres::PgConnection::connect(database_url).await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id BIGSERIAL PRIMARY KEY, body TEXT)")
            .execute(&mut conn)
            .await?;
        start = Instant::now();
        while start.elapsed() < for_how_long {
            sqlx::query("INSERT INTO bench_raw (body) VALUES ($1)")
                .bind("a message body of ordinary length, about sixty characters")
                .execute(&mut conn)
                .await?;
            n += 1;
        }
        sqlx::query("DROP TABLE bench_raw")
            .execute(&mut conn)
            .await?;
    } else {
        let path = scratch_dir.join("raw-inserts.db");
        let mut conn = sqlx::sqlite::SqliteConnection::connect(&format!(
            "sqlite://{}?mode=rwc",
            path.display()
        ))
        .await?;
        sqlx::raw_sql(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             CREATE TABLE raw (id INTEGER PRIMARY KEY, body TEXT)",
        )
        .execute(&mut conn)
        .await?;
        start = Instant::now();
        while start.elapsed() < for_how_long {
            sqlx::query("INSERT INTO raw (body) VALUES ($1)")
                .bind("a message body of ordinary length, about sixty characters")
                .execute(&mut conn)
                .await?;
            n += 1;
        }
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn broadcast_socket(
    State(tx): State<broadcast::Sender<Arc<str>>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        let mut rx = tx.subscribe();
        while let Ok(text) = rx.recv().await {
            if socket
                .send(Message::Text(text.as_ref().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    })
}

/// `clients` sockets each receive `messages` frames; the figure is frames delivered per second.
pub async fn ws_broadcast(clients: usize, messages: usize) -> anyhow::Result<f64> {
    let (tx, _) = broadcast::channel::<Arc<str>>(messages + 1);
    let addr = serve(
        Router::new()
            .route("/ws", get(broadcast_socket))
            .with_state(tx.clone()),
    )
    .await?;
    let mut readers = Vec::new();
    for _ in 0..clients {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
        readers.push(tokio::spawn(async move {
            let mut got = 0usize;
            while got < messages {
                match ws.next().await {
                    Some(Ok(_)) => got += 1,
                    _ => break,
                }
            }
            got
        }));
    }
    // Every socket subscribed before the first frame.
    while tx.receiver_count() < clients {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let frame: Arc<str> = Arc::from(
        r#"{"type":"event","event":"message_created","data":{"content":"a typical chat line"}}"#,
    );
    let start = Instant::now();
    for _ in 0..messages {
        let _ = tx.send(frame.clone());
        tokio::task::yield_now().await;
    }
    let mut delivered = 0usize;
    for r in readers {
        delivered += r.await.unwrap_or(0);
    }
    Ok(delivered as f64 / start.elapsed().as_secs_f64())
}
