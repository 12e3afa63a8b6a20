//! Reopens snoozed conversations when their time comes.

use std::time::Duration;

use throughline_core::conversation::{Status, StatusRequest};
use throughline_store::{AccountScope, Store, StoreError, conversations, now_ms};
use tokio::sync::watch;

use crate::JobsConfig;

pub(crate) async fn run(store: Store, config: JobsConfig, mut shutdown: watch::Receiver<bool>) {
    let idle = (config.poll_interval * 20).max(Duration::from_secs(1));
    loop {
        let wait = match wake_due(&store).await {
            Ok(Some(next)) => {
                Duration::from_millis(u64::try_from((next - now_ms()).max(10)).unwrap_or(10))
                    .min(idle)
            }
            Ok(None) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "snooze timer failed");
                idle
            }
        };
        if crate::sleep_or_shutdown(wait, &mut shutdown).await {
            return;
        }
    }
}

/// Reopens what is due; returns when the next snooze ends.
async fn wake_due(store: &Store) -> Result<Option<i64>, StoreError> {
    let due = {
        let mut conn = store.read().await?;
        conversations::due_snoozes(&mut conn, now_ms(), 100).await?
    };
    for c in due {
        let scope = AccountScope::system(c.account_id);
        let mut tx = store.begin().await?;
        // Re-read inside the transaction: an agent may have changed it meanwhile.
        let current = conversations::get(tx.conn(), &scope, c.display_id).await?;
        if throughline_core::conversation::snooze_expired(
            current.status,
            current.snoozed_until,
            now_ms(),
        ) {
            conversations::set_status(
                &mut tx,
                &scope,
                &current,
                StatusRequest::Set {
                    status: Status::Open,
                    snoozed_until: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    let mut conn = store.read().await?;
    conversations::next_snooze_end(&mut conn).await
}
