//! Receiving a customer's message, whatever channel it came through.
//!
//! ```text
//!  Client API / widget ─┐                     one grouped write (SAVEPOINT in a shared COMMIT)
//!  API relay ───────────┼─► receive(Receive) ─► resolve sender → thread → message + event
//!  email (SMTP, IMAP) ──┘        ▲                                      │
//!  provider webhooks ─► adapter.parse ─► receive_from_channel ──────────┘ answer after COMMIT
//! ```
//!
//! Acknowledged means durable: every caller answers its client or provider only after
//! [`receive`] returns, which is after the commit. A provider's retry carries the same
//! external id and gets the stored message back instead of a second one.

use std::hash::{Hash, Hasher};

use serde_json::Value;
use throughline_channels::inbound::{InboundAttachment, InboundSender, ThreadKey};
use throughline_channels::{
    ChannelAdapter, Inbound, MessageEdit, NormalisedInbound, StatusReport, ThreadHints,
};
use throughline_core::linking::Evidence;
use throughline_core::message::{MessageType, SenderType, attachment_kind};
use throughline_core::model::{Conversation, Inbox};
use throughline_store::blob::{BlobStore, new_key};
use throughline_store::email::HeaderRecord;
use throughline_store::media::{self, PendingFile};
use throughline_store::messages::{self, Created, NewAttachment, NewMessage};
use throughline_store::resolve::{self, Arriving};
use throughline_store::{AccountScope, Result, Store, StoreError, Tx, contacts, email};

use crate::threading::{self, Customer, ThreadedBy};

/// Who wrote.
#[derive(Clone, Debug)]
pub enum Sender {
    /// An identity already established (the Client API's visitor, an API-posted identity).
    Known {
        contact_id: i64,
        identity_id: Option<i64>,
    },
    /// Only what the channel says; `evidence` is how much that proves.
    Arriving {
        sender: InboundSender,
        evidence: Evidence,
    },
}

/// Where it goes.
#[derive(Clone, Debug)]
pub enum Destination {
    /// The conversation the customer wrote in, as they may see it (see `visitor`).
    Conversation(Box<Conversation>),
    /// Found from the message's thread hints and the continuity rules.
    Thread(Box<ThreadHints>),
}

/// One inbound message, ready to store. Attachments are already in the blob store.
#[derive(Clone, Debug)]
pub struct Receive {
    pub inbox: Inbox,
    pub scope: AccountScope,
    pub sender: Sender,
    pub destination: Destination,
    /// Content, attributes, attachments, external id (`source_id`) and echo id; the inbox,
    /// identity, sender and type are set here.
    pub message: NewMessage,
    /// Recorded with the message so later answers thread to it.
    pub thread_key: Option<ThreadKey>,
    pub raw_blob_key: Option<String>,
    /// Files the provider did not hand over yet, retried by the media timer.
    pub pending_media: Vec<PendingFile>,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub created: Created,
    pub threaded_by: ThreadedBy,
}

/// Stores one inbound message with its event, through the group commit.
pub async fn receive(store: &Store, r: Receive) -> Result<Received> {
    let channel = r.inbox.channel_type.short_name();
    let received = store
        .write_grouped(grouping_key(&r.sender), move |tx| Box::pin(write(tx, r)))
        .await?;
    if !received.created.duplicate {
        metrics::counter!("throughline_inbound_messages_total", "channel" => channel).increment(1);
    }
    Ok(received)
}

/// One customer's writes go to one committer queue, so they never sit in two concurrent
/// batches (on PostgreSQL that deadlocked).
fn grouping_key(sender: &Sender) -> u64 {
    match sender {
        Sender::Known { contact_id, .. } => contact_id.unsigned_abs(),
        Sender::Arriving { sender, .. } => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            sender
                .email
                .as_deref()
                .or(sender.phone.as_deref())
                .or(sender.source_id.as_deref())
                .map(str::to_lowercase)
                .hash(&mut h);
            h.finish()
        }
    }
}

async fn write(tx: &mut Tx, r: Receive) -> Result<Received> {
    let Receive {
        inbox,
        scope,
        sender,
        destination,
        mut message,
        thread_key,
        raw_blob_key,
        pending_media,
    } = r;
    let (contact_id, identity_id) = match sender {
        Sender::Known {
            contact_id,
            identity_id,
        } => (contact_id, identity_id),
        Sender::Arriving { sender, evidence } => {
            let stage = tracing::trace_span!(target: "throughline::stage", "resolve");
            let resolved = tracing::Instrument::instrument(
                resolve::sender(
                    tx,
                    &scope,
                    Arriving {
                        inbox: &inbox,
                        source_id: sender.source_id,
                        name: sender.name,
                        email: sender.email,
                        phone: sender.phone,
                        phone_as_given: None,
                        external_id: None,
                        evidence,
                        hmac_verified: false,
                        custom_attributes: None,
                        avatar_url: None,
                    },
                ),
                stage,
            )
            .await?;
            (resolved.contact.id, Some(resolved.identity.id))
        }
    };
    let (conversation, threaded_by) = match destination {
        Destination::Conversation(c) => (*c, ThreadedBy::Named),
        Destination::Thread(hints) => {
            let customer = Customer {
                inbox: &inbox,
                contact_id,
                identity_id,
            };
            let stage = tracing::trace_span!(target: "throughline::stage", "resolve");
            tracing::Instrument::instrument(threading::place(tx, &scope, customer, &hints), stage)
                .await?
        }
    };
    message.message_type = MessageType::Incoming;
    message.inbox_id = Some(inbox.id);
    message.identity_id = identity_id;
    message.sender = Some((SenderType::Contact, contact_id));
    let created =
        messages::create_through(tx, &scope, &conversation, message, Some(&inbox)).await?;
    if !created.duplicate && !pending_media.is_empty() {
        // Due at once: the media timer's next turn tries again.
        media::hold(
            tx.conn(),
            &created.message,
            &pending_media,
            throughline_store::now_ms(),
        )
        .await?;
    }
    if !created.duplicate
        && let Some(key) = &thread_key
    {
        email::record_header(
            tx.conn(),
            HeaderRecord {
                account_id: inbox.account_id,
                inbox_id: inbox.id,
                conversation_id: created.conversation.id,
                message_id: Some(created.message.id),
                header_id: &key.key,
                direction: "in",
                subject: key.subject.as_deref(),
                raw_blob_key: raw_blob_key.as_deref(),
            },
        )
        .await?;
    }
    Ok(Received {
        created,
        threaded_by,
    })
}

/// What became of something a channel adapter parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Stored as a message.
    Message {
        conversation_id: i64,
        display_id: i64,
        message_id: i64,
        threaded_by: ThreadedBy,
        /// It could not be read; the message carries a note and the raw original.
        malformed: bool,
    },
    /// The same external id was already stored in this inbox (a provider's retry).
    Duplicate { message_id: i64 },
    /// A delivery report: the message it names (when we found it) has its new status.
    Status { message_id: Option<i64> },
    /// A customer's edit: the message it changed, when we hold it.
    Edited { message_id: Option<i64> },
    /// Sent by one of the account's own addresses (a loop); not stored.
    OwnAddress,
}

/// A NUL character cannot be stored in PostgreSQL text, and a provider or a mail server may
/// send one: it becomes U+FFFD in the text and the sender's details, so the message is kept
/// (JSON attributes escape it and need nothing).
fn keep_storable(m: &mut NormalisedInbound) {
    fn clean(s: &mut String) {
        if s.contains('\0') {
            *s = s.replace('\0', "\u{FFFD}");
        }
    }
    clean(&mut m.content);
    clean(&mut m.external_id);
    for field in [
        &mut m.sender.source_id,
        &mut m.sender.name,
        &mut m.sender.email,
        &mut m.sender.phone,
    ]
    .into_iter()
    .flatten()
    {
        clean(field);
    }
    if let Some(key) = &mut m.thread_key {
        clean(&mut key.key);
    }
}

/// Where a channel's items go: the inbox, its adapter (for files the provider holds) and the
/// largest file taken.
#[derive(Clone, Copy)]
pub struct Intake<'a> {
    pub store: &'a Store,
    pub blobs: &'a dyn BlobStore,
    pub inbox: &'a Inbox,
    pub adapter: &'a dyn ChannelAdapter,
    pub media_limit: usize,
}

/// Stores what an adapter parsed from a provider's request: blobs first (the transaction then
/// only refers to bytes already stored), then one grouped write.
pub async fn receive_from_channel(intake: Intake<'_>, inbound: Inbound) -> Result<Ingested> {
    match inbound {
        Inbound::Message(m) => receive_message(intake, *m).await,
        Inbound::Status(report) => {
            receive_status(intake.store, intake.blobs, intake.inbox, report).await
        }
        Inbound::Edit(edit) => receive_edit(intake.store, intake.inbox, edit).await,
    }
}

async fn receive_message(intake: Intake<'_>, m: NormalisedInbound) -> Result<Ingested> {
    let Intake {
        store,
        blobs,
        inbox,
        adapter,
        media_limit,
    } = intake;
    let account_id = inbox.account_id;
    let scope = AccountScope::system(account_id);
    let mut m = m;
    let unnamed_newcomer = {
        let mut conn = store.read().await?;
        match messages::by_source_id(&mut conn, &scope, inbox.id, &m.external_id).await {
            Ok(existing) => {
                return Ok(Ingested::Duplicate {
                    message_id: existing.id,
                });
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        if let Some(address) = &m.sender.email {
            let own = email::own_addresses(&mut conn, account_id).await?;
            if own.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                return Ok(Ingested::OwnAddress);
            }
        }
        match (&m.sender.name, &m.sender.source_id) {
            (None, Some(source)) => {
                match contacts::identity_by_source(&mut conn, &scope, inbox.id, source).await {
                    Ok(_) => None,
                    Err(StoreError::NotFound) => Some(source.clone()),
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        }
    };
    // A provider that names senders only by id is asked for the name once, for a newcomer.
    if let Some(source) = unnamed_newcomer {
        m.sender.name = adapter.sender_name(&source).await;
    }
    keep_storable(&mut m);
    let NormalisedInbound {
        sender,
        external_id,
        content,
        mut content_attributes,
        mut attachments,
        media,
        evidence,
        thread,
        raw,
        malformed,
        thread_key,
        ..
    } = m;
    // Downloaded only now that the message is known to be new. A file that cannot be fetched
    // does not hold the message back: it is stored saying which files are missing and why.
    let mut missing = Vec::new();
    let mut pending_media = Vec::new();
    for file in &media {
        match adapter.fetch_media(file, media_limit).await {
            Ok(a) => attachments.push(a),
            Err(reason) => {
                tracing::warn!(inbox_id = inbox.id, handle = %file.handle, %reason,
                    "could not download a provider's file; retrying later");
                missing.push(serde_json::json!({
                    "handle": file.handle,
                    "content_type": file.content_type,
                    "file_name": file.file_name,
                    "error": reason,
                }));
                pending_media.push(PendingFile {
                    handle: file.handle.clone(),
                    content_type: file.content_type.clone(),
                    file_name: file.file_name.clone(),
                });
            }
        }
    }
    if !missing.is_empty() {
        set_at(
            &mut content_attributes,
            &["media_pending"],
            Value::Array(missing),
        );
    }
    let mut raw_blob_key = None;
    if let Some(raw) = raw {
        let key = new_key(account_id);
        let stage = tracing::trace_span!(target: "throughline::stage", "blobs");
        tracing::Instrument::instrument(blobs.put(&key, raw.bytes), stage).await?;
        set_at(
            &mut content_attributes,
            raw.key_at,
            Value::String(key.clone()),
        );
        raw_blob_key = Some(key);
    }
    let mut message = NewMessage::text(MessageType::Incoming, content);
    message.source_id = Some(external_id);
    message.content_attributes = content_attributes;
    message.attachments = store_attachments(blobs, account_id, attachments).await?;
    let received = receive(
        store,
        Receive {
            inbox: inbox.clone(),
            scope,
            // The adapter says what the sender's addresses are worth (an email's From header is
            // a claim; a phone number WhatsApp delivered from is proven).
            sender: Sender::Arriving { sender, evidence },
            destination: Destination::Thread(Box::new(thread)),
            message,
            thread_key,
            raw_blob_key,
            pending_media,
        },
    )
    .await?;
    let c = &received.created;
    Ok(if c.duplicate {
        Ingested::Duplicate {
            message_id: c.message.id,
        }
    } else {
        Ingested::Message {
            conversation_id: c.conversation.id,
            display_id: c.conversation.display_id,
            message_id: c.message.id,
            threaded_by: received.threaded_by,
            malformed,
        }
    })
}

/// A customer's edit of a message they sent: the stored message shows the new text and keeps
/// the earlier one. An edit of a message we never stored (sent before the inbox existed) is
/// dropped, as is a repeat.
async fn receive_edit(store: &Store, inbox: &Inbox, edit: MessageEdit) -> Result<Ingested> {
    let scope = AccountScope::system(inbox.account_id);
    let mut tx = store.begin().await?;
    let edited = messages::record_edit(
        &mut tx,
        &scope,
        inbox.id,
        &edit.external_id,
        &edit.content,
        edit.edited_at,
    )
    .await?;
    tx.commit().await?;
    if edited.is_none() {
        tracing::info!(inbox_id = inbox.id, external_id = %edit.external_id,
            "an edit of a message we do not hold (or no change)");
    }
    Ok(Ingested::Edited {
        message_id: edited.map(|m| m.id),
    })
}

async fn receive_status(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox: &Inbox,
    report: StatusReport,
) -> Result<Ingested> {
    let account_id = inbox.account_id;
    let raw_key = match report.raw {
        // Kept like every received message, whether or not it names one of ours.
        Some(raw) => {
            let key = new_key(account_id);
            blobs.put(&key, raw).await?;
            Some(key)
        }
        None => None,
    };
    let mut tx = store.begin().await?;
    let mut found = None;
    if let Some(key) = &report.thread_key
        && let Some((_, Some(message_id), direction)) =
            email::find_header(tx.conn(), account_id, key).await?
        && direction == "out"
    {
        let scope = AccountScope::system(account_id);
        messages::record_delivery(
            &mut tx,
            &scope,
            message_id,
            report.status,
            Some(&report.reason),
        )
        .await?;
        found = Some(message_id);
    }
    if found.is_none()
        && let Some(key) = &report.thread_key
        && inbox.channel_type != throughline_core::model::ChannelType::Email
    {
        // A provider's callback can outrun the answer to our send (the id is recorded once
        // the send returns): held, and applied when the id is recorded.
        throughline_store::providers::hold_receipt(
            tx.conn(),
            account_id,
            inbox.id,
            key,
            report.status,
            Some(&report.reason)
                .filter(|r| !r.is_empty())
                .map(String::as_str),
        )
        .await?;
    }
    tx.commit().await?;
    if found.is_none() {
        tracing::info!(
            inbox_id = inbox.id,
            raw = raw_key.as_deref().unwrap_or("-"),
            "a delivery report for a message we do not know (yet)"
        );
        if let Some(key) = &report.thread_key {
            // The send may have recorded the id while this report was held: whichever side
            // commits last applies it (each looks again after its own commit).
            found = apply_held_receipts(store, account_id, inbox.id, key).await?;
        }
    }
    Ok(Ingested::Status { message_id: found })
}

/// Applies the status reports held for provider message id `key` once we know which of our
/// messages it names; the message's id when it does.
pub(crate) async fn apply_held_receipts(
    store: &Store,
    account_id: i64,
    inbox_id: i64,
    key: &str,
) -> Result<Option<i64>> {
    let mut tx = store.begin().await?;
    let Some((_, Some(message_id), direction)) =
        email::find_header(tx.conn(), account_id, key).await?
    else {
        return Ok(None);
    };
    if direction != "out" {
        return Ok(None);
    }
    let scope = AccountScope::system(account_id);
    for (status, reason) in
        throughline_store::providers::take_receipts(tx.conn(), inbox_id, key).await?
    {
        messages::record_delivery(&mut tx, &scope, message_id, status, reason.as_deref()).await?;
    }
    tx.commit().await?;
    Ok(Some(message_id))
}

pub(crate) async fn store_attachments(
    blobs: &dyn BlobStore,
    account_id: i64,
    files: Vec<InboundAttachment>,
) -> Result<Vec<NewAttachment>> {
    let mut out = Vec::with_capacity(files.len());
    for a in files {
        let key = new_key(account_id);
        let byte_size = i64::try_from(a.data.len()).unwrap_or(i64::MAX);
        blobs.put(&key, a.data).await?;
        out.push(NewAttachment {
            file_type: attachment_kind(&a.content_type).into(),
            content_type: Some(a.content_type),
            file_name: a.file_name,
            byte_size,
            blob_key: Some(key),
            external_url: None,
        });
    }
    Ok(out)
}

/// Writes `value` at a path of object keys, creating the objects on the way.
fn set_at(target: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = target;
    for key in parents {
        if !node.is_object() {
            *node = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = node {
        map.insert((*last).to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_at_writes_nested_keys_and_keeps_siblings() {
        let mut v = json!({"email": {"subject": "Hi"}});
        set_at(&mut v, &["email", "raw_blob_key"], json!("1/abc"));
        assert_eq!(
            v,
            json!({"email": {"subject": "Hi", "raw_blob_key": "1/abc"}})
        );
        let mut empty = Value::Null;
        set_at(&mut empty, &["a", "b"], json!(1));
        assert_eq!(empty, json!({"a": {"b": 1}}));
    }
}
