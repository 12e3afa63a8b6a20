//! Privacy tools (LGPD / GDPR): erasing a contact completely, the retention policy's batches
//! (delete or anonymise resolved conversations), erasure receipts, the blob purge queue and
//! contact data exports.
//!
//! A contact's data is not only its rows: copies travel. Message and contact snapshots sit in
//! `outbox_events` payloads and again in `deliveries` payloads (webhook and callback bodies);
//! raw emails and attachments sit in the blob store; email thread keys, provider receipts,
//! merge snapshots, merge suggestions, business events, conversation move records and the
//! full-text index all name the contact or what it wrote. Erasure removes each of them in one
//! transaction and queues the blobs in `blob_purges` (deleted after the commit, retried by a
//! timer), then records a receipt that counts what went — never what it was.
//!
//! Outbox events and deliveries are deleted, not redacted. A consumer's cursor is a position
//! `(tx_order, id)` compared with `>`, and a realtime client resumes `?after=` an id: neither
//! points at a row, and ids are never reused (AUTOINCREMENT, identity columns), so removing an
//! event moves no cursor and hides no other event. A redacted event would still be read and
//! fanned out (an empty webhook), and a redacted failed delivery could be "retried" by an
//! administrator. The fan-out reads events before its transaction, so it only writes a delivery
//! whose event still exists (`webhooks::enqueue`), and on PostgreSQL an erasure first locks
//! `deliveries` against writers so a fan-out running at that moment either commits before the
//! erasure looks at deliveries or re-checks the event after it.

use serde_json::Value;
use throughline_core::event::{EventKind, NewEvent};
use throughline_core::privacy::{
    ANONYMISED_NAME, ANONYMISED_TEXT, ErasureCounts, RetentionAction, RetentionPolicy, blob_keys_in,
};

use crate::Conn;
use crate::clock::now_ms;
use crate::db::{Backend, Tx};
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

/// Ids bound per statement: well under SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;

/// What an erasure removed and the files it queued for deletion.
#[derive(Debug, Default, Clone)]
pub struct Erased {
    pub counts: ErasureCounts,
    pub blob_keys: Vec<String>,
}

impl Erased {
    fn absorb(&mut self, other: Erased) {
        self.counts.merge(&other.counts);
        self.blob_keys.extend(other.blob_keys);
    }
}

/// Proof of an erasure: kinds and counts, when, at whose request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Receipt {
    pub id: i64,
    pub account_id: i64,
    /// `contact` (an administrator's erasure) or `retention` (a pass of the account's policy).
    pub kind: String,
    pub contact_id: Option<i64>,
    pub requested_by: Option<i64>,
    pub counts: ErasureCounts,
    pub created_at: i64,
}

// ---------------------------------------------------------------------------------------------
// Small SQL helpers: `$1` is the account, `{ids}` the list of ids ($2…).

fn with_ids(sql: &str, n: usize) -> String {
    let list = if n == 0 {
        "(NULL)".to_owned()
    } else {
        let p: Vec<String> = (2..n + 2).map(|i| format!("${i}")).collect();
        format!("({})", p.join(", "))
    };
    sql.replace("{ids}", &list)
}

fn query<'q>(
    sql: &'q str,
    account_id: i64,
    ids: &'q [i64],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for id in ids {
        q = q.bind(*id);
    }
    q
}

async fn exec(conn: &mut Conn, sql: &str, account_id: i64, ids: &[i64]) -> Result<i64> {
    let mut total = 0;
    for chunk in ids.chunks(CHUNK) {
        let sql = with_ids(sql, chunk.len());
        let done = query(&sql, account_id, chunk).execute(&mut *conn).await?;
        total += i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    }
    Ok(total)
}

/// `SELECT COUNT(*) AS n …`, added up over chunks.
async fn count(conn: &mut Conn, sql: &str, account_id: i64, ids: &[i64]) -> Result<i64> {
    let mut total = 0;
    for chunk in ids.chunks(CHUNK) {
        let sql = with_ids(sql, chunk.len());
        total += query(&sql, account_id, chunk)
            .fetch_one(&mut *conn)
            .await?
            .int("n")?;
    }
    Ok(total)
}

/// `SELECT … AS v` (text), over chunks.
async fn texts(conn: &mut Conn, sql: &str, account_id: i64, ids: &[i64]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = with_ids(sql, chunk.len());
        for row in query(&sql, account_id, chunk).fetch_all(&mut *conn).await? {
            if let Some(v) = row.opt_text("v")? {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// `SELECT … AS v` (integer), over chunks.
async fn ints(conn: &mut Conn, sql: &str, account_id: i64, ids: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = with_ids(sql, chunk.len());
        for row in query(&sql, account_id, chunk).fetch_all(&mut *conn).await? {
            out.push(row.int("v")?);
        }
    }
    Ok(out)
}

/// On PostgreSQL, holds off every writer of `deliveries` until this transaction ends (see the
/// module's note). Must be the transaction's first statement, so it waits holding nothing.
async fn fence_deliveries(tx: &mut Tx) -> Result<()> {
    if tx.store().backend() == Backend::Postgres {
        sqlx::query("LOCK TABLE deliveries IN EXCLUSIVE MODE")
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What several erasures share

/// The copies of the given conversations' events: deliveries and then the events.
async fn drop_conversation_events(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
    counts: &mut ErasureCounts,
) -> Result<()> {
    let deliveries = exec(
        conn,
        "DELETE FROM deliveries WHERE account_id = $1 AND (event_id IN \
           (SELECT id FROM outbox_events WHERE account_id = $1 AND conversation_id IN {ids}) \
         OR message_id IN (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids}))",
        account_id,
        conversation_ids,
    )
    .await?;
    counts.add("deliveries", deliveries);
    let events = exec(
        conn,
        "DELETE FROM outbox_events WHERE account_id = $1 AND conversation_id IN {ids}",
        account_id,
        conversation_ids,
    )
    .await?;
    counts.add("outbox_events", events);
    Ok(())
}

/// Files of the given conversations' messages: attachments, raw emails, and any blob a
/// message's attributes name.
async fn conversation_blobs(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<Vec<String>> {
    let mut keys = texts(
        conn,
        "SELECT blob_key AS v FROM attachments WHERE account_id = $1 AND blob_key IS NOT NULL \
           AND message_id IN (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        account_id,
        conversation_ids,
    )
    .await?;
    keys.extend(
        texts(
            conn,
            "SELECT raw_blob_key AS v FROM email_messages WHERE account_id = $1 \
               AND raw_blob_key IS NOT NULL AND conversation_id IN {ids}",
            account_id,
            conversation_ids,
        )
        .await?,
    );
    for attrs in texts(
        conn,
        "SELECT content_attributes AS v FROM messages WHERE account_id = $1 \
           AND conversation_id IN {ids} AND content_attributes LIKE '%blob_key%'",
        account_id,
        conversation_ids,
    )
    .await?
    {
        if let Ok(v) = serde_json::from_str::<Value>(&attrs) {
            keys.extend(blob_keys_in(&v));
        }
    }
    Ok(keys)
}

/// Status reports held for the given conversations' provider ids.
async fn drop_provider_receipts(
    conn: &mut Conn,
    account_id: i64,
    conversation_ids: &[i64],
    counts: &mut ErasureCounts,
) -> Result<()> {
    let n = exec(
        conn,
        "DELETE FROM provider_receipts WHERE account_id = $1 AND (provider_message_id IN \
           (SELECT source_id FROM messages WHERE account_id = $1 AND conversation_id IN {ids} \
              AND source_id IS NOT NULL) \
         OR provider_message_id IN \
           (SELECT header_id FROM email_messages WHERE account_id = $1 AND conversation_id IN {ids}))",
        account_id,
        conversation_ids,
    )
    .await?;
    counts.add("provider_receipts", n);
    Ok(())
}

/// Deletes conversations with everything in and about them: messages (and with them their
/// words in the search index), private notes, attachments, email thread keys, pending files,
/// labels, move records, the outbox and delivery copies. Files are returned to purge.
async fn erase_conversations(
    tx: &mut Tx,
    account_id: i64,
    conversation_ids: &[i64],
) -> Result<Erased> {
    let mut out = Erased::default();
    if conversation_ids.is_empty() {
        return Ok(out);
    }
    let conn = tx.conn();
    let ids = conversation_ids;
    out.blob_keys = conversation_blobs(conn, account_id, ids).await?;
    let c = &mut out.counts;
    c.add("conversations", ids.len() as i64);
    for (what, sql) in [
        (
            "messages",
            "SELECT COUNT(*) AS n FROM messages WHERE account_id = $1 AND conversation_id IN {ids}",
        ),
        (
            "private_notes",
            "SELECT COUNT(*) AS n FROM messages WHERE account_id = $1 AND conversation_id IN {ids} \
               AND private = TRUE",
        ),
        (
            "attachments",
            "SELECT COUNT(*) AS n FROM attachments WHERE account_id = $1 AND message_id IN \
               (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        ),
        (
            "email_thread_keys",
            "SELECT COUNT(*) AS n FROM email_messages WHERE account_id = $1 AND conversation_id IN {ids}",
        ),
        (
            "raw_emails",
            "SELECT COUNT(*) AS n FROM email_messages WHERE account_id = $1 AND conversation_id IN {ids} \
               AND raw_blob_key IS NOT NULL",
        ),
        (
            "pending_media",
            "SELECT COUNT(*) AS n FROM pending_media WHERE account_id = $1 AND message_id IN \
               (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        ),
    ] {
        let n = count(conn, sql, account_id, ids).await?;
        c.add(what, n);
    }
    drop_provider_receipts(conn, account_id, ids, c).await?;
    drop_conversation_events(conn, account_id, ids, c).await?;
    let moves = exec(
        conn,
        "DELETE FROM conversation_moves WHERE account_id = $1 \
           AND (from_conversation_id IN {ids} OR to_conversation_id IN {ids})",
        account_id,
        ids,
    )
    .await?;
    c.add("conversation_moves", moves);
    // Messages, attachments, thread keys, pending files and labels follow by cascade; the
    // search index follows the messages (triggers on SQLite, the row itself on PostgreSQL).
    exec(
        conn,
        "DELETE FROM conversations WHERE account_id = $1 AND id IN {ids}",
        account_id,
        ids,
    )
    .await?;
    Ok(out)
}

/// The contact and every contact merged into it, however long ago (merges chain).
async fn merged_family(conn: &mut Conn, account_id: i64, contact_id: i64) -> Result<Vec<i64>> {
    let mut all = vec![contact_id];
    let mut frontier = vec![contact_id];
    while !frontier.is_empty() {
        let found = ints(
            conn,
            "SELECT mergee_contact_id AS v FROM contact_merges \
             WHERE account_id = $1 AND base_contact_id IN {ids}",
            account_id,
            &frontier,
        )
        .await?;
        frontier = found.into_iter().filter(|id| !all.contains(id)).collect();
        frontier.sort_unstable();
        frontier.dedup();
        all.extend(&frontier);
    }
    Ok(all)
}

/// What is about a contact apart from its conversations: the outbox and delivery copies of its
/// events (and of the contacts merged into it), merge snapshots, merge suggestions, business
/// events, notes, labels, identities and data exports.
async fn drop_contact_records(
    conn: &mut Conn,
    account_id: i64,
    family: &[i64],
    out: &mut Erased,
) -> Result<()> {
    out.blob_keys.extend(
        texts(
            conn,
            "SELECT blob_key AS v FROM privacy_exports WHERE account_id = $1 \
               AND contact_id IN {ids} AND blob_key IS NOT NULL",
            account_id,
            family,
        )
        .await?,
    );
    // The recordings of their calls, which go below.
    out.blob_keys.extend(
        texts(
            conn,
            "SELECT recording_blob AS v FROM calls WHERE account_id = $1 \
               AND contact_id IN {ids} AND recording_blob IS NOT NULL",
            account_id,
            family,
        )
        .await?,
    );
    let c = &mut out.counts;
    let deliveries = exec(
        conn,
        "DELETE FROM deliveries WHERE account_id = $1 AND event_id IN \
           (SELECT id FROM outbox_events WHERE account_id = $1 AND contact_id IN {ids})",
        account_id,
        family,
    )
    .await?;
    c.add("deliveries", deliveries);
    for (what, sql) in [
        (
            "outbox_events",
            "DELETE FROM outbox_events WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        (
            "merge_records",
            "DELETE FROM contact_merges WHERE account_id = $1 \
               AND (base_contact_id IN {ids} OR mergee_contact_id IN {ids})",
        ),
        (
            "merge_suggestions",
            "DELETE FROM merge_suggestions WHERE account_id = $1 \
               AND (contact_id IN {ids} OR candidate_id IN {ids})",
        ),
        (
            "business_events",
            "DELETE FROM business_events WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        (
            "contact_notes",
            "DELETE FROM contact_notes WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        (
            "identities",
            "DELETE FROM contact_inboxes WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        (
            "exports",
            "DELETE FROM privacy_exports WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        // Phone calls carry the number: the contact's calls go with them (their legs and
        // callback requests follow by cascade).
        (
            "calls",
            "DELETE FROM calls WHERE account_id = $1 AND contact_id IN {ids}",
        ),
        (
            "callback_requests",
            "DELETE FROM callback_requests WHERE account_id = $1 AND contact_id IN {ids}",
        ),
    ] {
        let n = exec(conn, sql, account_id, family).await?;
        c.add(what, n);
    }
    Ok(())
}

/// Messages the contact wrote in conversations that are not its own (a group chat): deleted
/// with their copies and files.
async fn erase_messages_elsewhere(
    conn: &mut Conn,
    account_id: i64,
    family: &[i64],
    out: &mut Erased,
) -> Result<()> {
    let ids = ints(
        conn,
        "SELECT m.id AS v FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account_id = $1 AND m.sender_type = 'Contact' AND m.sender_id IN {ids} \
           AND c.contact_id NOT IN {ids}",
        account_id,
        family,
    )
    .await?;
    if ids.is_empty() {
        return Ok(());
    }
    out.blob_keys.extend(
        texts(
            conn,
            "SELECT blob_key AS v FROM attachments WHERE account_id = $1 AND blob_key IS NOT NULL \
               AND message_id IN {ids}",
            account_id,
            &ids,
        )
        .await?,
    );
    for attrs in texts(
        conn,
        "SELECT content_attributes AS v FROM messages WHERE account_id = $1 AND id IN {ids}",
        account_id,
        &ids,
    )
    .await?
    {
        if let Ok(v) = serde_json::from_str::<Value>(&attrs) {
            out.blob_keys.extend(blob_keys_in(&v));
        }
    }
    let deliveries = exec(
        conn,
        "DELETE FROM deliveries WHERE account_id = $1 AND message_id IN {ids}",
        account_id,
        &ids,
    )
    .await?;
    out.counts.add("deliveries", deliveries);
    let touched = ints(
        conn,
        "SELECT DISTINCT conversation_id AS v FROM messages WHERE account_id = $1 AND id IN {ids}",
        account_id,
        &ids,
    )
    .await?;
    let n = exec(
        conn,
        "DELETE FROM messages WHERE account_id = $1 AND id IN {ids}",
        account_id,
        &ids,
    )
    .await?;
    out.counts.add("messages", n);
    // Their words must not find those conversations any more.
    crate::search::rebuild_terms(conn, account_id, &touched).await?;
    Ok(())
}

/// Queues files for deletion after the commit (`pending_purges`).
async fn queue_purges(conn: &mut Conn, keys: &[String]) -> Result<()> {
    let now = now_ms();
    for key in keys {
        sqlx::query("INSERT INTO blob_purges (blob_key, created_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn write_receipt(
    conn: &mut Conn,
    account_id: i64,
    kind: &str,
    contact_id: Option<i64>,
    requested_by: Option<i64>,
    counts: &ErasureCounts,
) -> Result<Receipt> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO erasure_receipts (account_id, kind, contact_id, requested_by, counts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(account_id)
    .bind(kind)
    .bind(contact_id)
    .bind(requested_by)
    .bind(serde_json::to_string(counts).unwrap_or_else(|_| "{}".into()))
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(Receipt {
        id,
        account_id,
        kind: kind.into(),
        contact_id,
        requested_by,
        counts: counts.clone(),
        created_at: now,
    })
}

// ---------------------------------------------------------------------------------------------
// Erasing one contact

/// Erases a contact completely (see the module's note for what that covers) and records the
/// receipt. The returned files must be deleted after the commit (`pending_purges` keeps them
/// until then). Emits `contact_deleted` carrying only the id, so integrations can erase too.
pub async fn erase_contact(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<(Receipt, Vec<String>)> {
    fence_deliveries(tx).await?;
    let account_id = scope.account_id();
    crate::contacts::get(tx.conn(), scope, contact_id).await?;
    let mut out = erase_contact_inner(tx, account_id, contact_id).await?;
    out.blob_keys.sort();
    out.blob_keys.dedup();
    queue_purges(tx.conn(), &out.blob_keys).await?;
    out.counts.add("files", out.blob_keys.len() as i64);
    let receipt = write_receipt(
        tx.conn(),
        account_id,
        "contact",
        Some(contact_id),
        scope.user_id(),
        &out.counts,
    )
    .await?;
    let account = crate::render::account_ref(tx.conn(), account_id).await?;
    tx.emit(NewEvent {
        kind: EventKind::ContactDeleted,
        account_id,
        conversation_id: None,
        contact_id: Some(contact_id),
        inbox_id: None,
        payload: serde_json::json!({ "account": account, "id": contact_id, "erased": true }),
    })
    .await?;
    Ok((receipt, out.blob_keys))
}

async fn erase_contact_inner(tx: &mut Tx, account_id: i64, contact_id: i64) -> Result<Erased> {
    let family = merged_family(tx.conn(), account_id, contact_id).await?;
    let conversations = ints(
        tx.conn(),
        "SELECT id AS v FROM conversations WHERE account_id = $1 AND contact_id IN {ids} ORDER BY id",
        account_id,
        &family,
    )
    .await?;
    let mut out = erase_conversations(tx, account_id, &conversations).await?;
    let conn = tx.conn();
    erase_messages_elsewhere(conn, account_id, &family, &mut out).await?;
    drop_contact_records(conn, account_id, &family, &mut out).await?;
    let labels = exec(
        conn,
        "DELETE FROM contact_labels WHERE account_id = $1 AND contact_id IN {ids}",
        account_id,
        &family,
    )
    .await?;
    out.counts.add("contact_labels", labels);
    let contacts = exec(
        conn,
        "DELETE FROM contacts WHERE account_id = $1 AND id IN {ids}",
        account_id,
        &family,
    )
    .await?;
    out.counts.add("contacts", contacts);
    out.counts.add("merged_contacts", family.len() as i64 - 1);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Retention

/// Accounts whose settings hold a retention policy.
pub async fn retention_policies_unscoped(conn: &mut Conn) -> Result<Vec<(i64, RetentionPolicy)>> {
    let rows = sqlx::query(
        "SELECT id, settings FROM accounts WHERE settings LIKE '%data_retention%' ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(p) = RetentionPolicy::from_settings(&row.json("settings")?) {
            out.push((row.int("id")?, p));
        }
    }
    Ok(out)
}

/// Whether the account has conversations due under its policy (a read, so a pass over
/// accounts with nothing due takes no write lock).
pub async fn retention_due_unscoped(
    conn: &mut Conn,
    account_id: i64,
    policy: RetentionPolicy,
    now: i64,
) -> Result<bool> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM conversations WHERE account_id = $1 AND status = 'resolved' \
           AND COALESCE(resolved_at, last_activity_at) <= $2{} LIMIT 1",
        if policy.action == RetentionAction::Anonymise {
            " AND anonymised_at IS NULL"
        } else {
            ""
        }
    )))
    .bind(account_id)
    .bind(policy.cutoff(now))
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// One retention batch of an account: up to `limit` resolved conversations that fell under
/// the policy, deleted or anonymised in this transaction; a contact left with nothing but
/// expired conversations is erased (delete) or anonymised with them. `None` when nothing was
/// due; otherwise the receipt and the files to purge after the commit.
pub async fn retention_batch_unscoped(
    tx: &mut Tx,
    account_id: i64,
    policy: RetentionPolicy,
    now: i64,
    limit: i64,
) -> Result<Option<(Receipt, Vec<String>)>> {
    fence_deliveries(tx).await?;
    let cutoff = policy.cutoff(now);
    let anonymise = policy.action == RetentionAction::Anonymise;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, contact_id FROM conversations WHERE account_id = $1 AND status = 'resolved' \
           AND COALESCE(resolved_at, last_activity_at) <= $2{} ORDER BY id LIMIT $3",
        if anonymise {
            " AND anonymised_at IS NULL"
        } else {
            ""
        }
    )))
    .bind(account_id)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut contacts = Vec::new();
    for r in &rows {
        ids.push(r.int("id")?);
        contacts.push(r.int("contact_id")?);
    }
    contacts.sort_unstable();
    contacts.dedup();
    let mut out = if anonymise {
        anonymise_conversations(tx, account_id, &ids, now).await?
    } else {
        erase_conversations(tx, account_id, &ids).await?
    };
    for contact_id in contacts {
        let live: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM conversations WHERE account_id = $1 AND contact_id = $2{}",
            if anonymise {
                " AND anonymised_at IS NULL"
            } else {
                ""
            }
        )))
        .bind(account_id)
        .bind(contact_id)
        .fetch_one(tx.conn())
        .await?;
        if live > 0 {
            continue;
        }
        if anonymise {
            out.absorb(anonymise_contact(tx, account_id, contact_id, now).await?);
        } else {
            out.absorb(erase_contact_inner(tx, account_id, contact_id).await?);
        }
    }
    out.blob_keys.sort();
    out.blob_keys.dedup();
    queue_purges(tx.conn(), &out.blob_keys).await?;
    out.counts.add("files", out.blob_keys.len() as i64);
    let receipt =
        write_receipt(tx.conn(), account_id, "retention", None, None, &out.counts).await?;
    Ok(Some((receipt, out.blob_keys)))
}

/// Replaces the conversations' texts, files and details with placeholders, keeping every
/// message row (type, sender, status, times) and the conversation's clocks for reports.
/// Thread keys, held receipts, pending files and the outbox/delivery copies go.
async fn anonymise_conversations(
    tx: &mut Tx,
    account_id: i64,
    conversation_ids: &[i64],
    now: i64,
) -> Result<Erased> {
    let conn = tx.conn();
    let ids = conversation_ids;
    let mut out = Erased {
        blob_keys: conversation_blobs(conn, account_id, ids).await?,
        ..Default::default()
    };
    let c = &mut out.counts;
    drop_provider_receipts(conn, account_id, ids, c).await?;
    drop_conversation_events(conn, account_id, ids, c).await?;
    let pending = exec(
        conn,
        "DELETE FROM pending_media WHERE account_id = $1 AND message_id IN \
           (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        account_id,
        ids,
    )
    .await?;
    c.add("pending_media", pending);
    // A voicemail's transcript would bring back words of what was just anonymised.
    exec(
        conn,
        "DELETE FROM voicemail_transcriptions WHERE account_id = $1 AND message_id IN \
           (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        account_id,
        ids,
    )
    .await?;
    let raw = count(
        conn,
        "SELECT COUNT(*) AS n FROM email_messages WHERE account_id = $1 AND conversation_id IN {ids} \
           AND raw_blob_key IS NOT NULL",
        account_id,
        ids,
    )
    .await?;
    c.add("raw_emails", raw);
    let keys = exec(
        conn,
        "DELETE FROM email_messages WHERE account_id = $1 AND conversation_id IN {ids}",
        account_id,
        ids,
    )
    .await?;
    c.add("email_thread_keys", keys);
    let files = exec(
        conn,
        "UPDATE attachments SET file_name = NULL, blob_key = NULL, external_url = NULL, \
           byte_size = 0 WHERE account_id = $1 AND message_id IN \
           (SELECT id FROM messages WHERE account_id = $1 AND conversation_id IN {ids})",
        account_id,
        ids,
    )
    .await?;
    c.add("attachments_anonymised", files);
    // Activity lines (type 2) say what agents did, not what the customer wrote: kept.
    let messages = exec(
        conn,
        &format!(
            "UPDATE messages SET content = CASE WHEN content IS NULL THEN NULL ELSE '{ANONYMISED_TEXT}' END, \
               content_attributes = '{{}}', additional_attributes = '{{}}', source_id = NULL, \
               external_error = NULL, updated_at = {now} \
             WHERE account_id = $1 AND conversation_id IN {{ids}} AND message_type <> 2"
        ),
        account_id,
        ids,
    )
    .await?;
    c.add("messages_anonymised", messages);
    crate::search::rebuild_terms(conn, account_id, ids).await?;
    let conversations = exec(
        conn,
        &format!(
            "UPDATE conversations SET custom_attributes = '{{}}', additional_attributes = '{{}}', \
               anonymised_at = {now}, updated_at = {now} WHERE account_id = $1 AND id IN {{ids}}"
        ),
        account_id,
        ids,
    )
    .await?;
    c.add("conversations_anonymised", conversations);
    Ok(out)
}

/// The contact's details become placeholders (its labels stay, for reports); what identifies
/// it elsewhere — identities, notes, business events, merge snapshots and suggestions, the
/// outbox copies of its events, exports — goes.
async fn anonymise_contact(
    tx: &mut Tx,
    account_id: i64,
    contact_id: i64,
    now: i64,
) -> Result<Erased> {
    let conn = tx.conn();
    let family = merged_family(conn, account_id, contact_id).await?;
    let mut out = Erased::default();
    drop_contact_records(conn, account_id, &family, &mut out).await?;
    let n = sqlx::query(
        "UPDATE contacts SET name = $3, email = NULL, phone_number = NULL, identifier = NULL, \
           avatar_url = NULL, custom_attributes = '{}', additional_attributes = '{}', \
           anonymised_at = $4, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(contact_id)
    .bind(ANONYMISED_NAME)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    out.counts.add(
        "contacts_anonymised",
        i64::try_from(n.rows_affected()).unwrap_or(0),
    );
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Receipts

fn receipt(row: &sqlx::any::AnyRow) -> Result<Receipt> {
    let counts: ErasureCounts = serde_json::from_str(&row.text("counts")?)
        .map_err(|e| StoreError::Corrupt(format!("erasure_receipts.counts: {e}")))?;
    Ok(Receipt {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        kind: row.text("kind")?,
        contact_id: row.opt_int("contact_id")?,
        requested_by: row.opt_int("requested_by")?,
        counts,
        created_at: row.int("created_at")?,
    })
}

/// The account's erasure receipts, newest first.
pub async fn receipts(
    conn: &mut Conn,
    scope: &AccountScope,
    limit: i64,
    offset: i64,
) -> Result<Vec<Receipt>> {
    let rows = sqlx::query(
        "SELECT id, account_id, kind, contact_id, requested_by, counts, created_at \
         FROM erasure_receipts WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(scope.account_id())
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    rows.iter().map(receipt).collect()
}

// ---------------------------------------------------------------------------------------------
// The blob purge queue

/// Files still to delete, oldest first.
pub async fn pending_purges_unscoped(conn: &mut Conn, limit: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, blob_key FROM blob_purges WHERE attempts < 50 ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("id")?, r.text("blob_key")?)))
        .collect()
}

/// The file is gone from the blob store.
pub async fn purged_unscoped(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM blob_purges WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deleting the file failed; it is tried again later.
pub async fn purge_failed_unscoped(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("UPDATE blob_purges SET attempts = attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Exports

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    Pending,
    Running,
    Done,
    Failed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    pub requested_by: Option<i64>,
    pub state: ExportState,
    pub done_steps: i64,
    pub total_steps: i64,
    pub blob_key: Option<String>,
    pub byte_size: Option<i64>,
    pub error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
}

const EXPORT_COLUMNS: &str = "id, account_id, contact_id, requested_by, state, done_steps, \
     total_steps, blob_key, byte_size, error, attempts, created_at, finished_at, expires_at";

fn export(row: &sqlx::any::AnyRow) -> Result<Export> {
    Ok(Export {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        contact_id: row.int("contact_id")?,
        requested_by: row.opt_int("requested_by")?,
        state: row.parsed("state", ExportState::parse)?,
        done_steps: row.int("done_steps")?,
        total_steps: row.int("total_steps")?,
        blob_key: row.opt_text("blob_key")?,
        byte_size: row.opt_int("byte_size")?,
        error: row.opt_text("error")?,
        attempts: row.int("attempts")?,
        created_at: row.int("created_at")?,
        finished_at: row.opt_int("finished_at")?,
        expires_at: row.opt_int("expires_at")?,
    })
}

/// Asks for an export of a contact's data; a timer builds it.
pub async fn request_export(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Export> {
    crate::contacts::get(&mut *conn, scope, contact_id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO privacy_exports (account_id, contact_id, requested_by, state, created_at) \
         VALUES ($1, $2, $3, 'pending', $4) RETURNING {EXPORT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(scope.user_id())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    export(&row)
}

/// One export of one contact.
pub async fn get_export(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    export_id: i64,
) -> Result<Export> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EXPORT_COLUMNS} FROM privacy_exports \
         WHERE account_id = $1 AND contact_id = $2 AND id = $3"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(export_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    export(&row)
}

/// Whether an export waits to be built (a read, before claiming takes the write lock).
pub async fn export_waiting_unscoped(conn: &mut Conn, now: i64) -> Result<bool> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM privacy_exports WHERE state = 'pending' \
            OR (state = 'running' AND lease_until < $1) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(id.is_some())
}

/// An export to build: a pending one, or a running one whose builder stopped renewing its
/// lease (a crash). Claimed for `lease_ms`; after `max_attempts` claims it is failed instead.
pub async fn claim_export_unscoped(
    conn: &mut Conn,
    now: i64,
    lease_ms: i64,
    max_attempts: i64,
) -> Result<Option<Export>> {
    loop {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM privacy_exports WHERE state = 'pending' \
                OR (state = 'running' AND lease_until < $1) ORDER BY id LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE privacy_exports SET state = 'running', lease_until = $2, attempts = attempts + 1 \
             WHERE id = $1 AND (state = 'pending' OR (state = 'running' AND lease_until < $3)) \
             RETURNING {EXPORT_COLUMNS}"
        )))
        .bind(id)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let claimed = export(&row)?;
        if claimed.attempts > max_attempts {
            fail_export_unscoped(conn, id, "the export stopped too many times").await?;
            continue;
        }
        return Ok(Some(claimed));
    }
}

/// Progress of a running export; renews its lease.
pub async fn export_progress_unscoped(
    conn: &mut Conn,
    id: i64,
    done: i64,
    total: i64,
    lease_until: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE privacy_exports SET done_steps = $2, total_steps = $3, lease_until = $4 \
         WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(done)
    .bind(total)
    .bind(lease_until)
    .execute(conn)
    .await?;
    Ok(())
}

/// The export's file is stored. `false` when the export no longer exists (its contact was
/// erased meanwhile): the caller must delete the file it just stored.
pub async fn finish_export_unscoped(
    conn: &mut Conn,
    id: i64,
    blob_key: &str,
    byte_size: i64,
    expires_at: i64,
) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE privacy_exports SET state = 'done', blob_key = $2, byte_size = $3, \
           done_steps = total_steps, finished_at = $4, expires_at = $5, lease_until = NULL, \
           error = NULL WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(blob_key)
    .bind(byte_size)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn fail_export_unscoped(conn: &mut Conn, id: i64, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE privacy_exports SET state = 'failed', error = $2, finished_at = $3, \
           lease_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(error.chars().take(500).collect::<String>())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes exports that expired, failed long ago or whose contact is gone (deleted without
/// erasure), queueing their files for purge in the same transaction. Returns the files.
pub async fn sweep_exports_unscoped(tx: &mut Tx, now: i64, limit: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT e.id, e.blob_key FROM privacy_exports e \
         WHERE (e.expires_at IS NOT NULL AND e.expires_at <= $1) \
            OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = e.contact_id AND c.account_id = e.account_id) \
         ORDER BY e.id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    let mut keys = Vec::new();
    for row in rows {
        if let Some(k) = row.opt_text("blob_key")? {
            keys.push(k);
        }
        sqlx::query("DELETE FROM privacy_exports WHERE id = $1")
            .bind(row.int("id")?)
            .execute(tx.conn())
            .await?;
    }
    queue_purges(tx.conn(), &keys).await?;
    Ok(keys)
}

// ---------------------------------------------------------------------------------------------
// Reads for an export

/// Every merge suggestion naming the contact, whatever its status, newest first.
pub async fn suggestions_about(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Vec<crate::suggestions::Suggestion>> {
    let rows = sqlx::query(
        "SELECT id, contact_id, candidate_id, reason, detail, status, created_at \
         FROM merge_suggestions WHERE account_id = $1 AND (contact_id = $2 OR candidate_id = $2) \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(scope.account_id())
    .bind(contact_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::suggestions::Suggestion {
                id: r.int("id")?,
                contact_id: r.int("contact_id")?,
                candidate_id: r.int("candidate_id")?,
                reason: r.text("reason")?,
                detail: r.opt_text("detail")?,
                status: r.text("status")?,
                created_at: r.int("created_at")?,
            })
        })
        .collect()
}

/// A conversation's kept raw emails: (message id, blob key, direction).
pub async fn raw_emails_of(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation_id: i64,
) -> Result<Vec<(Option<i64>, String, String)>> {
    let rows = sqlx::query(
        "SELECT message_id, raw_blob_key, direction FROM email_messages \
         WHERE account_id = $1 AND conversation_id = $2 AND raw_blob_key IS NOT NULL ORDER BY id",
    )
    .bind(scope.account_id())
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.opt_int("message_id")?,
                r.text("raw_blob_key")?,
                r.text("direction")?,
            ))
        })
        .collect()
}

/// The attachments of a conversation's messages, by message.
pub async fn attachments_of_conversation(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation_id: i64,
) -> Result<Vec<throughline_core::model::Attachment>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM attachments WHERE account_id = $1 AND message_id IN \
           (SELECT id FROM messages WHERE account_id = $1 AND conversation_id = $2) ORDER BY id",
        crate::records::ATTACHMENT_COLUMNS
    )))
    .bind(scope.account_id())
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(crate::records::attachment).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_number_after_the_account() {
        assert_eq!(
            with_ids("a IN {ids} OR b IN {ids}", 2),
            "a IN ($2, $3) OR b IN ($2, $3)"
        );
        assert_eq!(with_ids("a IN {ids}", 0), "a IN (NULL)");
    }
}
