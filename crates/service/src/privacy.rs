//! Privacy tools (LGPD / GDPR): a contact's data export, a contact's complete erasure and the
//! accounts' retention policies. The SQL is in `store::privacy`; here are the steps around it:
//! building the export's zip from what the API shows, deleting files after the commit, and
//! running retention in bounded batches.

use std::io::Write;

use serde_json::{Value, json};
use throughline_core::model::{Attachment, Conversation};
use throughline_core::to_unix_seconds;
use throughline_core::views::NoteView;
use throughline_store::blob::{BlobStore, new_key};
use throughline_store::privacy::{self, Export, Receipt};
use throughline_store::{
    AccountScope, Result, Store, StoreError, business_events, contacts, conversations, messages,
    moves, now_ms, render,
};

/// How long a finished export can be downloaded.
pub const EXPORT_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// A builder renews its claim on an export at every step; a crashed one loses it after this.
const EXPORT_LEASE_MS: i64 = 120_000;
/// Claims of one export before it is given up.
const EXPORT_ATTEMPTS: i64 = 5;
/// Messages read per query while exporting.
const MESSAGE_PAGE: i64 = 500;
/// Files deleted per round of the purge queue.
const PURGE_BATCH: i64 = 500;

// ---------------------------------------------------------------------------------------------
// Erasure

/// Erases a contact completely and deletes its files; returns the receipt.
pub async fn erase_contact(
    store: &Store,
    blobs: &dyn BlobStore,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Receipt> {
    let mut tx = store.begin().await?;
    let (receipt, _keys) = privacy::erase_contact(&mut tx, scope, contact_id).await?;
    tx.commit().await?;
    // The files were queued in the same transaction: a failure here leaves them to the timer.
    if let Err(e) = purge_files(store, blobs).await {
        tracing::warn!(error = %e, "erased files will be deleted by the timer");
    }
    Ok(receipt)
}

/// Deletes the files queued by erasures, exports' expiry and retention, until none is left or
/// a round fails to delete some (those wait for the next call). Returns how many went.
pub async fn purge_files(store: &Store, blobs: &dyn BlobStore) -> Result<usize> {
    let mut total = 0;
    loop {
        let due = {
            let mut conn = store.read().await?;
            privacy::pending_purges_unscoped(&mut conn, PURGE_BATCH).await?
        };
        if due.is_empty() {
            return Ok(total);
        }
        let mut failed = false;
        for (id, key) in &due {
            let result = match blobs.delete(key).await {
                // A key the blob store refuses as malformed names no file.
                Ok(()) | Err(StoreError::NotFound) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete an erased file; retrying later");
                    false
                }
            };
            let mut tx = store.begin().await?;
            if result {
                privacy::purged_unscoped(tx.conn(), *id).await?;
                total += 1;
            } else {
                privacy::purge_failed_unscoped(tx.conn(), *id).await?;
                failed = true;
            }
            tx.commit().await?;
        }
        if failed || (due.len() as i64) < PURGE_BATCH {
            return Ok(total);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Retention

/// What one pass of the retention policies did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionPass {
    /// Batches (transactions) that changed something.
    pub batches: usize,
    /// Their receipts.
    pub receipts: Vec<i64>,
    /// Some account had more due than this pass's batches allowed.
    pub more_due: bool,
}

/// Applies every account's retention policy: at most `max_batches` batches of `batch`
/// conversations per account, each in its own transaction, so a large backlog never becomes
/// one huge transaction and other writers get their turn in between.
pub async fn retention_pass(
    store: &Store,
    blobs: &dyn BlobStore,
    batch: i64,
    max_batches: usize,
) -> Result<RetentionPass> {
    let policies = {
        let mut conn = store.read().await?;
        privacy::retention_policies_unscoped(&mut conn).await?
    };
    let mut pass = RetentionPass::default();
    for (account_id, policy) in policies {
        let mut done = 0;
        loop {
            if done == max_batches {
                break;
            }
            let due = {
                let mut conn = store.read().await?;
                privacy::retention_due_unscoped(&mut conn, account_id, policy, now_ms()).await?
            };
            if !due {
                break;
            }
            let mut tx = store.begin().await?;
            let result = privacy::retention_batch_unscoped(
                &mut tx,
                account_id,
                policy,
                now_ms(),
                batch.max(1),
            )
            .await?;
            tx.commit().await?;
            let Some((receipt, _)) = result else { break };
            tracing::info!(account_id, receipt = receipt.id, counts = ?receipt.counts,
                "retention policy applied");
            pass.batches += 1;
            pass.receipts.push(receipt.id);
            done += 1;
            // A full batch may have left more behind it; the next pass goes on.
            let handled = receipt.counts.get("conversations")
                + receipt.counts.get("conversations_anonymised");
            if done == max_batches && handled >= batch.max(1) {
                pass.more_due = true;
            }
        }
    }
    if pass.batches > 0
        && let Err(e) = purge_files(store, blobs).await
    {
        tracing::warn!(error = %e, "expired files will be deleted by the timer");
    }
    Ok(pass)
}

// ---------------------------------------------------------------------------------------------
// Exports

/// Builds the oldest waiting export, if any. Returns whether there was one.
pub async fn run_next_export(store: &Store, blobs: &dyn BlobStore) -> Result<bool> {
    {
        let mut conn = store.read().await?;
        if !privacy::export_waiting_unscoped(&mut conn, now_ms()).await? {
            return Ok(false);
        }
    }
    let claimed = {
        let mut tx = store.begin().await?;
        let e =
            privacy::claim_export_unscoped(tx.conn(), now_ms(), EXPORT_LEASE_MS, EXPORT_ATTEMPTS)
                .await?;
        tx.commit().await?;
        e
    };
    let Some(export) = claimed else {
        return Ok(false);
    };
    match build(store, blobs, &export).await {
        Ok(bytes) => {
            let key = new_key(export.account_id);
            let size = bytes.len() as i64;
            blobs.put(&key, bytes).await?;
            let mut tx = store.begin().await?;
            let kept = privacy::finish_export_unscoped(
                tx.conn(),
                export.id,
                &key,
                size,
                now_ms() + EXPORT_TTL_MS,
            )
            .await?;
            tx.commit().await?;
            if !kept {
                // Erased (or expired) while it was being built: the file must not outlive it.
                blobs.delete(&key).await?;
            }
        }
        Err(StoreError::NotFound) => {
            let mut tx = store.begin().await?;
            privacy::fail_export_unscoped(tx.conn(), export.id, "the contact no longer exists")
                .await?;
            tx.commit().await?;
        }
        // An outage: the lease runs out and another claim tries again.
        Err(e @ StoreError::Unavailable(_)) => return Err(e),
        Err(e) => {
            tracing::warn!(export = export.id, error = %e, "a contact export failed");
            let mut tx = store.begin().await?;
            privacy::fail_export_unscoped(tx.conn(), export.id, "the export could not be built")
                .await?;
            tx.commit().await?;
        }
    }
    Ok(true)
}

/// Forgets exports past their time (or whose contact was deleted) and deletes their files.
pub async fn sweep_exports(store: &Store, blobs: &dyn BlobStore) -> Result<usize> {
    let mut tx = store.begin().await?;
    let keys = privacy::sweep_exports_unscoped(&mut tx, now_ms(), 100).await?;
    tx.commit().await?;
    if !keys.is_empty() {
        purge_files(store, blobs).await?;
    }
    Ok(keys.len())
}

/// One file of the archive.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    /// Text compresses; files customers sent mostly do not.
    deflate: bool,
}

fn json_entry(name: String, value: &Value) -> Entry {
    Entry {
        name,
        bytes: serde_json::to_vec_pretty(value).unwrap_or_default(),
        deflate: true,
    }
}

/// A file name safe inside the archive: letters, digits, `.`, `-` and `_`.
fn safe_name(name: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

async fn progress(store: &Store, id: i64, done: i64, total: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    privacy::export_progress_unscoped(tx.conn(), id, done, total, now_ms() + EXPORT_LEASE_MS)
        .await?;
    tx.commit().await
}

/// A file from the blob store, or a note saying it is missing.
async fn file(blobs: &dyn BlobStore, key: &str) -> Result<Option<Vec<u8>>> {
    match blobs.get(key).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything the contact page shows about the contact, each conversation with all its
/// messages (private notes included: they are about the contact), the files and raw emails.
async fn build(store: &Store, blobs: &dyn BlobStore, export: &Export) -> Result<Vec<u8>> {
    let scope = AccountScope::system(export.account_id);
    let mut conn = store.read().await?;
    let contact = contacts::get(&mut conn, &scope, export.contact_id).await?;
    let conversations = conversations::of_contact(&mut conn, &scope, contact.id).await?;
    let total = conversations.len() as i64 + 1;
    drop(conn);
    progress(store, export.id, 0, total).await?;

    let mut entries = Vec::new();
    let mut index = Vec::new();
    for (n, c) in conversations.iter().enumerate() {
        let (conversation, files) = conversation_entries(store, blobs, &scope, c).await?;
        index.push(json!({
            "display_id": c.display_id,
            "file": format!("conversations/{}.json", c.display_id),
        }));
        entries.push(json_entry(
            format!("conversations/{}.json", c.display_id),
            &conversation,
        ));
        entries.extend(files);
        progress(store, export.id, n as i64 + 1, total).await?;
    }

    let mut conn = store.read().await?;
    // Read again at the end: what the archive says about the contact is as of its completion.
    let contact = contacts::get(&mut conn, &scope, contact.id).await?;
    let view = render::contact(&mut conn, store, &contact, true).await?;
    let account = render::account_ref(&mut conn, export.account_id).await?;
    let identities: Vec<Value> = contacts::identities(&mut conn, store, &scope, contact.id)
        .await?
        .iter()
        .map(|(i, inbox)| {
            json!({
                "id": i.id,
                "inbox": {"id": inbox.id, "name": inbox.name, "channel_type": inbox.channel_type.as_str()},
                "source_id": i.source_id,
                "address_kind": i.address_kind.map(|k| k.as_str()),
                "address": i.address,
                "hmac_verified": i.hmac_verified,
                "address_proven": i.address_proven,
                "created_at": to_unix_seconds(i.created_at),
            })
        })
        .collect();
    let labels = contacts::labels_of(&mut conn, &scope, contact.id).await?;
    let notes = contacts::notes(&mut conn, &scope, contact.id).await?;
    let mut authors: Vec<i64> = notes.iter().filter_map(|n| n.user_id).collect();
    authors.sort_unstable();
    authors.dedup();
    let users = render::users(&mut conn, export.account_id, &authors).await?;
    let notes: Vec<NoteView> = notes
        .iter()
        .map(|n| NoteView::new(n, n.user_id.and_then(|u| users.get(&u).cloned())))
        .collect();
    let suggestions: Vec<Value> = privacy::suggestions_about(&mut conn, &scope, contact.id)
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "contact_id": s.contact_id,
                "candidate_id": s.candidate_id,
                "reason": s.reason,
                "detail": s.detail,
                "status": s.status,
                "created_at": to_unix_seconds(s.created_at),
            })
        })
        .collect();
    let events: Vec<Value> =
        business_events::of_contact(&mut conn, &scope, contact.id, None, i64::from(i32::MAX))
            .await?
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "contact_id": e.contact_id,
                    "event_id": e.external_id,
                    "type": e.event_type,
                    "title": e.title,
                    "properties": e.properties,
                    "occurred_at": to_unix_seconds(e.occurred_at),
                    "created_at": to_unix_seconds(e.created_at),
                })
            })
            .collect();
    let merges: Vec<Value> = contacts::merges_of(&mut conn, &scope, contact.id)
        .await?
        .into_iter()
        .map(|(mergee, snapshot, by, at)| {
            json!({
                "merged_contact_id": mergee,
                "merged_contact_as_it_was": snapshot,
                "merged_by_user_id": by,
                "merged_at": to_unix_seconds(at),
            })
        })
        .collect();
    drop(conn);

    let contact_json = json!({
        "exported_at": to_unix_seconds(now_ms()),
        "account": account,
        "contact": view,
        "identities": identities,
        "labels": labels,
        "notes": notes,
        "merge_suggestions": suggestions,
        "business_events": events,
        "merges": merges,
        "conversations": index,
    });
    entries.insert(0, json_entry("contact.json".into(), &contact_json));
    entries.insert(
        0,
        Entry {
            name: "README.txt".into(),
            bytes: readme(contact.id, conversations.len(), entries.len()).into_bytes(),
            deflate: true,
        },
    );
    tokio::task::spawn_blocking(move || write_zip(entries))
        .await
        .map_err(|e| StoreError::Other(format!("export task: {e}")))?
}

/// One conversation: its view, labels, moves and every message (oldest first), with the
/// archive entries of its files and raw emails.
async fn conversation_entries(
    store: &Store,
    blobs: &dyn BlobStore,
    scope: &AccountScope,
    c: &Conversation,
) -> Result<(Value, Vec<Entry>)> {
    let mut conn = store.read().await?;
    let view = render::conversations(&mut conn, store, vec![c.clone()])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)?;
    let labels = conversations::labels_of(&mut conn, c).await?;
    let history = moves::history(&mut conn, scope, c).await?;
    let mut message_views = Vec::new();
    let mut after = None;
    loop {
        let page = messages::list(&mut conn, scope, c, None, after, MESSAGE_PAGE, true).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        message_views.extend(render::messages(&mut conn, store, c, &page).await?);
        if (page.len() as i64) < MESSAGE_PAGE {
            break;
        }
    }
    let attachments: Vec<Attachment> =
        privacy::attachments_of_conversation(&mut conn, scope, c.id).await?;
    let raw = privacy::raw_emails_of(&mut conn, scope, c.id).await?;
    drop(conn);

    let mut entries = Vec::new();
    let mut files = Vec::new();
    for a in &attachments {
        let path = format!(
            "attachments/{}/{}-{}-{}",
            c.display_id,
            a.message_id,
            a.id,
            safe_name(a.file_name.as_deref())
        );
        let bytes = match &a.blob_key {
            Some(key) => file(blobs, key).await?,
            None => None,
        };
        files.push(json!({
            "message_id": a.message_id,
            "attachment_id": a.id,
            "file_name": a.file_name,
            "content_type": a.content_type,
            "byte_size": a.byte_size,
            "external_url": a.external_url,
            "path": bytes.is_some().then_some(&path),
        }));
        if let Some(bytes) = bytes {
            entries.push(Entry {
                name: path,
                bytes,
                deflate: false,
            });
        }
    }
    let mut emails = Vec::new();
    for (n, (message_id, key, direction)) in raw.iter().enumerate() {
        let path = format!(
            "emails/{}/{}-{}.eml",
            c.display_id,
            message_id.map_or_else(|| "unlinked".to_owned(), |m| m.to_string()),
            n + 1
        );
        let bytes = file(blobs, key).await?;
        emails.push(json!({
            "message_id": message_id,
            "direction": direction,
            "path": bytes.is_some().then_some(&path),
        }));
        if let Some(bytes) = bytes {
            entries.push(Entry {
                name: path,
                bytes,
                deflate: true,
            });
        }
    }
    Ok((
        json!({
            "conversation": view,
            "labels": labels,
            "moves": history,
            "messages": message_views,
            "attachments": files,
            "raw_emails": emails,
        }),
        entries,
    ))
}

fn readme(contact_id: i64, conversations: usize, entries: usize) -> String {
    format!(
        "Data export of contact {contact_id}\n\
         ================================\n\
         \n\
         Everything this service holds about the contact, as its agents see it.\n\
         \n\
         contact.json\n\
         \x20 contact            the contact as the API shows it: name, email, phone number,\n\
         \x20                    identifier, custom and additional attributes, identities\n\
         \x20 identities         the contact's address in each inbox (email, phone, visitor id)\n\
         \x20 labels, notes      the contact's labels and the agents' notes about it\n\
         \x20 merge_suggestions  pairs of contacts that may be the same person, and why\n\
         \x20 business_events    orders, payments and other events posted about the contact\n\
         \x20 merges             contacts merged into this one, as they were before the merge\n\
         \x20 conversations      the list of conversation files below\n\
         \n\
         conversations/<id>.json ({conversations} conversations)\n\
         \x20 conversation       the conversation as the API shows it (status, inbox, times)\n\
         \x20 messages           every message, oldest first, with its attributes; private notes\n\
         \x20                    (\"private\": true) are the agents' notes in the conversation\n\
         \x20 labels, moves      its labels, and the merges and splits it took part in\n\
         \x20 attachments        the files sent in it, with their path in this archive\n\
         \x20 raw_emails         the emails exactly as received, with their path in this archive\n\
         \n\
         attachments/<conversation>/<message>-<attachment>-<name>   the files themselves\n\
         emails/<conversation>/<message>-<n>.eml                     the raw emails\n\
         \n\
         Times are Unix seconds (UTC). {entries} entries besides this file.\n"
    )
}

fn write_zip(entries: Vec<Entry>) -> Result<Vec<u8>> {
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;
    let broken = |e: zip::result::ZipError| StoreError::Other(format!("writing the export: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in entries {
        let method = if e.deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        zip.start_file(
            e.name,
            SimpleFileOptions::default()
                .compression_method(method)
                .large_file(e.bytes.len() >= u32::MAX as usize),
        )
        .map_err(broken)?;
        zip.write_all(&e.bytes)
            .map_err(|e| StoreError::Other(format!("writing the export: {e}")))?;
    }
    Ok(zip.finish().map_err(broken)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_stay_inside_the_archive() {
        assert_eq!(safe_name(Some("../../etc/passwd")), "_.._etc_passwd");
        assert_eq!(
            safe_name(Some("nota fiscal (1).pdf")),
            "nota_fiscal__1_.pdf"
        );
        assert_eq!(safe_name(Some("..")), "file");
        assert_eq!(safe_name(None), "file");
    }
}
