//! Keeps the conversation tallies small: the triggers of migration 0022 add a row for every
//! change of a conversation's status, assignee, inbox or team, and each list request sums the
//! rows of its account. Every few seconds, when there are more rows than keys, they are folded
//! into one row per key in a short write transaction (decided on a reader first, so an idle
//! server never takes SQLite's one writer for it).

use std::time::Duration;

use throughline_store::{Store, StoreError, conversations};
use tokio::sync::watch;

/// How often to look. Conversations change at most a few thousand times a second, so a list's
/// counts never sum more than a few thousand rows.
const EVERY: Duration = Duration::from_secs(2);

pub(crate) async fn run(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = compact(&store).await {
            tracing::warn!(error = %e, "compacting the conversation tallies failed");
        }
        if crate::sleep_or_shutdown(EVERY, &mut shutdown).await {
            return;
        }
    }
}

/// Folds the tallies when a reader sees something to fold; returns the rows removed.
pub(crate) async fn compact(store: &Store) -> Result<u64, StoreError> {
    {
        let mut conn = store.read().await?;
        if !conversations::tallies_to_compact(&mut conn).await? {
            return Ok(0);
        }
    }
    let mut tx = store.begin().await?;
    let removed = conversations::compact_tallies(&mut tx).await?;
    tx.commit().await?;
    Ok(removed)
}
