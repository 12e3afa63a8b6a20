//! Survey answers (Chatwoot's `csat_survey_responses`; NPS is Throughline's): one per survey
//! message, whichever way the customer answered it (the widget, the link page, a reply).

use serde_json::Value;
use throughline_core::message::ContentType;
use throughline_core::model::{Conversation, Message};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::records;
use crate::rows::RowExt;
use crate::scope::AccountScope;

#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    pub message_id: i64,
    pub contact_id: i64,
    pub assigned_agent_id: Option<i64>,
    /// csat (1–5) or nps (0–10).
    pub survey_type: String,
    pub rating: i64,
    pub feedback_message: Option<String>,
    /// widget, link or reply.
    pub answered_via: String,
    /// Answered after the survey's answer period.
    pub late: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, account_id, conversation_id, message_id, contact_id, \
    assigned_agent_id, survey_type, rating, feedback_message, answered_via, late, created_at, \
    updated_at";

fn record(row: &sqlx::any::AnyRow) -> Result<Response> {
    Ok(Response {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        conversation_id: row.int("conversation_id")?,
        message_id: row.int("message_id")?,
        contact_id: row.int("contact_id")?,
        assigned_agent_id: row.opt_int("assigned_agent_id")?,
        survey_type: row.text("survey_type")?,
        rating: row.int("rating")?,
        feedback_message: row.opt_text("feedback_message")?,
        answered_via: row.text("answered_via")?,
        late: row.flag("late")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// The conversation's most recent survey message, if it was sent one.
pub async fn latest_survey(conn: &mut Conn, conversation_id: i64) -> Result<Option<Message>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM messages WHERE conversation_id = $1 AND content_type = $2 \
         AND private = $3 ORDER BY id DESC LIMIT 1",
        records::MESSAGE_COLUMNS
    )))
    .bind(conversation_id)
    .bind(ContentType::InputCsat.as_str())
    .bind(false)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(records::message).transpose()
}

pub async fn for_message(conn: &mut Conn, message_id: i64) -> Result<Option<Response>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM csat_survey_responses WHERE message_id = $1"
    )))
    .bind(message_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(record).transpose()
}

#[derive(Clone, Debug)]
pub struct Answer<'a> {
    pub survey_type: &'a str,
    pub rating: i64,
    pub feedback_message: Option<&'a str>,
    pub answered_via: &'a str,
    pub late: bool,
}

/// Records the answer to `survey`, or changes the one given before (the link page sends the
/// rating first and the comment after): one response per survey.
pub async fn answer(
    conn: &mut Conn,
    conversation: &Conversation,
    survey: &Message,
    a: &Answer<'_>,
) -> Result<Response> {
    if survey.conversation_id != conversation.id {
        return Err(StoreError::NotFound);
    }
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO csat_survey_responses (account_id, conversation_id, message_id, contact_id, \
           assigned_agent_id, survey_type, rating, feedback_message, answered_via, late, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, \
           feedback_message = COALESCE(excluded.feedback_message, \
             csat_survey_responses.feedback_message), updated_at = excluded.updated_at \
         RETURNING {COLUMNS}"
    )))
    .bind(conversation.account_id)
    .bind(conversation.id)
    .bind(survey.id)
    .bind(conversation.contact_id)
    .bind(conversation.assignee_id)
    .bind(a.survey_type)
    .bind(a.rating)
    .bind(a.feedback_message)
    .bind(a.answered_via)
    .bind(a.late)
    .bind(now)
    .fetch_one(conn)
    .await?;
    record(&row)
}

/// Filters of the responses list (Chatwoot's `since`, `until`, `user_ids`, `inbox_id`,
/// `rating`).
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub user_ids: Vec<i64>,
    pub inbox_id: Option<i64>,
    pub rating: Option<i64>,
    pub survey_type: Option<String>,
}

/// The filter as SQL: numbers are formatted in (they are integers), the survey type is one of
/// two fixed words; only the account is bound (`$1`).
fn where_clause(f: &ListFilter) -> String {
    let mut w = String::from("r.account_id = $1");
    if let Some(since) = f.since {
        w.push_str(&format!(" AND r.created_at >= {since}"));
    }
    if let Some(until) = f.until {
        w.push_str(&format!(" AND r.created_at < {until}"));
    }
    if let Some(inbox) = f.inbox_id {
        w.push_str(&format!(" AND c.inbox_id = {inbox}"));
    }
    if let Some(rating) = f.rating {
        w.push_str(&format!(" AND r.rating = {rating}"));
    }
    match f.survey_type.as_deref() {
        Some("csat") => w.push_str(" AND r.survey_type = 'csat'"),
        Some("nps") => w.push_str(" AND r.survey_type = 'nps'"),
        _ => {}
    }
    if !f.user_ids.is_empty() {
        let ids = f
            .user_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        w.push_str(&format!(" AND r.assigned_agent_id IN ({ids})"));
    }
    w
}

/// A response as the list shows it, with its conversation's display id.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub response: Response,
    pub conversation_display_id: i64,
}

/// Responses, newest first, with a page of `per_page` after `offset`.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    f: &ListFilter,
    offset: i64,
    per_page: i64,
) -> Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {}, c.display_id AS display_id FROM csat_survey_responses r \
         JOIN conversations c ON c.id = r.conversation_id \
         WHERE {} ORDER BY r.id DESC LIMIT {per_page} OFFSET {offset}",
        COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        where_clause(f)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(scope.account_id())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                response: record(r)?,
                conversation_display_id: r.int("display_id")?,
            })
        })
        .collect()
}

/// Chatwoot's metrics: how many answered, and the count per rating.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub total_count: i64,
    pub ratings_count: Vec<(i64, i64)>,
}

pub async fn metrics(conn: &mut Conn, scope: &AccountScope, f: &ListFilter) -> Result<Metrics> {
    let sql = format!(
        "SELECT r.rating AS rating, COUNT(*) AS n FROM csat_survey_responses r \
         JOIN conversations c ON c.id = r.conversation_id WHERE {} GROUP BY r.rating \
         ORDER BY r.rating",
        where_clause(f)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(scope.account_id())
        .fetch_all(conn)
        .await?;
    let mut m = Metrics::default();
    for row in &rows {
        let (rating, n) = (row.int("rating")?, row.int("n")?);
        m.total_count += n;
        m.ratings_count.push((rating, n));
    }
    Ok(m)
}

/// How many surveys were sent in the filter's period (for the response rate).
pub async fn sent_count(conn: &mut Conn, scope: &AccountScope, f: &ListFilter) -> Result<i64> {
    let mut sql = format!(
        "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account_id = $1 AND m.content_type = $2 AND m.created_at >= {} \
         AND m.created_at < {}",
        f.since.unwrap_or(0),
        f.until.unwrap_or(i64::MAX)
    );
    if let Some(inbox) = f.inbox_id {
        sql.push_str(&format!(" AND c.inbox_id = {inbox}"));
    }
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(scope.account_id())
        .bind(ContentType::InputCsat.as_str())
        .fetch_one(conn)
        .await?)
}

/// A survey's public view needs the conversation by its uuid.
pub async fn conversation_by_uuid(conn: &mut Conn, uuid: &str) -> Result<Option<Conversation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM conversations WHERE uuid = $1",
        records::CONVERSATION_COLUMNS
    )))
    .bind(uuid)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(records::conversation).transpose()
}

/// The response as a JSON value for the survey message's `submitted_values`.
pub fn submitted_values(r: &Response) -> Value {
    serde_json::json!({
        "csat_survey_response": {
            "rating": r.rating,
            "feedback_message": r.feedback_message,
        }
    })
}
