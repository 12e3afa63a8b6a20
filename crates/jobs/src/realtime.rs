//! Publishes every committed event to the in-process bus.
//!
//! Its cursor lives in memory and starts at the outbox head: after a restart no client is
//! connected to this process, and reconnecting clients catch up from the outbox themselves.

use std::sync::Arc;

use throughline_realtime::{Bus, Progress, Signal};
use throughline_store::Store;
use throughline_store::outbox;
use tokio::sync::watch;

use crate::JobsConfig;
use crate::consumer::next_batch;

pub(crate) async fn run(
    store: Store,
    bus: Bus,
    progress: Progress,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = store.outbox_signal();
    let mut cursor = loop {
        match head(&store).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "realtime consumer cannot read the outbox head");
                if crate::sleep_or_shutdown(std::time::Duration::from_secs(1), &mut shutdown).await
                {
                    return;
                }
            }
        }
    };
    progress.set(cursor);
    while let Some(batch) = next_batch(
        &store,
        cursor,
        config.poll_interval,
        &mut ticks,
        &mut shutdown,
    )
    .await
    {
        for (c, event) in batch {
            bus.publish(Signal::Event(Arc::new(event)));
            cursor = c;
        }
        progress.set(cursor);
    }
}

async fn head(store: &Store) -> throughline_store::Result<outbox::Cursor> {
    let mut conn = store.read().await?;
    outbox::head(&mut conn, store.backend()).await
}
