//! A contact's journey as one timeline: the conversations they started on every channel, the
//! messages in them, their business events (orders, payments, deliveries), the contacts merged
//! into them and their survey answers, newest first.
//!
//! Each kind is read by its own query, newest first and at most a page, and the pages are
//! merged: every query stays on its own index, and a page costs at most `limit` rows per kind.
//! The order is (time, kind, id) descending, so a [`Cursor`] names the exact place the next
//! page starts even when items of different kinds share a millisecond.

use serde_json::Value;

use crate::Conn;
use crate::error::Result;
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::scope::InboxVisibility;
use crate::sql::SqlBuilder;

/// What a timeline item is. The order of the variants breaks ties between kinds at one time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Conversation,
    Message,
    Event,
    Merge,
    Survey,
    Call,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Conversation,
        Kind::Message,
        Kind::Event,
        Kind::Merge,
        Kind::Survey,
        Kind::Call,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Conversation => "conversation",
            Kind::Message => "message",
            Kind::Event => "event",
            Kind::Merge => "merge",
            Kind::Survey => "survey",
            Kind::Call => "call",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn rank(self) -> u8 {
        self as u8
    }
}

/// Where a page starts: the first item it must not include and everything after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub kind: Kind,
    pub id: i64,
}

impl Cursor {
    /// `1733400000123.message.42`, as [`Cursor::parse`] reads it back.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.at, self.kind.as_str(), self.id)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let at = parts.next()?.parse().ok()?;
        let kind = Kind::parse(parts.next()?)?;
        let id = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { at, kind, id })
    }
}

/// One item. `conversation_*` and `channel_type` are set for conversations, messages and
/// survey answers; `detail` holds what the kind adds (see each query).
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub kind: Kind,
    pub id: i64,
    pub at: i64,
    pub conversation_id: Option<i64>,
    pub conversation_display_id: Option<i64>,
    pub inbox_id: Option<i64>,
    pub channel_type: Option<String>,
    pub detail: Detail,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    Conversation {
        status: String,
    },
    Message {
        message_type: i64,
        content: Option<String>,
        private: bool,
    },
    Event {
        event_type: String,
        external_id: String,
        title: Option<String>,
        properties: Value,
    },
    Merge {
        mergee_contact_id: i64,
        /// The merged-away contact as it was.
        mergee: Value,
        merged_by_user_id: Option<i64>,
    },
    Survey {
        survey_type: String,
        rating: i64,
        feedback_message: Option<String>,
    },
    Call {
        direction: String,
        from: String,
        to: String,
        state: String,
        outcome: Option<String>,
        duration_seconds: Option<i64>,
        /// phone, web_voice or web_video.
        medium: String,
        /// The call was recorded (played at `…/calls/{id}/recording`).
        recorded: bool,
        disposition: Option<String>,
        wrap_up_notes: Option<String>,
        agent_id: Option<i64>,
    },
}

impl Item {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            at: self.at,
            kind: self.kind,
            id: self.id,
        }
    }

    fn order_key(&self) -> (i64, u8, i64) {
        (self.at, self.kind.rank(), self.id)
    }
}

/// A message's text on the timeline is a preview; the conversation has the rest.
const PREVIEW_CHARS: usize = 280;

/// Newest first, at most `limit` items of the `kinds` asked for, older than `before`.
/// Conversations, messages and survey answers are those of inboxes the scope may see.
pub async fn of_contact(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    kinds: &[Kind],
    before: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for &kind in kinds {
        let mut q = query_for(kind, scope, contact_id);
        push_before(&mut q, kind, before, time_column(kind));
        q.push(&format!(
            " ORDER BY {} DESC, {}.id DESC LIMIT ",
            time_column(kind),
            table_alias(kind)
        ))
        .bind(limit);
        let rows = q.build().fetch_all(&mut *conn).await?;
        for row in &rows {
            items.push(item_of(kind, row)?);
        }
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.order_key()));
    items.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(items)
}

fn table_alias(kind: Kind) -> &'static str {
    match kind {
        Kind::Conversation => "c",
        Kind::Message => "m",
        Kind::Event => "e",
        Kind::Merge => "g",
        Kind::Survey => "s",
        Kind::Call => "k",
    }
}

fn time_column(kind: Kind) -> &'static str {
    match kind {
        Kind::Conversation => "c.created_at",
        Kind::Message => "m.created_at",
        Kind::Event => "e.occurred_at",
        Kind::Merge => "g.created_at",
        Kind::Survey => "s.created_at",
        Kind::Call => "k.started_at",
    }
}

fn query_for(kind: Kind, scope: &AccountScope, contact_id: i64) -> SqlBuilder {
    let mut q = match kind {
        Kind::Conversation => SqlBuilder::new(
            "SELECT c.id, c.created_at AS at, c.id AS conversation_id, c.display_id, c.inbox_id, \
               i.channel_type, c.status FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
             WHERE c.account_id = ",
        ),
        // Activity lines ("resolved by Ana") are the conversation's business, not the journey's.
        Kind::Message => SqlBuilder::new(
            "SELECT m.id, m.created_at AS at, m.conversation_id, c.display_id, m.inbox_id, \
               i.channel_type, m.message_type, m.content, m.private \
             FROM messages m JOIN conversations c ON c.id = m.conversation_id \
               JOIN inboxes i ON i.id = m.inbox_id \
             WHERE m.message_type <> 2 AND c.account_id = ",
        ),
        Kind::Event => SqlBuilder::new(
            "SELECT e.id, e.occurred_at AS at, e.event_type, e.external_id, e.title, e.properties \
             FROM business_events e WHERE e.account_id = ",
        ),
        Kind::Merge => SqlBuilder::new(
            "SELECT g.id, g.created_at AS at, g.mergee_contact_id, g.mergee_snapshot, \
               g.merged_by_user_id FROM contact_merges g WHERE g.account_id = ",
        ),
        Kind::Survey => SqlBuilder::new(
            "SELECT s.id, s.created_at AS at, s.conversation_id, c.display_id, c.inbox_id, \
               i.channel_type, s.survey_type, s.rating, s.feedback_message \
             FROM csat_survey_responses s JOIN conversations c ON c.id = s.conversation_id \
               JOIN inboxes i ON i.id = c.inbox_id WHERE c.account_id = ",
        ),
        // A call may have no conversation yet (the caller left no message).
        Kind::Call => SqlBuilder::new(
            "SELECT k.id, k.started_at AS at, k.conversation_id, c.display_id, k.inbox_id, \
               i.channel_type, k.direction, k.from_address, k.to_address, k.state, k.outcome, \
               k.duration_seconds, k.medium, k.recording_provider_id, k.disposition, \
               k.wrap_up_notes, k.agent_id FROM calls k JOIN inboxes i ON i.id = k.inbox_id \
               LEFT JOIN conversations c ON c.id = k.conversation_id WHERE k.account_id = ",
        ),
    };
    q.bind(scope.account_id());
    match kind {
        Kind::Event => q.push(" AND e.contact_id = ").bind(contact_id),
        Kind::Merge => q.push(" AND g.base_contact_id = ").bind(contact_id),
        Kind::Call => q.push(" AND k.contact_id = ").bind(contact_id),
        _ => q.push(" AND c.contact_id = ").bind(contact_id),
    };
    if matches!(kind, Kind::Conversation | Kind::Message | Kind::Survey)
        && let InboxVisibility::Only(ids) = scope.inboxes()
    {
        q.push(" AND c.inbox_id IN ").bind_list(ids);
    }
    if kind == Kind::Call
        && let InboxVisibility::Only(ids) = scope.inboxes()
    {
        q.push(" AND k.inbox_id IN ").bind_list(ids);
    }
    q
}

/// Items of `kind` that come after `before` in (time, kind, id) descending order.
fn push_before(q: &mut SqlBuilder, kind: Kind, before: Option<Cursor>, time: &str) {
    let Some(c) = before else { return };
    let id = format!("{}.id", table_alias(kind));
    match kind.rank().cmp(&c.kind.rank()) {
        std::cmp::Ordering::Less => q.push(&format!(" AND {time} <= ")).bind(c.at),
        std::cmp::Ordering::Greater => q.push(&format!(" AND {time} < ")).bind(c.at),
        std::cmp::Ordering::Equal => q
            .push(&format!(" AND ({time} < "))
            .bind(c.at)
            .push(&format!(" OR ({time} = "))
            .bind(c.at)
            .push(&format!(" AND {id} < "))
            .bind(c.id)
            .push("))"),
    };
}

fn item_of(kind: Kind, row: &sqlx::any::AnyRow) -> Result<Item> {
    let conversational = matches!(kind, Kind::Conversation | Kind::Message | Kind::Survey);
    let detail = match kind {
        Kind::Conversation => Detail::Conversation {
            status: row.text("status")?,
        },
        Kind::Message => Detail::Message {
            message_type: row.int("message_type")?,
            content: row.opt_text("content")?.map(|c| preview(&c)),
            private: row.flag("private")?,
        },
        Kind::Event => Detail::Event {
            event_type: row.text("event_type")?,
            external_id: row.text("external_id")?,
            title: row.opt_text("title")?,
            properties: row.json("properties")?,
        },
        Kind::Merge => Detail::Merge {
            mergee_contact_id: row.int("mergee_contact_id")?,
            mergee: row.json("mergee_snapshot")?,
            merged_by_user_id: row.opt_int("merged_by_user_id")?,
        },
        Kind::Survey => Detail::Survey {
            survey_type: row.text("survey_type")?,
            rating: row.int("rating")?,
            feedback_message: row.opt_text("feedback_message")?,
        },
        Kind::Call => Detail::Call {
            direction: row.text("direction")?,
            from: row.text("from_address")?,
            to: row.text("to_address")?,
            state: row.text("state")?,
            outcome: row.opt_text("outcome")?,
            duration_seconds: row.opt_int("duration_seconds")?,
            medium: row.text("medium")?,
            recorded: row.opt_text("recording_provider_id")?.is_some(),
            disposition: row.opt_text("disposition")?,
            wrap_up_notes: row.opt_text("wrap_up_notes")?,
            agent_id: row.opt_int("agent_id")?,
        },
    };
    if kind == Kind::Call {
        return Ok(Item {
            kind,
            id: row.int("id")?,
            at: row.int("at")?,
            conversation_id: row.opt_int("conversation_id")?,
            conversation_display_id: row.opt_int("display_id")?,
            inbox_id: Some(row.int("inbox_id")?),
            channel_type: Some(row.text("channel_type")?),
            detail,
        });
    }
    Ok(Item {
        kind,
        id: row.int("id")?,
        at: row.int("at")?,
        conversation_id: conversational
            .then(|| row.int("conversation_id"))
            .transpose()?,
        conversation_display_id: conversational.then(|| row.int("display_id")).transpose()?,
        inbox_id: conversational.then(|| row.int("inbox_id")).transpose()?,
        channel_type: conversational
            .then(|| row.text("channel_type"))
            .transpose()?,
        detail,
    })
}

fn preview(text: &str) -> String {
    let mut chars = text.char_indices();
    match chars.nth(PREVIEW_CHARS) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            at: 1_733_400_000_123,
            kind: Kind::Event,
            id: 42,
        };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in [
            "",
            "1.event",
            "x.event.1",
            "1.order.1",
            "1.event.1.2",
            "1.event.x",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn previews_cut_long_text_on_a_character() {
        assert_eq!(preview("olá"), "olá");
        let long = "ł".repeat(PREVIEW_CHARS + 5);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
