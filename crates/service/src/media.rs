//! Customers' files their provider would not hand over when the message came (a timeout, a
//! 5xx): the message was stored saying so, and here each download is tried again with
//! back-off until it arrives (attached to the message) or is given up (the message says why).
//! The back-off is the deliveries' policy (`RetryPolicy`: 10 s doubling to an hour, about
//! 4 h 30 min in all); the first retry comes at the timer's next turn.

use throughline_channels::MediaRef;
use throughline_channels::registry::Clients;
use throughline_core::webhook::RetryPolicy;
use throughline_store::blob::BlobStore;
use throughline_store::media::{self, Due};
use throughline_store::{Result, Store, StoreError, inboxes, now_ms};

/// Held status reports for ids that never appeared are forgotten after this.
const RECEIPTS_KEPT_MS: i64 = 2 * 24 * 3_600_000;

/// Tries every download that is due; returns when the next one is.
pub async fn retry_due(
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    limit: usize,
    policy: &RetryPolicy,
) -> Result<Option<i64>> {
    let due = {
        let mut conn = store.read().await?;
        media::due_unscoped(&mut conn, now_ms(), 50).await?
    };
    for d in due {
        retry(store, blobs, clients, limit, policy, &d).await?;
    }
    let mut conn = store.read().await?;
    media::next_due_unscoped(&mut conn).await
}

async fn retry(
    store: &Store,
    blobs: &dyn BlobStore,
    clients: &Clients,
    limit: usize,
    policy: &RetryPolicy,
    d: &Due,
) -> Result<()> {
    let adapter = {
        let mut conn = store.read().await?;
        let inbox = match inboxes::get_unscoped(&mut conn, store.key(), d.inbox_id).await {
            Ok(i) => i,
            // The inbox went; its messages and this row go with it (cascade).
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        };
        crate::adapters::for_inbox(&mut conn, store, &inbox, clients).await?
    };
    let fetched = match adapter {
        Ok(a) => {
            let file = MediaRef {
                handle: d.file.handle.clone(),
                content_type: d.file.content_type.clone(),
                file_name: d.file.file_name.clone(),
            };
            a.fetch_media(&file, limit).await
        }
        Err(missing) => Err(missing.to_string()),
    };
    match fetched {
        Ok(file) => {
            let stored = crate::inbound::store_attachments(blobs, d.account_id, vec![file]).await?;
            let mut tx = store.begin().await?;
            media::settle(&mut tx, d, stored.first(), None).await?;
            tx.commit().await
        }
        Err(error) => {
            let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
            let mut tx = store.begin().await?;
            match policy.next_delay(attempts, d.id.unsigned_abs()) {
                Some(delay) => {
                    media::retry_later(tx.conn(), d.id, &error, now_ms() + delay).await?;
                }
                None => {
                    tracing::warn!(message_id = d.message_id, handle = %d.file.handle, %error,
                        "giving up a customer's file");
                    let said = format!("the provider did not hand the file over: {error}");
                    media::settle(&mut tx, d, None, Some(&said)).await?;
                }
            }
            tx.commit().await
        }
    }
}

/// Forgets provider status reports held for message ids that never appeared.
pub async fn forget_stale_receipts(store: &Store) -> Result<u64> {
    let mut tx = store.begin().await?;
    let n = media::forget_stale_receipts(tx.conn(), now_ms() - RECEIPTS_KEPT_MS).await?;
    tx.commit().await?;
    Ok(n)
}
