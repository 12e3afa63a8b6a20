//! Keeps the outbox and the delivery log from growing forever: events every durable consumer
//! has passed (and no delayed rule still needs) are deleted after the realtime resume window,
//! finished deliveries after the delivery log's retention. In small batches, each its own
//! short transaction, so ingest never waits behind a large delete.

use std::time::Duration;

use throughline_store::{Store, StoreError, now_ms, outbox, webhooks};
use tokio::sync::watch;

use crate::JobsConfig;

/// Rows deleted per transaction.
const BATCH: i64 = 2_000;
/// Pause between batches, so writers get the database in between.
const BREATHE: Duration = Duration::from_millis(50);
/// How often to look.
const EVERY: Duration = Duration::from_secs(600);

pub(crate) async fn run(store: Store, config: JobsConfig, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = prune_all(&store, &config, &mut shutdown).await {
            tracing::warn!(error = %e, "pruning the outbox or the delivery log failed");
        }
        if crate::sleep_or_shutdown(EVERY, &mut shutdown).await {
            return;
        }
    }
}

/// Prunes until nothing old is left (or shutdown); returns (events, deliveries) removed.
pub(crate) async fn prune_all(
    store: &Store,
    config: &JobsConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(u64, u64), StoreError> {
    let now = now_ms();
    let events_before = now - millis(config.outbox_retention);
    let deliveries_before = now - millis(config.delivery_retention);
    let mut removed = (0, 0);
    loop {
        let mut tx = store.begin().await?;
        let events = outbox::prune(tx.conn(), events_before, BATCH).await?;
        let deliveries = webhooks::prune_deliveries(tx.conn(), deliveries_before, BATCH).await?;
        tx.commit().await?;
        removed.0 += events;
        removed.1 += deliveries;
        let more = events == BATCH as u64 || deliveries == BATCH as u64;
        if !more || crate::sleep_or_shutdown(BREATHE, shutdown).await {
            return Ok(removed);
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
