//! The top bar's search (Chatwoot's `GET /api/v1/accounts/{id}/search?q=`): conversations (by
//! display id, the contact, or their messages' words), contacts (name, email, phone,
//! identifier) and messages (every word as a prefix, diacritics optional: "zamowienie" finds
//! "zamówienie"), each list short and newest first, within what the caller may see.

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::model::{Contact, Inbox};
use throughline_core::to_unix_seconds;
use throughline_store::contacts::{self, ContactQuery};
use throughline_store::conversations::{self, ConversationQuery};
use throughline_store::search::{self, FoundMessage};
use throughline_store::{Found, inboxes};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(search_all))
}

/// How many of each kind one search answers.
const CONVERSATIONS: i64 = 8;
const CONTACTS: i64 = 8;
const MESSAGES: i64 = 15;

#[derive(Deserialize, utoipa::IntoParams)]
struct SearchQuery {
    /// What to look for (at most 200 characters).
    q: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Found3 {
    #[schema(value_type = Vec<Object>)]
    conversations: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    contacts: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    messages: Vec<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SearchAnswer {
    payload: Found3,
}

fn contact_view(c: &Contact) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "phone_number": c.phone_number,
        "identifier": c.identifier,
        "additional_attributes": c.additional_attributes,
        "last_activity_at": c.last_activity_at.map(to_unix_seconds),
    })
}

fn inbox_view(i: Option<&Inbox>, id: i64) -> Value {
    match i {
        Some(i) => json!({"id": i.id, "name": i.name, "channel_type": i.channel_type.as_str()}),
        None => json!({"id": id}),
    }
}

fn message_view(m: &FoundMessage) -> Value {
    json!({
        "id": m.id,
        "content": m.content,
        "message_type": m.message_type,
        "content_type": m.content_type,
        "source_id": m.source_id,
        "private": m.private,
        "sender_type": m.sender_type,
        "sender_id": m.sender_id,
        "inbox_id": m.inbox_id,
        "conversation_id": m.conversation_display_id,
        "created_at": to_unix_seconds(m.created_at),
        "inbox": {"id": m.inbox_id, "name": m.inbox_name, "channel_type": m.channel_type},
    })
}

/// Conversations, contacts and messages matching `q`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search", tag = "Search",
    params(("account_id" = i64, Path), SearchQuery), security(("userApiKey" = [])),
    responses((status = 200, body = SearchAnswer), (status = 422, body = crate::error::ErrorBody)))]
async fn search_all(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<SearchQuery>,
) -> ApiResult<axum::Json<SearchAnswer>> {
    let q = p.q.unwrap_or_default();
    let q = q.trim();
    if q.is_empty() {
        return Err(ApiError::invalid("q", "blank", "give a search term in q"));
    }
    if q.chars().count() > 200 {
        return Err(ApiError::invalid(
            "q",
            "too_long",
            "q is at most 200 characters",
        ));
    }
    let mut conn = state.store.read().await?;
    let by_id: HashMap<i64, Inbox> = inboxes::list(&mut conn, state.store.key(), &ctx.scope)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let (found, _) = conversations::list(
        &mut conn,
        &ctx.scope,
        &ConversationQuery {
            status: None,
            search: Some(q.to_owned()),
            per_page: CONVERSATIONS,
            ..Default::default()
        },
    )
    .await?;
    let mut conversation_views = Vec::with_capacity(found.len());
    for c in &found {
        let contact = contacts::get(&mut conn, &ctx.scope, c.contact_id)
            .await
            .found()?;
        conversation_views.push(json!({
            "id": c.display_id,
            "account_id": c.account_id,
            "created_at": to_unix_seconds(c.created_at),
            "status": c.status.as_str(),
            "contact": contact.as_ref().map(contact_view),
            "inbox": inbox_view(by_id.get(&c.inbox_id), c.inbox_id),
            "agent": c.assignee_id.map(|id| json!({"id": id})),
        }));
    }
    let (contacts_found, _) = contacts::list(
        &mut conn,
        &ctx.scope,
        &ContactQuery {
            search: Some(q.to_owned()),
            per_page: CONTACTS,
            ..Default::default()
        },
    )
    .await?;
    let messages = search::messages(&mut conn, &ctx.scope, q, MESSAGES).await?;
    Ok(axum::Json(SearchAnswer {
        payload: Found3 {
            conversations: conversation_views,
            contacts: contacts_found.iter().map(contact_view).collect(),
            messages: messages.iter().map(message_view).collect(),
        },
    }))
}
