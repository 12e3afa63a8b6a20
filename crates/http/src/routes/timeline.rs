//! The contact's journey as one timeline (`GET …/contacts/{id}/timeline`): conversations on
//! every channel, their messages, business events, merges and survey answers, newest first,
//! each with the channel it happened on. The contact page and the conversation sidebar show it.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::to_unix_seconds;
use throughline_store::timeline::{self, Cursor, Detail, Item, Kind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(contact_timeline))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct TimelineParams {
    /// Comma-separated kinds: conversation, message, event, merge, survey (default: all).
    kinds: Option<String>,
    /// `meta.next_cursor` of the previous page.
    before: Option<String>,
    /// Items per page (default 50, at most 200).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TimelineMeta {
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TimelinePage {
    meta: TimelineMeta,
    /// Newest first. Each item: `kind`, `id`, `at` (Unix seconds), and for conversations,
    /// messages and survey answers `conversation_id`, `display_id`, `inbox_id`, `channel_type`;
    /// then what the kind adds.
    #[schema(value_type = Vec<Object>)]
    payload: Vec<Value>,
}

fn kinds_of(param: Option<&str>) -> ApiResult<Vec<Kind>> {
    let Some(list) = param.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Kind::ALL.to_vec());
    };
    let mut kinds = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = Kind::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "kinds",
                "invalid",
                format!(
                    "unknown kind `{name}`; use conversation, message, event, merge, survey or call"
                ),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// The contact's journey, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/timeline", tag = "Journey",
    params(("account_id" = i64, Path), ("id" = i64, Path), TimelineParams), security(("userApiKey" = [])),
    responses((status = 200, body = TimelinePage), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn contact_timeline(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Query(p): Query<TimelineParams>,
) -> ApiResult<axum::Json<TimelinePage>> {
    let kinds = kinds_of(p.kinds.as_deref())?;
    let before = p
        .before
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            Cursor::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "before",
                    "invalid",
                    "before must be a next_cursor this API gave",
                )
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let mut conn = state.store.read().await?;
    throughline_store::contacts::get(&mut conn, &ctx.scope, id).await?;
    let items = timeline::of_contact(&mut conn, &ctx.scope, id, &kinds, before, limit).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|i| i.cursor().encode()))
        .flatten();
    Ok(axum::Json(TimelinePage {
        meta: TimelineMeta { next_cursor },
        payload: items.iter().map(|i| view(i, ctx.account_id())).collect(),
    }))
}

fn view(item: &Item, account_id: i64) -> Value {
    let mut v = json!({
        "kind": item.kind.as_str(),
        "id": item.id,
        "at": to_unix_seconds(item.at),
    });
    if let Some(conversation_id) = item.conversation_id {
        v["conversation_id"] = json!(conversation_id);
        v["display_id"] = json!(item.conversation_display_id);
    }
    if item.inbox_id.is_some() {
        v["inbox_id"] = json!(item.inbox_id);
        v["channel_type"] = json!(item.channel_type);
    }
    let extra = match &item.detail {
        Detail::Conversation { status } => json!({ "status": status }),
        Detail::Message {
            message_type,
            content,
            private,
        } => json!({
            "message_type": message_type,
            "content": content,
            "private": private,
        }),
        Detail::Event {
            event_type,
            external_id,
            title,
            properties,
        } => json!({
            "type": event_type,
            "event_id": external_id,
            "title": title,
            "properties": properties,
        }),
        Detail::Merge {
            mergee_contact_id,
            mergee,
            merged_by_user_id,
        } => json!({
            "mergee_contact_id": mergee_contact_id,
            "mergee_name": mergee.get("name"),
            "merged_by_user_id": merged_by_user_id,
        }),
        Detail::Survey {
            survey_type,
            rating,
            feedback_message,
        } => json!({
            "survey_type": survey_type,
            "rating": rating,
            "feedback_message": feedback_message,
        }),
        Detail::Call {
            direction,
            from,
            to,
            state,
            outcome,
            duration_seconds,
            medium,
            recorded,
            disposition,
            wrap_up_notes,
            agent_id,
        } => json!({
            "medium": medium,
            "direction": direction,
            "from_number": from,
            "to_number": to,
            "status": state,
            "outcome": outcome,
            "duration": duration_seconds,
            "agent_id": agent_id,
            "disposition": disposition,
            "wrap_up_notes": wrap_up_notes,
            // Played through Throughline with the agent's rights.
            "recording_url": recorded.then(|| {
                format!("/api/v1/accounts/{account_id}/calls/{}/recording", item.id)
            }),
        }),
    };
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    v
}
