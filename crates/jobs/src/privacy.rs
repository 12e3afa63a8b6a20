//! Privacy timers: contact exports waiting to be built, files of erased records still to be
//! deleted, exports past their time, and the accounts' retention policies (in bounded batches).

use std::sync::Arc;
use std::time::Duration;

use throughline_service::privacy;
use throughline_store::Store;
use throughline_store::blob::BlobStore;
use tokio::sync::watch;

use crate::JobsConfig;

/// How often the retention policies are applied.
const RETENTION_EVERY: Duration = Duration::from_secs(15 * 60);
/// Conversations per retention transaction…
const RETENTION_BATCH: i64 = 100;
/// …and transactions per account and pass; a larger backlog waits for the next pass.
const RETENTION_BATCHES: usize = 20;
/// How often expired exports are removed and left-over files deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);
/// Exports built in a row before the timer looks at its other work.
const EXPORTS_PER_ROUND: usize = 4;

pub(crate) async fn run(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = (config.poll_interval * 4).max(Duration::from_secs(1));
    let mut last_sweep: Option<tokio::time::Instant> = None;
    let mut last_retention: Option<tokio::time::Instant> = None;
    loop {
        let mut busy = false;
        for _ in 0..EXPORTS_PER_ROUND {
            match privacy::run_next_export(&store, blobs.as_ref()).await {
                Ok(true) => busy = true,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "building a contact export failed; retrying");
                    break;
                }
            }
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            match privacy::sweep_exports(&store, blobs.as_ref()).await {
                Ok(n) if n > 0 => tracing::info!(n, "removed expired contact exports"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not sweep contact exports"),
            }
            if let Err(e) = privacy::purge_files(&store, blobs.as_ref()).await {
                tracing::warn!(error = %e, "could not delete erased files");
            }
            last_sweep = Some(tokio::time::Instant::now());
        }
        if last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            match privacy::retention_pass(
                &store,
                blobs.as_ref(),
                RETENTION_BATCH,
                RETENTION_BATCHES,
            )
            .await
            {
                Ok(pass) if pass.more_due => {
                    // Come back sooner: the backlog goes in bounded steps.
                    last_retention = tokio::time::Instant::now()
                        .checked_sub(RETENTION_EVERY.saturating_sub(idle * 10));
                }
                Ok(_) => last_retention = Some(tokio::time::Instant::now()),
                Err(e) => {
                    tracing::warn!(error = %e, "applying retention policies failed");
                    last_retention = Some(tokio::time::Instant::now());
                }
            }
        }
        let wait = if busy { Duration::ZERO } else { idle };
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}
