//! Merging two conversations of one customer and splitting messages out of one.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::audit::{Change, action, kind};
use throughline_core::views::ConversationView;
use throughline_store::{conversations, moves, render};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(merge))
        .routes(routes!(split))
        .routes(routes!(history))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MergeBody {
    /// The conversation (display id) to merge into this one; it is resolved afterwards.
    source_conversation_id: i64,
}

/// Merges another conversation of the same contact into this one: its messages, attachments
/// and labels move here, it is resolved and points here. Refused across contacts (merge the
/// contacts first) and accounts.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/merge", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = MergeBody, security(("userApiKey" = [])),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn merge(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<MergeBody>,
) -> ApiResult<axum::Json<ConversationView>> {
    let mut tx = state.store.begin().await?;
    let target = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let source = conversations::get(tx.conn(), &ctx.scope, body.source_conversation_id)
        .await
        .map_err(|e| match e {
            throughline_store::StoreError::NotFound => ApiError::invalid(
                "source_conversation_id",
                "not_found",
                "source_conversation_id names no conversation you can see",
            ),
            other => other.into(),
        })?;
    let merged = moves::merge(&mut tx, &ctx.scope, &target, &source).await?;
    let change = Change::new(kind::CONVERSATION, target.display_id, action::MERGE)
        .with("source_conversation_id", source.display_id);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::conversation(&mut conn, &state.store, merged).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SplitBody {
    /// Ids of the messages to move into a new conversation (not activity lines; at least one
    /// message must stay).
    message_ids: Vec<i64>,
}

/// Splits messages out of this conversation into a new one of the same contact, which links
/// back to this one and keeps its assignee and team.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/split", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = SplitBody, security(("userApiKey" = [])),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn split(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<SplitBody>,
) -> ApiResult<axum::Json<ConversationView>> {
    let mut tx = state.store.begin().await?;
    let source = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let created = moves::split(&mut tx, &ctx.scope, &source, &body.message_ids).await?;
    let change = Change::new(kind::CONVERSATION, source.display_id, action::SPLIT)
        .with("new_conversation_id", created.display_id)
        .with("message_ids", body.message_ids.clone());
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::conversation(&mut conn, &state.store, created).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct MoveRecordView {
    /// `merge` or `split`.
    kind: String,
    from_conversation_id: i64,
    to_conversation_id: i64,
    message_ids: Vec<i64>,
    user_id: Option<i64>,
    /// Unix seconds.
    created_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MoveHistory {
    payload: Vec<MoveRecordView>,
}

/// The merges and splits this conversation took part in, newest first (the audit trail).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/moves", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = MoveHistory), (status = 404, body = crate::error::ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<MoveHistory>> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, &ctx.scope, id).await?;
    let records = moves::history(&mut conn, &ctx.scope, &c).await?;
    Ok(axum::Json(MoveHistory {
        payload: records
            .into_iter()
            .map(|r| MoveRecordView {
                kind: r.kind,
                from_conversation_id: r.from_conversation_id,
                to_conversation_id: r.to_conversation_id,
                message_ids: r.message_ids,
                user_id: r.user_id,
                created_at: throughline_core::to_unix_seconds(r.created_at),
            })
            .collect(),
    }))
}
