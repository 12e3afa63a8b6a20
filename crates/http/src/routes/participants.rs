//! A conversation's participants (Chatwoot's `conversations/{id}/participants`): agents who
//! follow it besides its assignee and are told of its new messages. Any agent who sees the
//! conversation may change them; every participant must be able to see it too (422 otherwise).

use axum::extract::State;
use serde::Deserialize;
use throughline_core::model::Conversation;
use throughline_core::views::AgentView;
use throughline_store::notifications as store;
use throughline_store::{accounts, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(show, create, update, remove))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Participants {
    user_ids: Vec<i64>,
}

async fn views(
    conn: &mut throughline_store::Conn,
    ctx: &AccountCtx,
    ids: &[i64],
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    let agents = accounts::agents_by_ids(conn, &ctx.scope, ids).await?;
    // In the order they joined, as stored.
    let mut out = Vec::with_capacity(agents.len());
    for id in ids {
        if let Some(a) = agents.iter().find(|a| a.user.id == *id) {
            out.push(AgentView::from(a));
        }
    }
    Ok(axum::Json(out))
}

/// At most this many users in one request.
const MAX_USERS: usize = 100;

fn bounded(user_ids: &[i64]) -> ApiResult<()> {
    if user_ids.len() > MAX_USERS {
        return Err(ApiError::invalid(
            "user_ids",
            "too_long",
            format!("at most {MAX_USERS} users at a time"),
        ));
    }
    Ok(())
}

/// The given users, each once, refused unless every one is an agent who sees the conversation.
async fn checked(
    conn: &mut throughline_store::Conn,
    c: &Conversation,
    user_ids: &[i64],
) -> ApiResult<Vec<i64>> {
    bounded(user_ids)?;
    let mut unique = Vec::with_capacity(user_ids.len());
    for id in user_ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    let seeing = store::who_may_see(conn, c, &unique).await?;
    if seeing.len() != unique.len() {
        return Err(ApiError::invalid(
            "user_ids",
            "inbox_access",
            "every participant must be an agent of this account with access to the conversation's inbox",
        ));
    }
    Ok(unique)
}

/// The conversation's participants.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/participants", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, &ctx.scope, id).await?;
    let ids = store::participants(&mut conn, &c).await?;
    views(&mut conn, &ctx, &ids).await
}

/// Adds participants; answers the ones added now (Chatwoot's `create`).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/participants", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = Participants, security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Participants>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let ids = checked(tx.conn(), &c, &body.user_ids).await?;
    let added = store::add_participants(tx.conn(), &c, &ids).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    views(&mut conn, &ctx, &added).await
}

/// Makes the participants exactly the given agents; answers them all.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/participants", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = Participants, security(("userApiKey" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Participants>,
) -> ApiResult<axum::Json<Vec<AgentView>>> {
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let wanted = checked(tx.conn(), &c, &body.user_ids).await?;
    let current = store::participants(tx.conn(), &c).await?;
    let gone: Vec<i64> = current
        .iter()
        .copied()
        .filter(|u| !wanted.contains(u))
        .collect();
    store::remove_participants(tx.conn(), &c, &gone).await?;
    store::add_participants(tx.conn(), &c, &wanted).await?;
    let ids = store::participants(tx.conn(), &c).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    views(&mut conn, &ctx, &ids).await
}

/// Removes participants (agents who are not participants are ignored).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/participants", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = Participants, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Participants>,
) -> ApiResult<axum::Json<Empty>> {
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    // Ids that are no agent of the account are a mistake worth telling (as for inbox members).
    bounded(&body.user_ids)?;
    let agents = accounts::agents_by_ids(tx.conn(), &ctx.scope, &body.user_ids).await?;
    if body
        .user_ids
        .iter()
        .any(|u| !agents.iter().any(|a| a.user.id == *u))
    {
        return Err(ApiError::invalid(
            "user_ids",
            "invalid",
            "every user must be an agent of this account",
        ));
    }
    store::remove_participants(tx.conn(), &c, &body.user_ids).await?;
    tx.commit().await?;
    Ok(axum::Json(Empty {}))
}
