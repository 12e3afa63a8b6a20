//! Agents' notifications and conversation participants (Chatwoot's `notifications` and
//! `conversation_participants`). Each notification belongs to one agent in one account and is
//! reached only through that agent's scope: nobody else, administrators included, reads,
//! marks or deletes it.
//!
//! Notifications are written by the automation consumer (`service::notifications`) with the
//! outbox event that caused them, so a replayed batch or a second process writes none twice
//! (`uq_notifications_event`). An agent keeps one per conversation: a newer one replaces it.

use serde_json::{Value, json};
use throughline_core::event::{EventKind, NewEvent};
use throughline_core::model::Conversation;
use throughline_core::notification::NotificationType;
use throughline_core::to_unix_seconds;

use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use crate::{Conn, Tx};

/// Chatwoot's `RESULTS_PER_PAGE` for notifications.
pub const PAGE_SIZE: i64 = 15;

/// A notification with what its views show of the conversation and the message.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub kind: NotificationType,
    pub read_at: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub conversation: ConversationRef,
    pub message: Option<MessageRef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConversationRef {
    pub display_id: i64,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub status: String,
    pub contact_id: i64,
    pub contact_name: String,
    pub contact_avatar: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MessageRef {
    pub id: i64,
    pub content: Option<String>,
    pub message_type: i64,
    pub private: bool,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub created_at: i64,
}

impl Notification {
    /// Chatwoot's `push_message_title`.
    pub fn title(&self) -> String {
        let content = self
            .message
            .as_ref()
            .and_then(|m| m.content.as_deref())
            .unwrap_or("");
        self.kind.title(
            self.conversation.display_id,
            &self.conversation.inbox_name,
            content,
        )
    }

    /// The notification as Chatwoot's index and `notification.created` render it (times in
    /// Unix seconds; the conversation, its primary actor, named by its display id).
    pub fn view(&self) -> Value {
        let c = &self.conversation;
        let secondary = self.message.as_ref().map(|m| {
            json!({
                "id": m.id,
                "content": m.content,
                "message_type": m.message_type,
                "private": m.private,
                "sender_type": m.sender_type,
                "sender_id": m.sender_id,
                "conversation_id": c.display_id,
                "created_at": to_unix_seconds(m.created_at),
            })
        });
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "notification_type": self.kind.as_str(),
            "push_message_title": self.title(),
            "primary_actor_type": "Conversation",
            "primary_actor_id": c.display_id,
            "primary_actor": {
                "id": c.display_id,
                "inbox_id": c.inbox_id,
                "status": c.status,
                "meta": {
                    "sender": {
                        "id": c.contact_id,
                        "name": c.contact_name,
                        "thumbnail": c.contact_avatar.clone().unwrap_or_default(),
                        "type": "contact",
                    },
                },
            },
            "secondary_actor": secondary,
            "user": { "id": self.user_id },
            "read_at": self.read_at.map(to_unix_seconds),
            "snoozed_until": self.snoozed_until.map(to_unix_seconds),
            "created_at": to_unix_seconds(self.created_at),
            "last_activity_at": to_unix_seconds(self.last_activity_at),
        })
    }
}

const SELECT: &str = "SELECT n.id, n.account_id, n.user_id, n.notification_type, n.read_at, \
     n.snoozed_until, n.created_at, n.last_activity_at, \
     c.display_id, c.inbox_id, c.status, c.contact_id, i.name AS inbox_name, \
     ct.name AS contact_name, ct.avatar_url AS contact_avatar, \
     m.id AS message_id, m.content, m.message_type, m.private, m.sender_type, m.sender_id, \
     m.created_at AS message_created_at \
     FROM notifications n \
     JOIN conversations c ON c.id = n.conversation_id \
     JOIN inboxes i ON i.id = c.inbox_id \
     JOIN contacts ct ON ct.id = c.contact_id \
     LEFT JOIN messages m ON m.id = n.message_id";

fn notification(row: &sqlx::any::AnyRow) -> Result<Notification> {
    let message = match row.opt_int("message_id")? {
        Some(id) => Some(MessageRef {
            id,
            content: row.opt_text("content")?,
            message_type: row.int("message_type")?,
            private: row.flag("private")?,
            sender_type: row.opt_text("sender_type")?,
            sender_id: row.opt_int("sender_id")?,
            created_at: row.int("message_created_at")?,
        }),
        None => None,
    };
    Ok(Notification {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        user_id: row.int("user_id")?,
        kind: row.parsed("notification_type", NotificationType::parse)?,
        read_at: row.opt_int("read_at")?,
        snoozed_until: row.opt_int("snoozed_until")?,
        created_at: row.int("created_at")?,
        last_activity_at: row.int("last_activity_at")?,
        conversation: ConversationRef {
            display_id: row.int("display_id")?,
            inbox_id: row.int("inbox_id")?,
            inbox_name: row.text("inbox_name")?,
            status: row.text("status")?,
            contact_id: row.int("contact_id")?,
            contact_name: row.text("contact_name")?,
            contact_avatar: row.opt_text("contact_avatar")?,
        },
        message,
    })
}

/// The agent's unread, unmailed notifications created before `cutoff`, oldest first, at most
/// `limit` — the next digest's lines.
pub async fn undigested(
    conn: &mut Conn,
    account_id: i64,
    user_id: i64,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<Notification>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE n.account_id = $1 AND n.user_id = $2 AND n.emailed_at IS NULL \
           AND n.read_at IS NULL AND n.created_at <= $3 \
           AND (n.snoozed_until IS NULL OR n.snoozed_until <= $3) \
         ORDER BY n.created_at, n.id LIMIT $4"
    )))
    .bind(account_id)
    .bind(user_id)
    .bind(cutoff)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(notification).collect()
}

/// Marks notifications as mailed (`Some(at)`), or not mailed after all (`None`: the mail could
/// not go out, so the next digest tries again).
pub async fn set_emailed(conn: &mut Conn, ids: &[i64], at: Option<i64>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = SqlBuilder::new("UPDATE notifications SET emailed_at = ");
    q.bind(at).push(" WHERE id IN ").bind_list(ids);
    q.build().execute(conn).await?;
    Ok(())
}

/// Only a user has notifications; any other caller has none to reach.
fn owner(scope: &AccountScope) -> Result<i64> {
    scope.user_id().ok_or(StoreError::NotFound)
}

/// What a notification is about, as the consumer found it.
#[derive(Clone, Debug)]
pub struct NewNotification<'a> {
    pub user_id: i64,
    pub kind: NotificationType,
    pub conversation: &'a Conversation,
    pub message_id: Option<i64>,
    /// The outbox event that caused it.
    pub event_id: i64,
}

/// Writes a notification and its `notification_created` event, replacing the agent's older
/// notifications of the same conversation. `None` when this event already notified the agent
/// (a replay, another process).
pub async fn create(tx: &mut Tx, new: NewNotification<'_>) -> Result<Option<Notification>> {
    let c = new.conversation;
    let now = now_ms();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO notifications (account_id, user_id, notification_type, conversation_id, \
           message_id, event_id, created_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (user_id, event_id) DO NOTHING RETURNING id",
    )
    .bind(c.account_id)
    .bind(new.user_id)
    .bind(new.kind.as_str())
    .bind(c.id)
    .bind(new.message_id)
    .bind(new.event_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else { return Ok(None) };
    sqlx::query(
        "DELETE FROM notifications WHERE user_id = $1 AND conversation_id = $2 AND id < $3",
    )
    .bind(new.user_id)
    .bind(c.id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    let n = by_id(tx.conn(), c.account_id, new.user_id, id).await?;
    tx.emit(NewEvent {
        kind: EventKind::NotificationCreated,
        account_id: c.account_id,
        conversation_id: Some(c.id),
        contact_id: None,
        inbox_id: Some(c.inbox_id),
        payload: json!({ "user_id": new.user_id, "notification": n.view() }),
    })
    .await?;
    Ok(Some(n))
}

async fn by_id(conn: &mut Conn, account_id: i64, user_id: i64, id: i64) -> Result<Notification> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE n.account_id = $1 AND n.user_id = $2 AND n.id = $3"
    )))
    .bind(account_id)
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    notification(&row)
}

/// One of the scope's user's notifications.
pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Notification> {
    let user_id = owner(scope)?;
    by_id(conn, scope.account_id(), user_id, id).await
}

/// A page of the scope's user's notifications, newest activity first, with the unread count
/// and the total (Chatwoot's `meta`). Snoozed ones wait until their time.
pub struct Page {
    pub notifications: Vec<Notification>,
    pub unread_count: i64,
    pub count: i64,
}

pub async fn list(conn: &mut Conn, scope: &AccountScope, page: i64) -> Result<Page> {
    let user_id = owner(scope)?;
    let now = now_ms();
    let offset = (page.max(1) - 1).saturating_mul(PAGE_SIZE);
    // The counts come with the rows, from one statement: counted apart, a notification written
    // between the two reads would be in the counts and not in the page.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM ({SELECT} WHERE n.account_id = $1 AND n.user_id = $2 \
           AND (n.snoozed_until IS NULL OR n.snoozed_until <= $3)) found \
         CROSS JOIN ({TALLY}) tally \
         ORDER BY found.last_activity_at DESC, found.id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .bind(now)
    .bind(PAGE_SIZE)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let notifications = rows.iter().map(notification).collect::<Result<_>>()?;
    let (count, unread_count) = match rows.first() {
        Some(row) => (row.int("total")?, row.int("unread")?),
        // A page past the end: the counts alone.
        None => counts(conn, scope.account_id(), user_id, now).await?,
    };
    Ok(Page {
        notifications,
        unread_count,
        count,
    })
}

/// A user's visible notifications in an account (`$1`, `$2`, as of `$3`), and the unread ones.
const TALLY: &str = "SELECT COUNT(*) AS total, \
       COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread \
     FROM notifications WHERE account_id = $1 AND user_id = $2 \
       AND (snoozed_until IS NULL OR snoozed_until <= $3)";

async fn counts(conn: &mut Conn, account_id: i64, user_id: i64, now: i64) -> Result<(i64, i64)> {
    let row = sqlx::query(TALLY)
        .bind(account_id)
        .bind(user_id)
        .bind(now)
        .fetch_one(conn)
        .await?;
    Ok((row.int("total")?, row.int("unread")?))
}

/// The scope's user's unread notifications (snoozed ones not yet).
pub async fn unread_count(conn: &mut Conn, scope: &AccountScope) -> Result<i64> {
    let user_id = owner(scope)?;
    Ok(counts(conn, scope.account_id(), user_id, now_ms()).await?.1)
}

/// Marks one notification read (`true`) or unread.
pub async fn set_read(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    read: bool,
) -> Result<Notification> {
    change_one(conn, scope, id, "read_at = $1", read.then(now_ms)).await
}

/// Changes one of the scope's user's notifications (`set` binds `value` as `$1`) and reads it
/// back; another's, or none, is `NotFound`.
async fn change_one(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    set: &'static str,
    value: Option<i64>,
) -> Result<Notification> {
    let user_id = owner(scope)?;
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE notifications SET {set} WHERE account_id = $2 AND user_id = $3 AND id = $4"
    )))
    .bind(value)
    .bind(scope.account_id())
    .bind(user_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    by_id(conn, scope.account_id(), user_id, id).await
}

/// Marks the scope's user's unread notifications read: all, or those of one conversation
/// (internal id).
pub async fn read_all(
    conn: &mut Conn,
    scope: &AccountScope,
    conversation_id: Option<i64>,
) -> Result<u64> {
    let user_id = owner(scope)?;
    let mut q = SqlBuilder::new("UPDATE notifications SET read_at = ");
    q.bind(now_ms())
        .push(" WHERE account_id = ")
        .bind(scope.account_id())
        .push(" AND user_id = ")
        .bind(user_id)
        .push(" AND read_at IS NULL");
    if let Some(c) = conversation_id {
        q.push(" AND conversation_id = ").bind(c);
    }
    Ok(q.build().execute(conn).await?.rows_affected())
}

/// Hides a notification until `until` (milliseconds), unread again when it comes back.
pub async fn snooze(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    until: i64,
) -> Result<Notification> {
    let set = "snoozed_until = $1, read_at = NULL, last_activity_at = $1";
    change_one(conn, scope, id, set, Some(until)).await
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let user_id = owner(scope)?;
    let done =
        sqlx::query("DELETE FROM notifications WHERE account_id = $1 AND user_id = $2 AND id = $3")
            .bind(scope.account_id())
            .bind(user_id)
            .bind(id)
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the scope's user's notifications: all, or only those already read.
pub async fn delete_all(conn: &mut Conn, scope: &AccountScope, only_read: bool) -> Result<u64> {
    let user_id = owner(scope)?;
    let filter = if only_read {
        " AND read_at IS NOT NULL"
    } else {
        ""
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM notifications WHERE account_id = $1 AND user_id = $2{filter}"
    )))
    .bind(scope.account_id())
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The agents following a conversation, in the order they joined.
pub async fn participants(conn: &mut Conn, conversation: &Conversation) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM conversation_participants WHERE conversation_id = $1 \
         ORDER BY created_at, user_id",
    )
    .bind(conversation.id)
    .fetch_all(conn)
    .await?)
}

/// Whether anyone follows the conversation (internal id).
pub async fn has_participants(conn: &mut Conn, conversation_id: i64) -> Result<bool> {
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM conversation_participants WHERE conversation_id = $1 LIMIT 1",
    )
    .bind(conversation_id)
    .fetch_optional(conn)
    .await?;
    Ok(any.is_some())
}

/// Adds participants (those already there stay as they are); answers the ones added.
/// Callers check that each may see the conversation ([`who_may_see`]).
pub async fn add_participants(
    conn: &mut Conn,
    conversation: &Conversation,
    user_ids: &[i64],
) -> Result<Vec<i64>> {
    let now = now_ms();
    let mut added = Vec::new();
    for &user_id in user_ids {
        let done = sqlx::query(
            "INSERT INTO conversation_participants (conversation_id, user_id, account_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id, user_id) DO NOTHING",
        )
        .bind(conversation.id)
        .bind(user_id)
        .bind(conversation.account_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() > 0 {
            added.push(user_id);
        }
    }
    Ok(added)
}

pub async fn remove_participants(
    conn: &mut Conn,
    conversation: &Conversation,
    user_ids: &[i64],
) -> Result<u64> {
    if user_ids.is_empty() {
        return Ok(0);
    }
    let mut q = SqlBuilder::new("DELETE FROM conversation_participants WHERE conversation_id = ");
    q.bind(conversation.id)
        .push(" AND user_id IN ")
        .bind_list(user_ids);
    Ok(q.build().execute(conn).await?.rows_affected())
}

/// Those of `user_ids` who are members of the conversation's account and may see its inbox
/// (supervisors and administrators see every inbox; agents their inboxes), in the given order.
pub async fn who_may_see(
    conn: &mut Conn,
    conversation: &Conversation,
    user_ids: &[i64],
) -> Result<Vec<i64>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = SqlBuilder::new(
        "SELECT au.user_id FROM account_users au WHERE au.deactivated_at IS NULL AND au.account_id = ",
    );
    q.bind(conversation.account_id)
        .push(" AND au.user_id IN ")
        .bind_list(user_ids)
        .push(
            " AND (au.role IN ('administrator', 'supervisor') OR EXISTS \
              (SELECT 1 FROM inbox_members im WHERE im.user_id = au.user_id AND im.inbox_id = ",
        )
        .bind(conversation.inbox_id)
        .push("))");
    let seeing: Vec<i64> = q
        .build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.int("user_id"))
        .collect::<Result<_>>()?;
    Ok(user_ids
        .iter()
        .copied()
        .filter(|u| seeing.contains(u))
        .collect())
}

/// The members of the account's teams among `team_ids`.
pub async fn team_members(conn: &mut Conn, account_id: i64, team_ids: &[i64]) -> Result<Vec<i64>> {
    if team_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = SqlBuilder::new(
        "SELECT DISTINCT tm.user_id FROM team_members tm JOIN teams t ON t.id = tm.team_id \
         WHERE t.account_id = ",
    );
    q.bind(account_id)
        .push(" AND tm.team_id IN ")
        .bind_list(team_ids)
        .push(" ORDER BY tm.user_id");
    q.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.int("user_id"))
        .collect()
}

/// What a member leaving an account leaves behind: their notifications and participations
/// there.
pub async fn forget_member(conn: &mut Conn, account_id: i64, user_id: i64) -> Result<()> {
    for table in ["notifications", "conversation_participants"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE account_id = $1 AND user_id = $2"
        )))
        .bind(account_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
