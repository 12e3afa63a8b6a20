//! The account's labels (titles, colours, sidebar).

use axum::extract::State;
use serde::Deserialize;
use throughline_core::validate::{hex_color, label_title, optional_text, text_patch};
use throughline_core::views::LabelView;
use throughline_store::labels;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, Payload, double_option, ok, payload};
use crate::error::ApiResult;
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/labels", tag = "Labels",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<LabelView>>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<LabelView>>>> {
    let mut conn = state.store.read().await?;
    Ok(payload(
        labels::list(&mut conn, &ctx.scope)
            .await?
            .iter()
            .map(LabelView::from)
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LabelBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    color: Option<String>,
    show_on_sidebar: Option<bool>,
}

/// Creates a label (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/labels", tag = "Labels",
    params(("account_id" = i64, Path)), request_body = LabelBody, security(("userApiKey" = [])),
    responses((status = 200, body = LabelView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<LabelBody>,
) -> ApiResult<axum::Json<LabelView>> {
    ctx.require_admin()?;
    let title = label_title("title", body.title.as_deref().unwrap_or_default())?;
    let color = body
        .color
        .as_deref()
        .map(|c| hex_color("color", c))
        .transpose()?
        .unwrap_or_else(|| "#1f93ff".into());
    let description = body
        .description
        .flatten()
        .map(|d| optional_text("description", &d, 2000))
        .transpose()?
        .flatten();
    let mut tx = state.store.begin().await?;
    let label = labels::create(
        tx.conn(),
        &ctx.scope,
        &title,
        description.as_deref(),
        &color,
        body.show_on_sidebar.unwrap_or(true),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(LabelView::from(&label)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = LabelView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<LabelView>> {
    let mut conn = state.store.read().await?;
    Ok(axum::Json(LabelView::from(
        &labels::get(&mut conn, &ctx.scope, id).await?,
    )))
}

/// Updates a label (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = LabelBody, security(("userApiKey" = [])),
    responses((status = 200, body = LabelView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<LabelBody>,
) -> ApiResult<axum::Json<LabelView>> {
    ctx.require_admin()?;
    let title = body
        .title
        .as_deref()
        .map(|t| label_title("title", t))
        .transpose()?;
    let color = body
        .color
        .as_deref()
        .map(|c| hex_color("color", c))
        .transpose()?;
    let description = text_patch("description", body.description, 2000)?;
    let mut tx = state.store.begin().await?;
    let label = labels::update(
        tx.conn(),
        &ctx.scope,
        id,
        title.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
        color.as_deref(),
        body.show_on_sidebar,
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(LabelView::from(&label)))
}

/// Deletes a label (administrators). Records keep the title they were tagged with.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    labels::delete(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(ok())
}
