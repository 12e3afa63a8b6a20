//! A portal's categories, one locale each, translations linked; administrators write them.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use throughline_core::help_center::{Category, Portal, slugify, valid_slug};
use throughline_core::validate::{FieldError, optional_text, required_text};
use throughline_store::Found;
use throughline_store::help_center::{self as store, CategoryFields};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::super::{Empty, double_option, ok, payload};
use super::super::views::{self, CategoryList, CategoryView};
use super::{invalid, locale_field, portal_locale, portal_of};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_categories, create_category))
        .routes(routes!(show_category, update_category, delete_category))
}
#[derive(Deserialize, utoipa::IntoParams)]
struct LocaleQuery {
    locale: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CategoryBody {
    name: Option<String>,
    slug: Option<String>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    icon: Option<Option<String>>,
    position: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    parent_category_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    associated_category_id: Option<Option<i64>>,
}

async fn category_fields(
    state: &AppState,
    portal: &Portal,
    current: Option<&Category>,
    body: CategoryBody,
) -> ApiResult<CategoryFields> {
    let mut errors = Vec::new();
    let mut conn = state.store.read().await?;
    let position = match (body.position, current) {
        (Some(p), _) => p,
        (None, Some(c)) => c.position,
        (None, None) => store::category_position(&mut conn, portal).await?,
    };
    let mut f = current.map(CategoryFields::from).unwrap_or(CategoryFields {
        name: String::new(),
        slug: String::new(),
        locale: portal.default_locale.clone(),
        description: None,
        icon: None,
        position,
        parent_category_id: None,
        associated_category_id: None,
    });
    f.position = position;
    if let Some(name) = body.name.as_deref().or(current.is_none().then_some("")) {
        match required_text("name", name, 255) {
            Ok(n) => f.name = n,
            Err(e) => errors.push(e),
        }
    }
    match body
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) if valid_slug(s) => f.slug = s.to_owned(),
        Some(_) => errors.push(FieldError::new(
            "slug",
            "invalid",
            "slug must be lower-case letters, digits, - and _",
        )),
        None if current.is_none() => match slugify(&f.name) {
            Some(s) => f.slug = s,
            None if !f.name.is_empty() => {
                errors.push(FieldError::new("slug", "blank", "slug can't be blank"))
            }
            None => {}
        },
        None => {}
    }
    if let Some(l) = body.locale.as_deref() {
        match portal_locale(portal, "locale", l) {
            Ok(l) => f.locale = l,
            Err(e) => errors.push(e),
        }
    }
    for (field, value, slot, max) in [
        ("description", body.description, &mut f.description, 2_000),
        ("icon", body.icon, &mut f.icon, 64),
    ] {
        if let Some(v) = value {
            match optional_text(field, v.as_deref().unwrap_or(""), max) {
                Ok(v) => *slot = v,
                Err(e) => errors.push(e),
            }
        }
    }
    for (field, value, slot) in [
        (
            "parent_category_id",
            body.parent_category_id,
            &mut f.parent_category_id,
        ),
        (
            "associated_category_id",
            body.associated_category_id,
            &mut f.associated_category_id,
        ),
    ] {
        let Some(value) = value else { continue };
        if let Some(id) = value
            && (Some(id) == current.map(|c| c.id)
                || store::get_category(&mut conn, portal, id)
                    .await
                    .found()?
                    .is_none())
        {
            errors.push(FieldError::new(
                field,
                "invalid",
                format!("{field} must be another category of this portal"),
            ));
            continue;
        }
        *slot = value;
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

async fn category_view(state: &AppState, portal: &Portal, c: &Category) -> ApiResult<CategoryView> {
    let mut conn = state.store.read().await?;
    let counts = store::category_article_counts(&mut conn, portal, None).await?;
    let all = store::list_categories(&mut conn, portal, None).await?;
    Ok(views::category(
        c,
        &all,
        counts.get(&c.id).copied().unwrap_or(0),
    ))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/categories", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), LocaleQuery), security(("userApiKey" = [])),
    responses((status = 200, body = CategoryList), (status = 404, body = crate::error::ErrorBody)))]
async fn list_categories(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Query(q): Query<LocaleQuery>,
) -> ApiResult<axum::Json<CategoryList>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let locale = q
        .locale
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .map(|l| locale_field("locale", l))
        .transpose()
        .map_err(invalid)?;
    let mut conn = state.store.read().await?;
    let all = store::list_categories(&mut conn, &portal, None).await?;
    let counts = store::category_article_counts(&mut conn, &portal, None).await?;
    let out: Vec<CategoryView> = all
        .iter()
        .filter(|c| locale.as_deref().is_none_or(|l| c.locale == l))
        .map(|c| views::category(c, &all, counts.get(&c.id).copied().unwrap_or(0)))
        .collect();
    Ok(axum::Json(CategoryList {
        meta: json!({"current_page": 1, "categories_count": out.len()}),
        payload: out,
    }))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/categories", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), request_body = CategoryBody, security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<CategoryView>), (status = 422, body = crate::error::ErrorBody)))]
async fn create_category(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Json(body): Json<CategoryBody>,
) -> ApiResult<axum::Json<crate::routes::Payload<CategoryView>>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let fields = category_fields(&state, &portal, None, body).await?;
    let mut tx = state.store.begin().await?;
    let c = store::create_category(tx.conn(), &portal, &fields).await?;
    tx.commit().await?;
    Ok(payload(category_view(&state, &portal, &c).await?))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/categories/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<CategoryView>), (status = 404, body = crate::error::ErrorBody)))]
async fn show_category(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
) -> ApiResult<axum::Json<crate::routes::Payload<CategoryView>>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let c = {
        let mut conn = state.store.read().await?;
        store::get_category(&mut conn, &portal, id).await?
    };
    Ok(payload(category_view(&state, &portal, &c).await?))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/categories/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), request_body = CategoryBody, security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<CategoryView>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_category(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
    Json(body): Json<CategoryBody>,
) -> ApiResult<axum::Json<crate::routes::Payload<CategoryView>>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let current = {
        let mut conn = state.store.read().await?;
        store::get_category(&mut conn, &portal, id).await?
    };
    let fields = category_fields(&state, &portal, Some(&current), body).await?;
    let mut tx = state.store.begin().await?;
    let c = store::update_category(tx.conn(), &portal, id, &fields).await?;
    tx.commit().await?;
    Ok(payload(category_view(&state, &portal, &c).await?))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/categories/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_category(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let mut tx = state.store.begin().await?;
    store::delete_category(tx.conn(), &portal, id).await?;
    tx.commit().await?;
    Ok(ok())
}
