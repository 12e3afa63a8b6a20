//! Retries the downloads of customers' files their provider did not hand over at first, and
//! forgets provider status reports held too long for messages that never appeared.

use std::sync::Arc;
use std::time::Duration;

use throughline_channels::registry::Clients;
use throughline_store::blob::BlobStore;
use throughline_store::{Store, now_ms};
use tokio::sync::watch;

use crate::JobsConfig;

/// How often held status reports are swept.
const RECEIPT_SWEEP: Duration = Duration::from_secs(600);

pub(crate) async fn run(
    store: Store,
    blobs: Arc<dyn BlobStore>,
    clients: Clients,
    config: JobsConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = (config.poll_interval * 20).max(Duration::from_secs(1));
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        let retried = throughline_service::media::retry_due(
            &store,
            blobs.as_ref(),
            &clients,
            config.media_limit,
            &config.retry,
        )
        .await;
        let wait = match retried {
            Ok(Some(next)) => Duration::from_millis(u64::try_from(next - now_ms()).unwrap_or(0))
                .clamp(Duration::from_millis(10), idle),
            Ok(None) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "media retry timer failed");
                idle
            }
        };
        if last_sweep.is_none_or(|t| t.elapsed() >= RECEIPT_SWEEP) {
            match throughline_service::media::forget_stale_receipts(&store).await {
                Ok(n) if n > 0 => tracing::info!(n, "forgot stale provider status reports"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not sweep provider status reports"),
            }
            last_sweep = Some(tokio::time::Instant::now());
        }
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}
