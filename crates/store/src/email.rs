//! Email inboxes' settings (SMTP/IMAP, passwords sealed), the Message-IDs we sent or received
//! (threading), and where IMAP polling stopped.

use throughline_core::crypto::ServerKey;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

pub use throughline_core::email::{EmailChannel, ImapConfig, SmtpConfig};

const COLUMNS: &str = "inbox_id, account_id, email, signature, smtp_enabled, smtp_address, \
    smtp_port, smtp_login, smtp_password_sealed, smtp_domain, smtp_enable_ssl_tls, \
    smtp_enable_starttls_auto, imap_enabled, imap_address, imap_port, imap_login, \
    imap_password_sealed, imap_enable_ssl";

fn unseal(key: &ServerKey, sealed: Option<String>, what: &str) -> Result<Option<String>> {
    sealed
        .map(|s| {
            key.unseal(&s)
                .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        })
        .transpose()
}

fn channel(row: &sqlx::any::AnyRow, key: &ServerKey) -> Result<EmailChannel> {
    Ok(EmailChannel {
        inbox_id: row.int("inbox_id")?,
        account_id: row.int("account_id")?,
        email: row.text("email")?,
        signature: row.opt_text("signature")?,
        smtp: SmtpConfig {
            enabled: row.flag("smtp_enabled")?,
            address: row.opt_text("smtp_address")?,
            port: row.opt_int("smtp_port")?,
            login: row.opt_text("smtp_login")?,
            password: unseal(key, row.opt_text("smtp_password_sealed")?, "smtp password")?,
            domain: row.opt_text("smtp_domain")?,
            enable_ssl_tls: row.flag("smtp_enable_ssl_tls")?,
            enable_starttls_auto: row.flag("smtp_enable_starttls_auto")?,
        },
        imap: ImapConfig {
            enabled: row.flag("imap_enabled")?,
            address: row.opt_text("imap_address")?,
            port: row.opt_int("imap_port")?,
            login: row.opt_text("imap_login")?,
            password: unseal(key, row.opt_text("imap_password_sealed")?, "imap password")?,
            enable_ssl: row.flag("imap_enable_ssl")?,
        },
    })
}

/// Creates or replaces an inbox's email settings. The inbox must be the scope's.
pub async fn save(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    c: &EmailChannel,
) -> Result<EmailChannel> {
    if c.account_id != scope.account_id() {
        return Err(StoreError::NotFound);
    }
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO email_channels ({COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
         ON CONFLICT (inbox_id) DO UPDATE SET email = $3, signature = $4, smtp_enabled = $5, \
           smtp_address = $6, smtp_port = $7, smtp_login = $8, smtp_password_sealed = $9, \
           smtp_domain = $10, smtp_enable_ssl_tls = $11, smtp_enable_starttls_auto = $12, \
           imap_enabled = $13, imap_address = $14, imap_port = $15, imap_login = $16, \
           imap_password_sealed = $17, imap_enable_ssl = $18, updated_at = $19 \
         RETURNING {COLUMNS}"
    )))
    .bind(c.inbox_id)
    .bind(c.account_id)
    .bind(&c.email)
    .bind(c.signature.as_deref())
    .bind(c.smtp.enabled)
    .bind(c.smtp.address.as_deref())
    .bind(c.smtp.port)
    .bind(c.smtp.login.as_deref())
    .bind(c.smtp.password.as_deref().map(|p| key.seal(p)))
    .bind(c.smtp.domain.as_deref())
    .bind(c.smtp.enable_ssl_tls)
    .bind(c.smtp.enable_starttls_auto)
    .bind(c.imap.enabled)
    .bind(c.imap.address.as_deref())
    .bind(c.imap.port)
    .bind(c.imap.login.as_deref())
    .bind(c.imap.password.as_deref().map(|p| key.seal(p)))
    .bind(c.imap.enable_ssl)
    .bind(now)
    .fetch_one(conn)
    .await?;
    channel(&row, key)
}

/// The email settings of an inbox the scope sees (`None`: not an email inbox).
pub async fn get(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    inbox_id: i64,
) -> Result<Option<EmailChannel>> {
    if !scope.sees_inbox(inbox_id) {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_channels WHERE account_id = $1 AND inbox_id = $2"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| channel(&r, key)).transpose()
}

/// The inbox owning an address (the SMTP receiver routes by address across accounts).
pub async fn by_address_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    address: &str,
) -> Result<Option<EmailChannel>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_channels WHERE email = $1"
    )))
    .bind(address.trim().to_lowercase())
    .fetch_optional(conn)
    .await?;
    row.map(|r| channel(&r, key)).transpose()
}

/// Inboxes whose domain is `domain` (for `reply+token@domain` recipients).
pub async fn by_domain_unscoped(
    conn: &mut Conn,
    key: &ServerKey,
    domain: &str,
) -> Result<Vec<EmailChannel>> {
    let pattern = format!("%@{}", crate::like_escape(&domain.trim().to_lowercase()));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_channels WHERE email LIKE $1 ESCAPE '\\' ORDER BY inbox_id"
    )))
    .bind(pattern)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| channel(r, key)).collect()
}

/// Every inbox that fetches by IMAP.
pub async fn imap_enabled_unscoped(conn: &mut Conn, key: &ServerKey) -> Result<Vec<EmailChannel>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_channels WHERE imap_enabled = TRUE ORDER BY inbox_id"
    )))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| channel(r, key)).collect()
}

/// The addresses of an account's email inboxes (mail from them is never imported).
pub async fn own_addresses(conn: &mut Conn, account_id: i64) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT email FROM email_channels WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(conn)
            .await?,
    )
}

/// Where IMAP polling of `mailbox` stopped: (UIDVALIDITY, last UID imported).
pub async fn imap_state(
    conn: &mut Conn,
    inbox_id: i64,
    mailbox: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT uid_validity, last_uid FROM email_imap_state WHERE inbox_id = $1 AND mailbox = $2",
    )
    .bind(inbox_id)
    .bind(mailbox)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.int("uid_validity")?, r.int("last_uid")?)))
        .transpose()
}

pub async fn set_imap_state(
    conn: &mut Conn,
    inbox_id: i64,
    mailbox: &str,
    uid_validity: i64,
    last_uid: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_imap_state (inbox_id, mailbox, uid_validity, last_uid, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (inbox_id, mailbox) DO UPDATE SET \
         uid_validity = $3, last_uid = $4, last_error = NULL, updated_at = $5",
    )
    .bind(inbox_id)
    .bind(mailbox)
    .bind(uid_validity)
    .bind(last_uid)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A Message-ID we sent or received, recorded for threading.
#[derive(Clone, Debug)]
pub struct HeaderRecord<'a> {
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub message_id: Option<i64>,
    pub header_id: &'a str,
    /// "in" or "out".
    pub direction: &'a str,
    pub subject: Option<&'a str>,
    pub raw_blob_key: Option<&'a str>,
}

pub async fn record_header(conn: &mut Conn, r: HeaderRecord<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_messages (account_id, inbox_id, conversation_id, message_id, header_id, \
           direction, subject, raw_blob_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (inbox_id, header_id) DO NOTHING",
    )
    .bind(r.account_id)
    .bind(r.inbox_id)
    .bind(r.conversation_id)
    .bind(r.message_id)
    .bind(r.header_id)
    .bind(r.direction)
    .bind(r.subject)
    .bind(r.raw_blob_key)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored Message-ID's conversation and message within an account.
pub async fn find_header(
    conn: &mut Conn,
    account_id: i64,
    header_id: &str,
) -> Result<Option<(i64, Option<i64>, String)>> {
    let row = sqlx::query(
        "SELECT conversation_id, message_id, direction FROM email_messages \
         WHERE account_id = $1 AND header_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(account_id)
    .bind(header_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            r.int("conversation_id")?,
            r.opt_int("message_id")?,
            r.text("direction")?,
        ))
    })
    .transpose()
}

/// The threading context of a conversation for an outgoing email: its Message-IDs oldest first
/// and the first subject seen.
pub async fn thread_of(
    conn: &mut Conn,
    conversation_id: i64,
) -> Result<(Vec<String>, Option<String>)> {
    let rows = sqlx::query(
        "SELECT header_id, subject FROM email_messages WHERE conversation_id = $1 ORDER BY id",
    )
    .bind(conversation_id)
    .fetch_all(conn)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut subject = None;
    for r in rows {
        ids.push(r.text("header_id")?);
        if subject.is_none() {
            subject = r.opt_text("subject")?;
        }
    }
    Ok((ids, subject))
}

pub use throughline_core::email::outgoing_message_id;

/// What the sender job needs to write one outgoing email.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: throughline_core::model::Message,
    pub conversation: throughline_core::model::Conversation,
    /// The customer's address (the identity's when it is an email, else the contact's email)
    /// and name.
    pub to: Option<(String, Option<String>)>,
    /// The agent's display name when an agent wrote it.
    pub agent_name: Option<String>,
    pub attachments: Vec<throughline_core::model::Attachment>,
    /// The conversation's Message-IDs, oldest first.
    pub thread_ids: Vec<String>,
    /// The thread's first subject (or the conversation's `mail_subject`).
    pub subject: Option<String>,
    /// The customer's id in the message's inbox (its identity's `source_id`): a WhatsApp
    /// number, a Telegram chat, a page-scoped id.
    pub channel_address: Option<String>,
    /// The contact's phone, for a phone channel they have not written through.
    pub phone: Option<String>,
    /// When the contact last wrote through the message's inbox.
    pub last_incoming_at: Option<i64>,
}

pub async fn outgoing(conn: &mut Conn, scope: &AccountScope, message_id: i64) -> Result<Outgoing> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM messages WHERE account_id = $1 AND id = $2",
        crate::records::MESSAGE_COLUMNS
    )))
    .bind(scope.account_id())
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let message = crate::records::message(&row)?;
    let conversation = crate::messages::conversation_by_id(conn, message.conversation_id).await?;
    let contact = crate::contacts::get(conn, scope, conversation.contact_id).await?;
    let identity_email: Option<String> = match message.identity_id {
        Some(id) => sqlx::query_scalar(
            "SELECT address FROM contact_inboxes WHERE account_id = $1 AND id = $2 \
             AND address_kind = 'email'",
        )
        .bind(scope.account_id())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
        None => None,
    };
    let name = (!contact.name.trim().is_empty()).then(|| contact.name.clone());
    let to = identity_email
        .or(contact.email.clone())
        .map(|address| (address, name));
    let agent_name = match (message.sender_type, message.sender_id) {
        (Some(throughline_core::message::SenderType::User), Some(id)) => {
            let row = sqlx::query("SELECT name, display_name FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            match row {
                Some(r) => Some(
                    r.opt_text("display_name")?
                        .filter(|d| !d.trim().is_empty())
                        .unwrap_or(r.text("name")?),
                ),
                None => None,
            }
        }
        _ => None,
    };
    let channel_address: Option<String> = sqlx::query_scalar(
        "SELECT source_id FROM contact_inboxes WHERE account_id = $1 AND contact_id = $2 \
         AND inbox_id = $3 ORDER BY CASE WHEN id = $4 THEN 0 ELSE 1 END, id DESC LIMIT 1",
    )
    .bind(scope.account_id())
    .bind(contact.id)
    .bind(message.inbox_id)
    .bind(message.identity_id.unwrap_or(-1))
    .fetch_optional(&mut *conn)
    .await?;
    let last_incoming_at =
        crate::reply_channels::last_incoming_at(conn, scope, contact.id, message.inbox_id).await?;
    let attachments = crate::messages::attachments_of(conn, scope, message.id).await?;
    let (thread_ids, subject) = thread_of(conn, conversation.id).await?;
    let subject = subject.or_else(|| {
        conversation
            .additional_attributes
            .get("mail_subject")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    });
    Ok(Outgoing {
        phone: contact.phone_number.clone(),
        message,
        conversation,
        to,
        agent_name,
        attachments,
        thread_ids,
        subject,
        channel_address,
        last_incoming_at,
    })
}

/// The conversation (id) a reply token names within an account.
pub async fn conversation_by_token(
    conn: &mut Conn,
    account_id: i64,
    token: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM conversations WHERE account_id = $1 AND uuid = $2")
            .bind(account_id)
            .bind(token.to_ascii_lowercase())
            .fetch_optional(conn)
            .await?,
    )
}

/// Notes why the last IMAP poll of a mailbox failed (shown to administrators later).
pub async fn set_imap_error(
    conn: &mut Conn,
    inbox_id: i64,
    mailbox: &str,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_imap_state SET last_error = $3, updated_at = $4 \
         WHERE inbox_id = $1 AND mailbox = $2",
    )
    .bind(inbox_id)
    .bind(mailbox)
    .bind(error)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The subjects of emails in the contact's unresolved conversations active since `since`,
/// most recently active conversation first: (conversation id, subject).
pub async fn recent_subjects(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    since: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT c.id AS cid, m.subject AS subject FROM conversations c \
         JOIN email_messages m ON m.conversation_id = c.id \
         WHERE c.account_id = $1 AND c.contact_id = $2 AND c.status <> $3 \
           AND c.last_activity_at >= $4 AND m.subject IS NOT NULL \
         ORDER BY c.last_activity_at DESC, m.id ASC LIMIT 500",
    )
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(throughline_core::conversation::Status::Resolved.as_str())
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("cid")?, r.text("subject")?)))
        .collect()
}
