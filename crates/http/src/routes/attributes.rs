//! Custom attribute definitions for contacts and conversations.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use throughline_core::model::{ATTRIBUTE_DISPLAY_TYPES, AttributeModel};
use throughline_core::validate::{attribute_key, optional_text, required_text};
use throughline_core::views::CustomAttributeView;
use throughline_store::attributes::{self, DefinitionFields};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, ok};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ModelParam {
    /// conversation_attribute (0) or contact_attribute (1).
    attribute_model: Option<String>,
}

fn parse_model(s: &str) -> ApiResult<AttributeModel> {
    AttributeModel::parse(s).ok_or_else(|| {
        ApiError::invalid(
            "attribute_model",
            "inclusion",
            "attribute_model must be conversation_attribute or contact_attribute",
        )
    })
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/custom_attribute_definitions", tag = "Custom Attributes",
    params(("account_id" = i64, Path), ModelParam), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<CustomAttributeView>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ModelParam>,
) -> ApiResult<axum::Json<Vec<CustomAttributeView>>> {
    let model = p
        .attribute_model
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parse_model)
        .transpose()?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        attributes::list(&mut conn, &ctx.scope, model)
            .await?
            .iter()
            .map(CustomAttributeView::from)
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DefinitionBody {
    attribute_display_name: Option<String>,
    /// text, number, currency, percent, link, date, list, checkbox (or 0–7).
    #[schema(value_type = String)]
    attribute_display_type: Option<Value>,
    attribute_description: Option<String>,
    attribute_key: Option<String>,
    /// conversation_attribute or contact_attribute (or 0 / 1).
    #[schema(value_type = String)]
    attribute_model: Option<Value>,
    #[schema(value_type = Vec<String>)]
    attribute_values: Option<Value>,
    default_value: Option<String>,
    regex_pattern: Option<String>,
    regex_cue: Option<String>,
}

fn merge_fields(base: Option<DefinitionFields>, b: DefinitionBody) -> ApiResult<DefinitionFields> {
    let model = match b.attribute_model {
        Some(Value::String(s)) => Some(parse_model(&s)?),
        Some(Value::Number(n)) => Some(parse_model(&n.to_string())?),
        Some(_) => {
            return Err(ApiError::invalid(
                "attribute_model",
                "invalid",
                "attribute_model must be a string",
            ));
        }
        None => None,
    };
    // Rails enums take the integer too (WAHA sends `0` for text); the list is in
    // Chatwoot's enum order.
    let display_type = match b.attribute_display_type {
        Some(Value::Number(n)) => match n
            .as_u64()
            .and_then(|i| ATTRIBUTE_DISPLAY_TYPES.get(usize::try_from(i).ok()?))
        {
            Some(t) => Some((*t).to_owned()),
            None => {
                return Err(ApiError::invalid(
                    "attribute_display_type",
                    "inclusion",
                    format!(
                        "unknown display type `{n}`: use 0–7 or {}",
                        ATTRIBUTE_DISPLAY_TYPES.join(", ")
                    ),
                ));
            }
        },
        Some(Value::String(t)) if ATTRIBUTE_DISPLAY_TYPES.contains(&t.as_str()) => Some(t),
        Some(Value::Null) | None => None,
        Some(t) => {
            let t = t.as_str().map_or_else(|| t.to_string(), str::to_owned);
            return Err(ApiError::invalid(
                "attribute_display_type",
                "inclusion",
                format!(
                    "unknown display type `{t}`: use {}",
                    ATTRIBUTE_DISPLAY_TYPES.join(", ")
                ),
            ));
        }
    };
    let values = match b.attribute_values {
        Some(v @ Value::Array(_)) => {
            if v.as_array()
                .is_some_and(|a| a.iter().any(|x| !x.is_string()) || a.len() > 200)
            {
                return Err(ApiError::invalid(
                    "attribute_values",
                    "invalid",
                    "attribute_values must be up to 200 strings",
                ));
            }
            Some(v)
        }
        Some(Value::Null) | None => None,
        Some(_) => {
            return Err(ApiError::invalid(
                "attribute_values",
                "invalid",
                "attribute_values must be a list",
            ));
        }
    };
    let text =
        |field: &str, v: Option<String>, max| v.map(|s| optional_text(field, &s, max)).transpose();
    let f = DefinitionFields {
        attribute_model: match (model, &base) {
            (Some(m), _) => m,
            (None, Some(b)) => b.attribute_model,
            (None, None) => {
                return Err(ApiError::invalid(
                    "attribute_model",
                    "blank",
                    "attribute_model is required",
                ));
            }
        },
        attribute_key: match (b.attribute_key, &base) {
            (Some(k), _) => attribute_key("attribute_key", &k)?,
            (None, Some(b)) => b.attribute_key.clone(),
            (None, None) => {
                return Err(ApiError::invalid(
                    "attribute_key",
                    "blank",
                    "attribute_key is required",
                ));
            }
        },
        attribute_display_name: match (b.attribute_display_name, &base) {
            (Some(n), _) => required_text("attribute_display_name", &n, 255)?,
            (None, Some(b)) => b.attribute_display_name.clone(),
            (None, None) => {
                return Err(ApiError::invalid(
                    "attribute_display_name",
                    "blank",
                    "attribute_display_name is required",
                ));
            }
        },
        attribute_display_type: display_type
            .or_else(|| base.as_ref().map(|b| b.attribute_display_type.clone()))
            .unwrap_or_else(|| "text".into()),
        attribute_description: text("attribute_description", b.attribute_description, 2000)?
            .unwrap_or_else(|| base.as_ref().and_then(|b| b.attribute_description.clone())),
        attribute_values: values
            .or_else(|| base.as_ref().map(|b| b.attribute_values.clone()))
            .unwrap_or_else(|| Value::Array(vec![])),
        default_value: text("default_value", b.default_value, 2000)?
            .unwrap_or_else(|| base.as_ref().and_then(|b| b.default_value.clone())),
        regex_pattern: text("regex_pattern", b.regex_pattern, 500)?
            .unwrap_or_else(|| base.as_ref().and_then(|b| b.regex_pattern.clone())),
        regex_cue: text("regex_cue", b.regex_cue, 500)?
            .unwrap_or_else(|| base.as_ref().and_then(|b| b.regex_cue.clone())),
    };
    Ok(f)
}

/// The audit log's entry about a definition.
fn audited(
    c: fn(&'static str, i64, &Value) -> throughline_core::audit::Change,
    d: &throughline_core::model::CustomAttributeDefinition,
) -> throughline_core::audit::Change {
    let fields = throughline_core::audit::record_fields(d, throughline_core::audit::BOOKKEEPING);
    c(throughline_core::audit::kind::ATTRIBUTE, d.id, &fields)
        .named("attribute_key", &*d.attribute_key)
        .named("name", &*d.attribute_display_name)
}

/// Defines a custom attribute (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/custom_attribute_definitions", tag = "Custom Attributes",
    params(("account_id" = i64, Path)), request_body = DefinitionBody, security(("userApiKey" = [])),
    responses((status = 200, body = CustomAttributeView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<DefinitionBody>,
) -> ApiResult<axum::Json<CustomAttributeView>> {
    ctx.require_admin()?;
    let fields = merge_fields(None, body)?;
    let mut tx = state.store.begin().await?;
    let d = attributes::create(tx.conn(), &ctx.scope, fields).await?;
    let change = audited(throughline_core::audit::Change::created, &d);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomAttributeView::from(&d)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}", tag = "Custom Attributes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = CustomAttributeView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<CustomAttributeView>> {
    let mut conn = state.store.read().await?;
    Ok(axum::Json(CustomAttributeView::from(
        &attributes::get(&mut conn, &ctx.scope, id).await?,
    )))
}

/// Updates a definition (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}", tag = "Custom Attributes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = DefinitionBody, security(("userApiKey" = [])),
    responses((status = 200, body = CustomAttributeView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<DefinitionBody>,
) -> ApiResult<axum::Json<CustomAttributeView>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let current = attributes::get(tx.conn(), &ctx.scope, id).await?;
    let before =
        throughline_core::audit::record_fields(&current, throughline_core::audit::BOOKKEEPING);
    let fields = merge_fields(Some(current.into()), body)?;
    let d = attributes::update(tx.conn(), &ctx.scope, id, fields).await?;
    let after = throughline_core::audit::record_fields(&d, throughline_core::audit::BOOKKEEPING);
    let change = throughline_core::audit::Change::updated(
        throughline_core::audit::kind::ATTRIBUTE,
        id,
        &before,
        &after,
    )
    .named("attribute_key", &*d.attribute_key)
    .named("name", &*d.attribute_display_name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomAttributeView::from(&d)))
}

/// Deletes a definition (administrators). Values already stored on records stay.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}", tag = "Custom Attributes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let d = attributes::get(tx.conn(), &ctx.scope, id).await?;
    attributes::delete(tx.conn(), &ctx.scope, id).await?;
    let change = audited(throughline_core::audit::Change::destroyed, &d);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(ok())
}
