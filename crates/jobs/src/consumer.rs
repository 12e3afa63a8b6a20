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
