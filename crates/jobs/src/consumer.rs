//! Reading the outbox in commit order, waking on commits.

use std::time::Duration;

use throughline_core::event::StoredEvent;
use throughline_store::outbox::{self, Cursor};
use throughline_store::{Store, StoreError};
use tokio::sync::watch;

pub(crate) const BATCH: i64 = 256;

/// Waits for the next batch after `cursor`. Returns `None` on shutdown.
pub(crate) async fn next_batch(
    store: &Store,
    cursor: Cursor,
    poll: Duration,
    ticks: &mut watch::Receiver<u64>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Vec<(Cursor, StoredEvent)>> {
    loop {
        if *shutdown.borrow() {
            return None;
        }
        match read(store, cursor).await {
            Ok(batch) if !batch.is_empty() => return Some(batch),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading the outbox failed; retrying");
                if crate::sleep_or_shutdown(Duration::from_secs(1), shutdown).await {
                    return None;
                }
                continue;
            }
        }
        tokio::select! {
            _ = ticks.changed() => {
                // On PostgreSQL a just-committed event may wait behind an older transaction;
                // the short poll below catches it without another tick.
            }
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => return None,
        }
    }
}

async fn read(store: &Store, cursor: Cursor) -> Result<Vec<(Cursor, StoredEvent)>, StoreError> {
    let mut conn = store.read().await?;
    outbox::read_after(&mut conn, store.backend(), cursor, BATCH).await
}

/// How long a consumer's cursor may trail what it has done, when doing it wrote nothing.
const CURSOR_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// A durable consumer's cursor, written lazily. A batch that changed nothing does not write it
/// at once: replaying such events after a crash changes nothing either (and what a batch does
/// write goes with the cursor, in its transaction), so a write transaction — on SQLite the one
/// writer and an fsync — is spent only on batches that do something, or once a second (and
/// when the stream pauses) to keep the cursor near.
pub(crate) struct CursorSaves {
    consumer: &'static str,
    saved: Cursor,
    at: std::time::Instant,
}

impl CursorSaves {
    /// Loads `consumer`'s durable cursor (a new consumer starts at the head of the outbox),
    /// retrying while the database is unavailable. `None` on shutdown.
    pub(crate) async fn start(
        store: &Store,
        consumer: &'static str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Self> {
        loop {
            match Self::load(store, consumer).await {
                Ok(saved) => {
                    return Some(CursorSaves {
                        consumer,
                        saved,
                        at: std::time::Instant::now(),
                    });
                }
                Err(e) => {
                    tracing::warn!(consumer, error = %e, "cannot load the consumer's cursor");
                    if crate::sleep_or_shutdown(Duration::from_secs(1), shutdown).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn load(store: &Store, consumer: &str) -> Result<Cursor, StoreError> {
        let mut tx = store.begin().await?;
        let cursor = outbox::cursor_or_head(&mut tx, consumer).await?;
        tx.commit().await?;
        Ok(cursor)
    }

    pub(crate) fn saved(&self) -> Cursor {
        self.saved
    }

    /// Whether a batch ending at `next` must write the cursor even if it did nothing.
    pub(crate) fn due(&self, next: Cursor) -> bool {
        next != self.saved && self.at.elapsed() >= CURSOR_SAVE_INTERVAL
    }

    /// The cursor was written (with a batch's work).
    pub(crate) fn saved_now(&mut self, cursor: Cursor) {
        self.saved = cursor;
        self.at = std::time::Instant::now();
    }

    /// Writes the cursor on its own.
    pub(crate) async fn save(&mut self, store: &Store, cursor: Cursor) -> Result<(), StoreError> {
        if cursor == self.saved {
            return Ok(());
        }
        let mut tx = store.begin().await?;
        outbox::save_cursor(tx.conn(), self.consumer, cursor).await?;
        tx.commit().await?;
        self.saved_now(cursor);
        Ok(())
    }
}

/// Events read after a cursor, never empty: `last` is where the consumer stands once it has
/// handled them.
pub(crate) struct Batch {
    pub(crate) events: Vec<(Cursor, StoredEvent)>,
    pub(crate) last: Cursor,
}

/// [`next_batch`] for a consumer with lazy cursor writes: while its cursor trails, it is written
/// once the stream pauses, and at shutdown.
async fn next_batch_saving(
    store: &Store,
    cursor: Cursor,
    saves: &mut CursorSaves,
    poll: Duration,
    ticks: &mut watch::Receiver<u64>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Batch> {
    loop {
        let waiting = next_batch(store, cursor, poll, ticks, shutdown);
        let batch = if saves.saved == cursor {
            waiting.await
        } else {
            match tokio::time::timeout(CURSOR_SAVE_INTERVAL, waiting).await {
                Ok(batch) => batch,
                Err(_) => {
                    if let Err(e) = saves.save(store, cursor).await {
                        tracing::warn!(consumer = saves.consumer, error = %e, "could not save the consumer's cursor");
                    }
                    continue;
                }
            }
        };
        let Some(events) = batch else {
            if let Err(e) = saves.save(store, cursor).await {
                tracing::warn!(consumer = saves.consumer, error = %e, "could not save the consumer's cursor at shutdown");
            }
            return None;
        };
        // `next_batch` returns only batches with events.
        let last = events.last().map_or(cursor, |(c, _)| *c);
        return Some(Batch { events, last });
    }
}

/// A batch's work, borrowing the batch and the cursor saves.
pub(crate) type BatchWork<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Runs a consumer with lazy cursor writes until shutdown: `handle` does a batch's work (and
/// writes the cursor with it, or leaves it to `saves`); a batch that fails is retried from the
/// same cursor a second later.
pub(crate) async fn run_lazily(
    store: &Store,
    consumer: &'static str,
    poll: Duration,
    shutdown: &mut watch::Receiver<bool>,
    mut handle: impl for<'a> FnMut(&'a Batch, &'a mut CursorSaves) -> BatchWork<'a>,
) {
    let mut ticks = store.outbox_signal();
    let Some(mut saves) = CursorSaves::start(store, consumer, shutdown).await else {
        return;
    };
    let mut cursor = saves.saved();
    while let Some(batch) =
        next_batch_saving(store, cursor, &mut saves, poll, &mut ticks, shutdown).await
    {
        match handle(&batch, &mut saves).await {
            Ok(()) => cursor = batch.last,
            Err(e) => {
                tracing::warn!(consumer, error = %e, "a batch failed; it will be retried");
                if crate::sleep_or_shutdown(Duration::from_secs(1), shutdown).await {
                    return;
                }
            }
        }
    }
}
