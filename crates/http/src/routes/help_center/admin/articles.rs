//! A portal's articles: Markdown drafted, published or archived, in one locale, translations
//! hanging on their root; every agent writes them, their author or an administrator deletes.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::help_center::{
    Article, ArticleStatus, Portal, markdown, slugify, valid_slug,
};
use throughline_core::validate::{FieldError, optional_text, required_text};
use throughline_store::accounts;
use throughline_store::help_center::{self as store, ArticleFields, ArticleFilter};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::super::{Empty, double_option, ok, payload};
use super::super::views::{self, ArticleList, ArticleView};
use super::{invalid, locale_field, portal_locale, portal_of};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

/// Articles are Markdown of at most this many characters.
const MAX_CONTENT: usize = 100_000;
/// Articles per page of the list (Chatwoot's).
const PER_PAGE: i64 = 25;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_articles, create_article))
        .routes(routes!(show_article, update_article, delete_article))
        .routes(routes!(reorder_articles))
        .routes(routes!(preview_article))
}
#[derive(Deserialize, utoipa::IntoParams)]
struct ArticleQuery {
    locale: Option<String>,
    /// Words to find (ranked by relevance when given).
    query: Option<String>,
    page: Option<i64>,
    category_slug: Option<String>,
    /// draft, published, archived (or 0, 1, 2).
    status: Option<String>,
    author_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ArticleQuery), security(("userApiKey" = [])),
    responses((status = 200, body = ArticleList), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn list_articles(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Query(q): Query<ArticleQuery>,
) -> ApiResult<axum::Json<ArticleList>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let locale = q
        .locale
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .map(|l| locale_field("locale", l))
        .transpose()
        .map_err(invalid)?;
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            ArticleStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "invalid",
                    "status must be draft, published or archived",
                )
            })
        })
        .transpose()?;
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let mut conn = state.store.read().await?;
    let mut filter = ArticleFilter {
        locale: locale.clone(),
        status,
        author_id: q.author_id,
        ..ArticleFilter::default()
    };
    if let Some(cs) = q.category_slug.as_deref().filter(|s| !s.is_empty()) {
        let l = locale
            .clone()
            .unwrap_or_else(|| portal.default_locale.clone());
        match store::category_by_slug(&mut conn, &portal, &l, cs).await? {
            Some(c) => {
                filter.category_id = Some(c.id);
                filter.by_position = true;
            }
            None => filter.ids = Some(Vec::new()),
        }
    }
    let query = q.query.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (articles, matching) = match query {
        // A search ranks the portal's articles of the locale (of every locale without one); the
        // filters then apply to the hits.
        Some(words) => {
            let ranked =
                super::super::public::ranked_ids(&mut conn, &portal, locale.as_deref(), words, 200)
                    .await?;
            filter.ids = Some(ranked.clone());
            let (mut found, total) =
                store::list_articles(&mut conn, &portal, &filter, 1, 200).await?;
            found.sort_by_key(|a| ranked.iter().position(|id| *id == a.id));
            let start = usize::try_from((page - 1) * PER_PAGE).unwrap_or(usize::MAX);
            (
                found
                    .into_iter()
                    .skip(start)
                    .take(PER_PAGE as usize)
                    .collect(),
                total,
            )
        }
        None => store::list_articles(&mut conn, &portal, &filter, page, PER_PAGE).await?,
    };
    let counts =
        store::article_counts(&mut conn, &portal, locale.as_deref(), ctx.scope.user_id()).await?;
    drop(conn);
    let views = views::articles(&state, &ctx.scope, &portal, &articles).await?;
    Ok(axum::Json(ArticleList {
        payload: views,
        meta: json!({
            "all_articles_count": counts.all,
            "archived_articles_count": counts.archived,
            "articles_count": matching,
            "current_page": page,
            "draft_articles_count": counts.draft,
            "mine_articles_count": counts.mine,
            "published_count": counts.published,
        }),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ArticleBody {
    title: Option<String>,
    slug: Option<String>,
    content: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    /// draft, published, archived (or 0, 1, 2); a new article is a draft unless told.
    #[schema(value_type = Option<String>)]
    status: Option<Value>,
    position: Option<i64>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    category_id: Option<Option<i64>>,
    author_id: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    associated_article_id: Option<Option<i64>>,
    /// `title`, `description`, `tags`.
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
}

/// The article `body` makes of `current` (or of nothing, on create), checked.
async fn article_fields(
    state: &AppState,
    ctx: &AccountCtx,
    portal: &Portal,
    current: Option<&Article>,
    body: ArticleBody,
) -> ApiResult<ArticleFields> {
    let mut errors = Vec::new();
    let mut conn = state.store.read().await?;
    let position = match (body.position, current) {
        (Some(p), _) => p,
        (None, Some(a)) => a.position,
        (None, None) => store::article_position(&mut conn, portal).await?,
    };
    let mut f = current.map(ArticleFields::from).unwrap_or(ArticleFields {
        title: String::new(),
        slug: String::new(),
        content: String::new(),
        description: None,
        status: ArticleStatus::Draft,
        position,
        locale: portal.default_locale.clone(),
        category_id: None,
        author_id: ctx.scope.user_id(),
        associated_article_id: None,
        meta: json!({}),
    });
    f.position = position;
    if let Some(t) = body.title.as_deref().or(current.is_none().then_some("")) {
        match required_text("title", t, 255) {
            Ok(t) => f.title = t,
            Err(e) => errors.push(e),
        }
    }
    if let Some(c) = body.content.as_deref() {
        if c.chars().count() > MAX_CONTENT {
            errors.push(FieldError::new(
                "content",
                "too_long",
                format!("content is too long (maximum is {MAX_CONTENT} characters)"),
            ));
        } else if c.contains('\0') {
            errors.push(FieldError::new(
                "content",
                "invalid",
                "content contains the NUL character",
            ));
        } else {
            f.content = c.to_owned();
        }
    }
    if let Some(d) = body.description {
        match optional_text("description", d.as_deref().unwrap_or(""), 1_000) {
            Ok(d) => f.description = d,
            Err(e) => errors.push(e),
        }
    }
    if let Some(s) = &body.status {
        let raw = match s {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match ArticleStatus::parse(&raw) {
            Some(s) => f.status = s,
            None => errors.push(FieldError::new(
                "status",
                "invalid",
                "status must be draft, published or archived",
            )),
        }
    }
    if f.status == ArticleStatus::Published && f.content.trim().is_empty() {
        errors.push(FieldError::new(
            "content",
            "blank",
            "a published article needs content",
        ));
    }
    if let Some(meta) = body.meta {
        if meta.is_object() && meta.to_string().len() <= 4_000 {
            f.meta = meta;
        } else {
            errors.push(FieldError::new(
                "meta",
                "invalid",
                "meta must be an object (title, description, tags)",
            ));
        }
    }
    if let Some(category) = body.category_id {
        f.category_id = category;
    }
    let category = match f.category_id {
        Some(id) => match store::get_category(&mut conn, portal, id).await {
            Ok(c) => Some(c),
            Err(throughline_store::StoreError::NotFound) => {
                errors.push(FieldError::new(
                    "category_id",
                    "invalid",
                    "category_id must be a category of this portal",
                ));
                None
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    // The category's locale, else the one given, else the portal's default (Chatwoot's).
    match (&category, body.locale.as_deref()) {
        (Some(c), _) => f.locale = c.locale.clone(),
        (None, Some(l)) => match portal_locale(portal, "locale", l) {
            Ok(l) => f.locale = l,
            Err(e) => errors.push(e),
        },
        (None, None) => {}
    }
    if let Some(author) = body.author_id {
        if accounts::agents_by_ids(&mut conn, &ctx.scope, &[author])
            .await?
            .is_empty()
        {
            errors.push(FieldError::new(
                "author_id",
                "invalid",
                "author_id must be an agent of this account",
            ));
        } else {
            f.author_id = Some(author);
        }
    }
    if let Some(associated) = body.associated_article_id {
        f.associated_article_id = match associated {
            None => None,
            Some(id) if Some(id) == current.map(|a| a.id) => {
                errors.push(FieldError::new(
                    "associated_article_id",
                    "invalid",
                    "an article cannot translate itself",
                ));
                None
            }
            // Translations hang on the root of their family.
            Some(id) => match store::get_article(&mut conn, portal, id).await {
                Ok(a) => Some(a.associated_article_id.unwrap_or(a.id)),
                Err(throughline_store::StoreError::NotFound) => {
                    errors.push(FieldError::new(
                        "associated_article_id",
                        "invalid",
                        "associated_article_id must be an article of this portal",
                    ));
                    None
                }
                Err(e) => return Err(e.into()),
            },
        };
    }
    let wanted = body
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match wanted {
        Some(s) if valid_slug(s) => {
            if store::article_slug_taken(&mut conn, portal, s, current.map(|a| a.id)).await? {
                errors.push(FieldError::new(
                    "slug",
                    "taken",
                    "slug has already been taken",
                ));
            } else {
                f.slug = s.to_owned();
            }
        }
        Some(_) => errors.push(FieldError::new(
            "slug",
            "invalid",
            "slug must be lower-case letters, digits, - and _",
        )),
        None if current.is_none() => {
            // From the title, numbered when another article has it.
            if let Some(base) = slugify(&f.title) {
                let mut candidate = base.clone();
                let mut n = 2;
                while store::article_slug_taken(&mut conn, portal, &candidate, None).await? {
                    candidate = format!("{base}-{n}");
                    n += 1;
                }
                f.slug = candidate;
            } else if !f.title.is_empty() {
                f.slug = format!("article-{}", throughline_store::now_ms());
            }
        }
        None => {}
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

async fn one_article(
    state: &AppState,
    ctx: &AccountCtx,
    portal: &Portal,
    a: &Article,
) -> ApiResult<ArticleView> {
    let mut list = views::articles(state, &ctx.scope, portal, std::slice::from_ref(a)).await?;
    list.pop().ok_or(ApiError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), request_body = ArticleBody, security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<ArticleView>), (status = 422, body = crate::error::ErrorBody)))]
async fn create_article(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Json(body): Json<ArticleBody>,
) -> ApiResult<axum::Json<crate::routes::Payload<ArticleView>>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let fields = article_fields(&state, &ctx, &portal, None, body).await?;
    let mut tx = state.store.begin().await?;
    let a = store::create_article(tx.conn(), &portal, &fields).await?;
    tx.commit().await?;
    Ok(payload(one_article(&state, &ctx, &portal, &a).await?))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<ArticleView>), (status = 404, body = crate::error::ErrorBody)))]
async fn show_article(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
) -> ApiResult<axum::Json<crate::routes::Payload<ArticleView>>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let a = {
        let mut conn = state.store.read().await?;
        store::get_article(&mut conn, &portal, id).await?
    };
    Ok(payload(one_article(&state, &ctx, &portal, &a).await?))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), request_body = ArticleBody, security(("userApiKey" = [])),
    responses((status = 200, body = crate::routes::Payload<ArticleView>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_article(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
    Json(body): Json<ArticleBody>,
) -> ApiResult<axum::Json<crate::routes::Payload<ArticleView>>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let current = {
        let mut conn = state.store.read().await?;
        store::get_article(&mut conn, &portal, id).await?
    };
    let fields = article_fields(&state, &ctx, &portal, Some(&current), body).await?;
    let mut tx = state.store.begin().await?;
    let a = store::update_article(tx.conn(), &portal, id, &fields).await?;
    tx.commit().await?;
    Ok(payload(one_article(&state, &ctx, &portal, &a).await?))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/{id}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_article(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug, id)): Path<(i64, String, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let mut tx = state.store.begin().await?;
    let a = store::get_article(tx.conn(), &portal, id).await?;
    if !ctx.scope.can_administer() && a.author_id != ctx.scope.user_id() {
        return Err(ApiError::Forbidden(
            "only the author or an administrator may delete an article".into(),
        ));
    }
    store::delete_article(tx.conn(), &portal, id).await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReorderBody {
    /// `{"<article id>": <position>}`.
    #[schema(value_type = Object)]
    positions_hash: serde_json::Map<String, Value>,
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/reorder", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), request_body = ReorderBody, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 422, body = crate::error::ErrorBody)))]
async fn reorder_articles(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Json(body): Json<ReorderBody>,
) -> ApiResult<axum::Json<Empty>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    if body.positions_hash.len() > 1_000 {
        return Err(ApiError::invalid(
            "positions_hash",
            "too_long",
            "at most 1000 articles at once",
        ));
    }
    let mut positions = Vec::with_capacity(body.positions_hash.len());
    for (id, position) in &body.positions_hash {
        let id = id.parse::<i64>().ok();
        let position = position
            .as_i64()
            .or_else(|| position.as_str().and_then(|p| p.parse().ok()));
        match (id, position) {
            (Some(id), Some(p)) => positions.push((id, p)),
            _ => {
                return Err(ApiError::invalid(
                    "positions_hash",
                    "invalid",
                    "positions_hash maps article ids to whole-number positions",
                ));
            }
        }
    }
    let mut tx = state.store.begin().await?;
    for (id, _) in &positions {
        match store::get_article(tx.conn(), &portal, *id).await {
            Ok(_) => {}
            Err(throughline_store::StoreError::NotFound) => {
                return Err(ApiError::invalid(
                    "positions_hash",
                    "invalid",
                    format!("{id} is not an article of this portal"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    store::reorder_articles(tx.conn(), &portal, &positions).await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PreviewBody {
    /// Markdown, as an article's `content`.
    content: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Preview {
    /// The HTML the public page would show (rendered and sanitised by the server).
    content_html: String,
}

/// Throughline's: the editor's preview, rendered exactly as the public page renders it, so an
/// agent sees what customers will (Chatwoot previews in the browser with its own renderer).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/articles/preview", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), request_body = PreviewBody, security(("userApiKey" = [])),
    responses((status = 200, body = Preview), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn preview_article(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
    Json(body): Json<PreviewBody>,
) -> ApiResult<axum::Json<Preview>> {
    portal_of(&state, &ctx.scope, &slug).await?;
    if body.content.chars().count() > MAX_CONTENT {
        return Err(ApiError::invalid(
            "content",
            "too_long",
            format!("content is at most {MAX_CONTENT} characters"),
        ));
    }
    Ok(axum::Json(Preview {
        content_html: markdown::render(&body.content),
    }))
}
