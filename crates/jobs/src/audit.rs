//! The audit log's retention: entries older than their account's `audit_log_retention_days`
//! (default 365) are deleted in bounded batches, each its own short transaction.

use std::time::Duration;

use throughline_store::{Store, audit, now_ms};
use tokio::sync::watch;

use crate::JobsConfig;

/// How often old entries are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
/// Entries per delete transaction…
const BATCH: i64 = 500;
/// …and transactions per account and pass; a larger backlog waits for the next pass.
const BATCHES: usize = 20;

pub(crate) async fn run(store: Store, config: JobsConfig, mut shutdown: watch::Receiver<bool>) {
    let idle = (config.poll_interval * 20).max(Duration::from_secs(1));
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        if last.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            match audit::sweep_expired_unscoped(&store, now_ms(), BATCH, BATCHES).await {
                Ok(sweep) => {
                    if sweep.deleted > 0 {
                        tracing::info!(
                            deleted = sweep.deleted,
                            "removed audit log entries past retention"
                        );
                    }
                    last = if sweep.more_due {
                        // Come back soon: the backlog goes in bounded steps.
                        tokio::time::Instant::now().checked_sub(SWEEP_EVERY.saturating_sub(idle))
                    } else {
                        Some(tokio::time::Instant::now())
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not apply the audit log's retention");
                    last = Some(tokio::time::Instant::now());
                }
            }
        }
        if crate::sleep_or_shutdown(idle, &mut shutdown).await {
            return;
        }
    }
}
