//! The caller's notifications in an account (Chatwoot's `notifications`): a page at a time
//! with the unread count, marked read or unread one by one or all at once, snoozed, deleted.
//! Each agent reaches only their own; another's id is 404. New ones also arrive live as
//! `notification_created` frames on the agent's socket.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_store::notifications::{self as store, Notification};
use throughline_store::{Found, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list))
        .routes(routes!(update, remove))
        .routes(routes!(read_all))
        .routes(routes!(unread_count))
        .routes(routes!(destroy_all))
        .routes(routes!(unread))
        .routes(routes!(snooze))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Meta {
    unread_count: i64,
    count: i64,
    current_page: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PageBody {
    meta: Meta,
    #[schema(value_type = Vec<Object>)]
    payload: Vec<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ListAnswer {
    data: PageBody,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// 1-based; 15 a page.
    page: Option<i64>,
}

fn view(n: &Notification) -> axum::Json<Value> {
    axum::Json(n.view())
}

/// The caller's notifications, newest first (snoozed ones once their time has come).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notifications", tag = "Notifications",
    params(("account_id" = i64, Path), ListQuery), security(("userApiKey" = [])),
    responses((status = 200, body = ListAnswer), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<ListAnswer>> {
    ctx.require_user()?;
    let page = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(ApiError::invalid("page", "invalid", "page must be from 1"));
    }
    let mut conn = state.store.read().await?;
    let found = store::list(&mut conn, &ctx.scope, page).await?;
    Ok(axum::Json(ListAnswer {
        data: PageBody {
            meta: Meta {
                unread_count: found.unread_count,
                count: found.count,
                current_page: page,
            },
            payload: found.notifications.iter().map(Notification::view).collect(),
        },
    }))
}

/// Marks a notification read.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/notifications/{id}", tag = "Notifications",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Value>> {
    mark(&state, &ctx, id, true).await
}

/// Marks one of the caller's notifications read or unread.
async fn mark(
    state: &AppState,
    ctx: &AccountCtx,
    id: i64,
    read: bool,
) -> ApiResult<axum::Json<Value>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    let n = store::set_read(tx.conn(), &ctx.scope, id, read).await?;
    tx.commit().await?;
    Ok(view(&n))
}

/// Marks a notification unread again.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/notifications/{id}/unread", tag = "Notifications",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn unread(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Value>> {
    mark(&state, &ctx, id, false).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SnoozeBody {
    /// Unix seconds (Chatwoot sends them as a string).
    snoozed_until: i64,
}

/// Hides a notification until a time; it comes back unread.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/notifications/{id}/snooze", tag = "Notifications",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = SnoozeBody, security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn snooze(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<SnoozeBody>,
) -> ApiResult<axum::Json<Value>> {
    ctx.require_user()?;
    let now = throughline_store::now_ms() / 1000;
    let seconds = body.snoozed_until;
    if seconds <= now || seconds >= now + 366 * 86_400 {
        return Err(ApiError::invalid(
            "snoozed_until",
            "invalid",
            "snoozed_until must be a time in the coming year, in Unix seconds",
        ));
    }
    let mut tx = state.store.begin().await?;
    let n = store::snooze(tx.conn(), &ctx.scope, id, seconds * 1000).await?;
    tx.commit().await?;
    Ok(view(&n))
}

/// Deletes a notification.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/notifications/{id}", tag = "Notifications",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    store::delete(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(axum::Json(Empty {}))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct ReadAllBody {
    /// Conversation: only that conversation's notifications.
    primary_actor_type: Option<String>,
    /// The conversation's id (as in its URL).
    primary_actor_id: Option<i64>,
}

/// Marks the caller's notifications read: all, or one conversation's.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/notifications/read_all", tag = "Notifications",
    params(("account_id" = i64, Path)), request_body = ReadAllBody, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody)))]
async fn read_all(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<ReadAllBody>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    // Chatwoot ignores an actor type it does not know, and so marks everything.
    let conversation = match (body.primary_actor_type.as_deref(), body.primary_actor_id) {
        (Some("Conversation"), Some(display_id)) => {
            // A conversation the caller cannot see has no notifications of theirs: nothing
            // is marked, and nothing tells whether it exists.
            match conversations::get(tx.conn(), &ctx.scope, display_id)
                .await
                .found()?
            {
                Some(c) => Some(c.id),
                None => return Ok(axum::Json(Empty {})),
            }
        }
        _ => None,
    };
    store::read_all(tx.conn(), &ctx.scope, conversation).await?;
    tx.commit().await?;
    Ok(axum::Json(Empty {}))
}

/// The caller's unread notifications, as a bare number.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notifications/unread_count", tag = "Notifications",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = i64), (status = 403, body = crate::error::ErrorBody)))]
async fn unread_count(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<i64>> {
    ctx.require_user()?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        store::unread_count(&mut conn, &ctx.scope).await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct DestroyAllBody {
    /// `read`: only the notifications already read; anything else: all.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Deletes the caller's notifications: all, or the read ones.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/notifications/destroy_all", tag = "Notifications",
    params(("account_id" = i64, Path)), request_body = DestroyAllBody, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody)))]
async fn destroy_all(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<DestroyAllBody>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    store::delete_all(tx.conn(), &ctx.scope, body.kind.as_deref() == Some("read")).await?;
    tx.commit().await?;
    Ok(axum::Json(Empty {}))
}
