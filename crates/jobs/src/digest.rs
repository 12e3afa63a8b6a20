//! The notification digest's timer: every minute, the agents whose unread notifications waited
//! past the grace period are mailed (`service::digest`). Off without system mail.

use std::time::Duration;

use throughline_service::digest::{self, Digest};
use throughline_store::{Store, now_ms};
use tokio::sync::watch;

const EVERY: Duration = Duration::from_secs(60);

pub(crate) async fn run(store: Store, config: Digest, mut shutdown: watch::Receiver<bool>) {
    loop {
        match digest::run_once(&store, &config, now_ms()).await {
            Ok(pass) if pass.sent + pass.failed > 0 => {
                tracing::info!(
                    sent = pass.sent,
                    failed = pass.failed,
                    "notification digests"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not look for notification digests"),
        }
        if crate::sleep_or_shutdown(EVERY, &mut shutdown).await {
            return;
        }
    }
}
