//! Saved filters (Chatwoot's `custom_filters`): each user's own, per account and type —
//! conversation, contact or report. Every member may keep up to 50; nobody sees another's.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_core::validate::{json_object, required_text};
use throughline_core::views::iso8601;
use throughline_store::custom_filters::{self, Changes, CustomFilter, FilterType};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

/// A saved filter as Chatwoot renders it (`api/v1/models/_custom_filter.json.jbuilder`:
/// `filter_type`, where the contract says `type`; times as ISO 8601 strings).
#[derive(Serialize, utoipa::ToSchema)]
struct CustomFilterView {
    id: i64,
    name: String,
    /// conversation, contact or report.
    filter_type: &'static str,
    #[schema(value_type = Object)]
    query: Value,
    created_at: String,
    updated_at: String,
}

impl From<&CustomFilter> for CustomFilterView {
    fn from(f: &CustomFilter) -> Self {
        Self {
            id: f.id,
            name: f.name.clone(),
            filter_type: f.filter_type.as_str(),
            query: f.query.clone(),
            created_at: iso8601(f.created_at),
            updated_at: iso8601(f.updated_at),
        }
    }
}

fn filter_type(raw: &str) -> ApiResult<FilterType> {
    FilterType::parse(raw.trim()).ok_or_else(|| {
        ApiError::invalid(
            "filter_type",
            "inclusion",
            "filter_type must be conversation, contact or report",
        )
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// conversation (the default), contact or report.
    filter_type: Option<String>,
}

/// The caller's filters of one type.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/custom_filters", tag = "Custom Filters",
    params(("account_id" = i64, Path), ListQuery), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<CustomFilterView>), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Vec<CustomFilterView>>> {
    ctx.require_user()?;
    let kind = match q.filter_type.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => filter_type(t)?,
        None => FilterType::Conversation,
    };
    let mut conn = state.store.read().await?;
    let list = custom_filters::list(&mut conn, &ctx.scope, kind).await?;
    Ok(axum::Json(
        list.iter().map(CustomFilterView::from).collect(),
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct FilterFields {
    name: Option<String>,
    /// conversation (the default), contact or report.
    filter_type: Option<String>,
    /// The contract's name for `filter_type`, taken when `filter_type` is absent.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The filter as the client will apply it again (a JSON object).
    #[schema(value_type = Option<Object>)]
    query: Option<Value>,
}

/// Chatwoot's controller reads `params[:custom_filter]`; Rails puts a bare JSON body there, so
/// both `{"custom_filter": {…}}` and `{…}` are taken.
#[derive(Deserialize, utoipa::ToSchema)]
struct FilterBody {
    custom_filter: Option<FilterFields>,
    #[serde(flatten)]
    fields: FilterFields,
}

impl FilterBody {
    fn fields(self) -> FilterFields {
        self.custom_filter.unwrap_or(self.fields)
    }
}

fn checked_query(q: &Value) -> ApiResult<()> {
    json_object("query", q)?;
    Ok(())
}

/// Saves a filter for the caller; 422 past 50 in the account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/custom_filters", tag = "Custom Filters",
    params(("account_id" = i64, Path)), request_body = FilterBody, security(("userApiKey" = [])),
    responses((status = 200, body = CustomFilterView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<FilterBody>,
) -> ApiResult<axum::Json<CustomFilterView>> {
    ctx.require_user()?;
    let f = body.fields();
    let name = required_text("name", f.name.as_deref().unwrap_or_default(), 255)?;
    let kind = match f.filter_type.as_deref().or(f.kind.as_deref()) {
        Some(t) => filter_type(t)?,
        None => FilterType::Conversation,
    };
    let query = f
        .query
        .ok_or_else(|| ApiError::invalid("query", "blank", "query is required (a JSON object)"))?;
    checked_query(&query)?;
    let mut tx = state.store.begin().await?;
    let saved = custom_filters::create(tx.conn(), &ctx.scope, &name, kind, &query).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomFilterView::from(&saved)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/custom_filters/{custom_filter_id}", tag = "Custom Filters",
    params(("account_id" = i64, Path), ("custom_filter_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = CustomFilterView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<CustomFilterView>> {
    ctx.require_user()?;
    let mut conn = state.store.read().await?;
    let f = custom_filters::get(&mut conn, &ctx.scope, id).await?;
    Ok(axum::Json(CustomFilterView::from(&f)))
}

/// Renames a filter, or changes its type or query.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/custom_filters/{custom_filter_id}", tag = "Custom Filters",
    params(("account_id" = i64, Path), ("custom_filter_id" = i64, Path)), request_body = FilterBody,
    security(("userApiKey" = [])),
    responses((status = 200, body = CustomFilterView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<FilterBody>,
) -> ApiResult<axum::Json<CustomFilterView>> {
    ctx.require_user()?;
    let f = body.fields();
    let changes = Changes {
        name: f
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        filter_type: f
            .filter_type
            .as_deref()
            .or(f.kind.as_deref())
            .map(filter_type)
            .transpose()?,
        query: match f.query {
            Some(q) => {
                checked_query(&q)?;
                Some(q)
            }
            None => None,
        },
    };
    let mut tx = state.store.begin().await?;
    let saved = custom_filters::update(tx.conn(), &ctx.scope, id, changes).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomFilterView::from(&saved)))
}

/// Deletes a filter: 204, as Chatwoot answers (`head :no_content`).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/custom_filters/{custom_filter_id}", tag = "Custom Filters",
    params(("account_id" = i64, Path), ("custom_filter_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    ctx.require_user()?;
    let mut tx = state.store.begin().await?;
    custom_filters::delete(tx.conn(), &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
