//! Canned responses: every agent may use and write them; administrators delete.

use axum::extract::State;
use serde::Deserialize;
use throughline_core::validate::required_text;
use throughline_core::views::CannedResponseView;
use throughline_store::canned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, ok};
use crate::error::ApiResult;
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(update, remove))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct Search {
    /// Matches short code or content.
    search: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/canned_responses", tag = "Canned Responses",
    params(("account_id" = i64, Path), Search), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<CannedResponseView>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(q): Query<Search>,
) -> ApiResult<axum::Json<Vec<CannedResponseView>>> {
    let mut conn = state.store.read().await?;
    let list = canned::list(
        &mut conn,
        &ctx.scope,
        q.search.as_deref().filter(|s| !s.trim().is_empty()),
    )
    .await?;
    Ok(axum::Json(
        list.iter().map(CannedResponseView::from).collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CannedBody {
    short_code: Option<String>,
    content: Option<String>,
}

fn short_code(s: &str) -> ApiResult<String> {
    let code = required_text("short_code", s, 100)?;
    if code.chars().any(char::is_whitespace) {
        return Err(crate::ApiError::invalid(
            "short_code",
            "invalid",
            "short_code cannot contain spaces",
        ));
    }
    Ok(code)
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/canned_responses", tag = "Canned Responses",
    params(("account_id" = i64, Path)), request_body = CannedBody, security(("userApiKey" = [])),
    responses((status = 200, body = CannedResponseView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<CannedBody>,
) -> ApiResult<axum::Json<CannedResponseView>> {
    let code = short_code(body.short_code.as_deref().unwrap_or_default())?;
    let content = required_text(
        "content",
        body.content.as_deref().unwrap_or_default(),
        20_000,
    )?;
    let mut tx = state.store.begin().await?;
    let c = canned::create(tx.conn(), &ctx.scope, &code, &content).await?;
    tx.commit().await?;
    Ok(axum::Json(CannedResponseView::from(&c)))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/canned_responses/{id}", tag = "Canned Responses",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = CannedBody, security(("userApiKey" = [])),
    responses((status = 200, body = CannedResponseView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<CannedBody>,
) -> ApiResult<axum::Json<CannedResponseView>> {
    let code = body.short_code.as_deref().map(short_code).transpose()?;
    let content = body
        .content
        .as_deref()
        .map(|c| required_text("content", c, 20_000))
        .transpose()?;
    let mut tx = state.store.begin().await?;
    let c = canned::update(
        tx.conn(),
        &ctx.scope,
        id,
        code.as_deref(),
        content.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(CannedResponseView::from(&c)))
}

/// Deletes a canned response (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/canned_responses/{id}", tag = "Canned Responses",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    canned::delete(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(ok())
}
