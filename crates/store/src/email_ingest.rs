//! One inbound email, from raw bytes to a message in the right conversation.
//!
//! Both receivers (the SMTP listener and IMAP polling) call [`ingest`]. The raw message and the
//! attachments go to the blob store first; then one write transaction resolves the sender,
//! threads the message, stores it with its email details and records its Message-ID. A
//! message that cannot be parsed is still stored (raw, with a note) so nothing is lost.

use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use throughline_core::conversation::Status;
use throughline_core::linking::Evidence;
use throughline_core::message::{DeliveryStatus, MessageType, SenderType};
use throughline_core::model::{ChannelType, Conversation, Inbox};
use throughline_email::parse::{InboundEmail, parse_inbound};
use throughline_email::quote::{split_html, split_text};
use throughline_email::sanitize::{SanitizeOptions, sanitize_html};
use throughline_email::threading::{normalize_subject, thread_keys};

use crate::blob::{BlobStore, new_key};
use crate::clock::now_ms;
use crate::continuity;
use crate::conversations::{self, NewConversation};
use crate::db::{Store, Tx};
use crate::email::{self, EmailChannel, HeaderRecord};
use crate::error::{Result, StoreError};
use crate::messages::{self, NewAttachment, NewMessage};
use crate::records::{self, CONVERSATION_COLUMNS};
use crate::resolve::{self, Arriving};
use crate::rows::RowExt;
use crate::scope::AccountScope;

/// A subject-only reply joins an open conversation of the same contact active this recently.
pub const SUBJECT_MATCH_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// How a conversation was found for an inbound email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadedBy {
    ReplyToken,
    References,
    Subject,
    /// No email match: the continuity rules decided (continue another channel's conversation,
    /// or start a new one).
    Continuity,
    New,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Stored as a message.
    Message {
        conversation_id: i64,
        display_id: i64,
        message_id: i64,
        threaded_by: ThreadedBy,
        /// The MIME could not be read; the message carries a note and the raw original.
        malformed: bool,
    },
    /// The same Message-ID (or the same bytes) was already imported into this inbox.
    Duplicate { message_id: i64 },
    /// A delivery failure report: the original outgoing message (when we found it) is failed.
    Bounce { failed_message_id: Option<i64> },
    /// Sent by one of the account's own inbox addresses (a loop); not imported.
    OwnAddress,
}

/// Where a receiver got the message (for the envelope sender when From is unreadable).
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    pub mail_from: Option<String>,
}

/// Imports one raw email into an email inbox. Never panics on bad input; errors are the
/// store's (worth a retry by the receiver: SMTP answers 451, IMAP keeps its UID).
pub async fn ingest(
    store: &Store,
    blobs: &dyn BlobStore,
    inbox_id: i64,
    raw: &[u8],
    envelope: &Envelope,
) -> Result<Ingested> {
    let (inbox, channel) = {
        let mut conn = store.read().await?;
        let inbox = crate::inboxes::get_unscoped(&mut conn, store.key(), inbox_id).await?;
        let scope = AccountScope::system(inbox.account_id);
        let channel = email::get(&mut conn, store.key(), &scope, inbox_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        (inbox, channel)
    };
    let account_id = inbox.account_id;
    let parsed = parse_safely(raw);
    let source_id = match parsed.as_ref().ok().and_then(|p| p.message_id.clone()) {
        Some(id) => id,
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let scope = AccountScope::system(account_id);
    {
        let mut conn = store.read().await?;
        match messages::by_source_id(&mut conn, &scope, inbox_id, &source_id).await {
            Ok(m) => return Ok(Ingested::Duplicate { message_id: m.id }),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        if let Ok(p) = &parsed
            && let Some(from) = &p.from
        {
            let own = email::own_addresses(&mut conn, account_id).await?;
            if own.iter().any(|a| a.eq_ignore_ascii_case(&from.address)) {
                return Ok(Ingested::OwnAddress);
            }
        }
    }

    // Blobs first: the transaction then only refers to bytes already stored.
    let raw_key = new_key(account_id);
    blobs.put(&raw_key, raw.to_vec()).await?;

    if let Ok(p) = &parsed
        && let Some(bounce) = p.bounce.as_ref().filter(|b| b.is_failure())
    {
        let mut tx = store.begin().await?;
        let mut failed = None;
        if let Some(original) = &bounce.original_message_id
            && let Some((_, Some(message_id), direction)) =
                email::find_header(tx.conn(), account_id, original).await?
            && direction == "out"
        {
            let reason = format!(
                "bounced{}: {}",
                bounce
                    .recipient
                    .as_deref()
                    .map(|r| format!(" by {r}"))
                    .unwrap_or_default(),
                bounce.reason
            );
            messages::record_delivery(
                &mut tx,
                &scope,
                message_id,
                DeliveryStatus::Failed,
                Some(&reason),
            )
            .await?;
            failed = Some(message_id);
        }
        tx.commit().await?;
        if failed.is_none() {
            tracing::info!(inbox_id, raw = %raw_key, "a bounce for a message we do not know");
        }
        return Ok(Ingested::Bounce {
            failed_message_id: failed,
        });
    }

    let mut attachments = Vec::new();
    let mut inline = HashMap::new();
    if let Ok(p) = &parsed {
        for a in &p.attachments {
            let key = new_key(account_id);
            blobs.put(&key, a.data.clone()).await?;
            if let Some(cid) = &a.content_id {
                // Inline images are shown through the attachment route once stored; until
                // then the sanitiser keeps a reference the UI can resolve by content id.
                inline.insert(cid.clone(), format!("cid:{cid}"));
            }
            attachments.push(NewAttachment {
                file_type: file_type(&a.content_type).into(),
                content_type: Some(a.content_type.clone()),
                file_name: a.file_name.clone(),
                byte_size: i64::try_from(a.data.len()).unwrap_or(i64::MAX),
                blob_key: Some(key),
                external_url: None,
            });
        }
    }

    // The message's rows go in through the group commit, like every inbound message: many
    // SMTP sessions delivering at once share one flush to disk.
    let prepared = Prepared {
        inbox,
        channel,
        parsed,
        attachments,
        inline,
        raw_key,
        source_id,
        mail_from: envelope.mail_from.clone(),
        scope,
    };
    // The sender's address is the customer, as far as is known before the rows are read.
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        prepared
            .parsed
            .as_ref()
            .ok()
            .and_then(|p| p.from.as_ref())
            .map(|m| m.address.to_lowercase())
            .or_else(|| prepared.mail_from.clone())
            .hash(&mut h);
        h.finish()
    };
    store
        .write_grouped(key, move |tx| Box::pin(write_message(tx, prepared)))
        .await
}

/// What a received email has become before its rows are written.
struct Prepared {
    inbox: Inbox,
    channel: EmailChannel,
    parsed: std::result::Result<InboundEmail, String>,
    attachments: Vec<NewAttachment>,
    inline: HashMap<String, String>,
    raw_key: String,
    source_id: String,
    mail_from: Option<String>,
    scope: AccountScope,
}

async fn write_message(tx: &mut Tx, prepared: Prepared) -> Result<Ingested> {
    let Prepared {
        inbox,
        channel,
        parsed,
        attachments,
        inline,
        raw_key,
        source_id,
        mail_from,
        scope,
    } = prepared;
    let account_id = inbox.account_id;
    let from = parsed.as_ref().ok().and_then(|p| p.from.clone());
    let sender_email = from
        .as_ref()
        .map(|m| m.address.clone())
        .or_else(|| mail_from.clone())
        .and_then(|a| throughline_core::identity::normalize_email(&a).ok());
    let resolved = resolve::sender(
        tx,
        &scope,
        Arriving {
            inbox: &inbox,
            source_id: sender_email.clone(),
            name: from.as_ref().and_then(|m| m.name.clone()),
            email: sender_email.clone(),
            phone: None,
            external_id: None,
            // Anyone can write any From header: the address is a claim, never proof.
            evidence: Evidence::Claimed,
            hmac_verified: false,
            custom_attributes: None,
            avatar_url: None,
        },
    )
    .await?;
    let contact_id = resolved.contact.id;

    let (conversation, threaded_by) = match &parsed {
        Ok(p) => {
            thread(
                tx,
                &scope,
                &inbox,
                &channel,
                p,
                contact_id,
                resolved.identity.id,
            )
            .await?
        }
        Err(_) => {
            let mut new = NewConversation::open(contact_id, inbox.id, Some(resolved.identity.id));
            new.additional_attributes = json!({"source": "email"});
            (
                conversations::create(tx, &scope, new).await?,
                ThreadedBy::New,
            )
        }
    };

    let (content, email_attrs, subject) = match &parsed {
        Ok(p) => {
            let (content, attrs) = email_details(p, &inline, &raw_key);
            (content, attrs, p.subject.clone())
        }
        Err(reason) => (
            format!(
                "This email could not be read ({reason}). The original message is kept as \
                 received."
            ),
            json!({ "malformed": true, "parse_error": reason, "raw_blob_key": raw_key }),
            None,
        ),
    };
    let mut new = NewMessage::text(MessageType::Incoming, content);
    new.inbox_id = Some(inbox.id);
    new.identity_id = Some(resolved.identity.id);
    new.source_id = Some(source_id.clone());
    new.sender = Some((SenderType::Contact, contact_id));
    new.content_attributes = json!({ "email": email_attrs });
    new.attachments = attachments;
    if let Ok(p) = &parsed
        && let Some(date) = p.date
    {
        // Keep the order of arrival: a client's clock is not trusted for ordering.
        new.content_attributes["email"]["date"] = json!(date);
    }
    let created = messages::create(tx, &scope, &conversation, new).await?;
    if created.duplicate {
        return Ok(Ingested::Duplicate {
            message_id: created.message.id,
        });
    }
    email::record_header(
        tx.conn(),
        HeaderRecord {
            account_id,
            inbox_id: inbox.id,
            conversation_id: created.conversation.id,
            message_id: Some(created.message.id),
            header_id: &source_id,
            direction: "in",
            subject: subject.as_deref(),
            raw_blob_key: Some(&raw_key),
        },
    )
    .await?;
    Ok(Ingested::Message {
        conversation_id: created.conversation.id,
        display_id: created.conversation.display_id,
        message_id: created.message.id,
        threaded_by,
        malformed: parsed.is_err(),
    })
}

/// Parses, turning a parser panic (there should be none) into an error like any other.
fn parse_safely(raw: &[u8]) -> std::result::Result<InboundEmail, String> {
    match std::panic::catch_unwind(|| parse_inbound(raw)) {
        Ok(Ok(p))
            if p.from.is_none()
                && p.to.is_empty()
                && p.subject.is_none()
                && p.message_id.is_none()
                && p.date.is_none() =>
        {
            // The parser is lenient: bytes without a single header it knows are not an email.
            Err("malformed MIME: no email headers found".into())
        }
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(format!("malformed MIME: {e}")),
        Err(_) => Err("malformed MIME: the parser gave up".into()),
    }
}

fn file_type(content_type: &str) -> &'static str {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("image/") {
        "image"
    } else if ct.starts_with("audio/") {
        "audio"
    } else if ct.starts_with("video/") {
        "video"
    } else {
        "file"
    }
}

fn addresses(list: &[throughline_email::Mailbox]) -> Value {
    Value::Array(list.iter().map(|m| json!(m.address)).collect())
}

/// The message text (what the customer wrote now) and `content_attributes.email` as Chatwoot
/// shapes it: subject, from/to/cc, the full text and HTML (sanitised) with the part quoted
/// from earlier mail split off.
fn email_details(
    p: &InboundEmail,
    inline: &HashMap<String, String>,
    raw_key: &str,
) -> (String, Value) {
    let options = SanitizeOptions {
        allow_remote_images: false,
        inline_images: inline.clone(),
    };
    let text = p.text_body.clone().unwrap_or_default();
    let text_split = split_text(&text);
    let html = p.html_body.as_deref().map(|h| {
        let split = split_html(h);
        json!({
            "full": sanitize_html(h, &options),
            "reply": sanitize_html(&split.visible, &options),
            "quoted": sanitize_html(&split.quoted, &options),
        })
    });
    let content = if text_split.visible.trim().is_empty() {
        text.trim().to_owned()
    } else {
        text_split.visible.trim().to_owned()
    };
    let mut attrs = json!({
        "subject": p.subject,
        "from": p.from.as_ref().map(|m| vec![m.address.clone()]).unwrap_or_default(),
        "to": addresses(&p.to),
        "cc": addresses(&p.cc),
        "message_id": p.message_id,
        "in_reply_to": p.in_reply_to.first(),
        "references": p.references,
        "text_content": {
            "full": text,
            "reply": text_split.visible,
            "quoted": text_split.quoted,
        },
        "number_of_attachments": p.attachments.len(),
        "auto_reply": p.suppress_auto_response(),
        "raw_blob_key": raw_key,
    });
    if let Some(from) = p.from.as_ref().and_then(|m| m.name.clone()) {
        attrs["from_name"] = json!(from);
    }
    if let Some(html) = html {
        attrs["html_content"] = html;
    }
    (content, attrs)
}

/// Picks the conversation, in issue #4's order, never one of another contact.
async fn thread(
    tx: &mut Tx,
    scope: &AccountScope,
    inbox: &Inbox,
    channel: &EmailChannel,
    p: &InboundEmail,
    contact_id: i64,
    identity_id: i64,
) -> Result<(Conversation, ThreadedBy)> {
    let keys = thread_keys(p, channel.domain());
    for token in &keys.reply_tokens {
        if let Some(c) = by_uuid(tx, scope, token).await?
            && c.contact_id == contact_id
        {
            let c = crate::moves::current(tx.conn(), c).await?;
            return Ok((c, ThreadedBy::ReplyToken));
        }
    }
    for id in &keys.referenced_ids {
        if let Some((conversation_id, _, _)) =
            email::find_header(tx.conn(), scope.account_id(), id).await?
        {
            let c = messages::conversation_by_id(tx.conn(), conversation_id).await?;
            if c.contact_id == contact_id && c.account_id == scope.account_id() {
                return Ok((c, ThreadedBy::References));
            }
        }
    }
    if !keys.normalized_subject.is_empty()
        && let Some(c) = by_subject(tx, scope, contact_id, &keys.normalized_subject).await?
    {
        return Ok((c, ThreadedBy::Subject));
    }
    // Not a reply to anything we know. Conversations that started in email inboxes are
    // separate threads (a new subject is a new conversation); other channels' conversations
    // follow the continuity rules.
    let email_inboxes: Vec<i64> =
        sqlx::query_scalar("SELECT inbox_id FROM email_channels WHERE account_id = $1")
            .bind(scope.account_id())
            .fetch_all(tx.conn())
            .await?;
    let (mut c, route) = continuity::conversation_for_excluding(
        tx,
        scope,
        contact_id,
        inbox,
        Some(identity_id),
        &email_inboxes,
    )
    .await?;
    let threaded_by = match route {
        throughline_core::continuity::Route::New { .. } => ThreadedBy::New,
        _ => ThreadedBy::Continuity,
    };
    if threaded_by == ThreadedBy::New && inbox.channel_type == ChannelType::Email {
        let mut attrs = c.additional_attributes.clone();
        if !attrs.is_object() {
            attrs = json!({});
        }
        attrs["mail_subject"] = json!(p.subject);
        attrs["source"] = json!("email");
        sqlx::query(
            "UPDATE conversations SET additional_attributes = $3 WHERE account_id = $1 AND id = $2",
        )
        .bind(scope.account_id())
        .bind(c.id)
        .bind(attrs.to_string())
        .execute(tx.conn())
        .await?;
        c.additional_attributes = attrs;
    }
    Ok((c, threaded_by))
}

async fn by_uuid(tx: &mut Tx, scope: &AccountScope, token: &str) -> Result<Option<Conversation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE account_id = $1 AND uuid = $2"
    )))
    .bind(scope.account_id())
    .bind(token.to_ascii_lowercase())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| records::conversation(&r)).transpose()
}

/// The contact's most recent unresolved conversation, active within the window, whose email
/// subject normalises to the same text (case folded).
async fn by_subject(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    normalized: &str,
) -> Result<Option<Conversation>> {
    let since = now_ms() - SUBJECT_MATCH_WINDOW_MS;
    let rows = sqlx::query(
        "SELECT c.id AS cid, m.subject AS subject FROM conversations c \
         JOIN email_messages m ON m.conversation_id = c.id \
         WHERE c.account_id = $1 AND c.contact_id = $2 AND c.status <> $3 \
           AND c.last_activity_at >= $4 AND m.subject IS NOT NULL \
         ORDER BY c.last_activity_at DESC, m.id ASC LIMIT 500",
    )
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(Status::Resolved.as_str())
    .bind(since)
    .fetch_all(tx.conn())
    .await?;
    let wanted = normalized.to_lowercase();
    for r in rows {
        let subject = r.text("subject")?;
        if normalize_subject(&subject).to_lowercase() == wanted {
            let c = messages::conversation_by_id(tx.conn(), r.int("cid")?).await?;
            return Ok(Some(c));
        }
    }
    Ok(None)
}
