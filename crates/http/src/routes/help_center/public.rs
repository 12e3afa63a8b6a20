//! The help center's public side, at Chatwoot's paths: HTML pages rendered on the server
//! (`pages`), the JSON Chatwoot's widget and portal search read (`….json`), the sitemap, and
//! readers' "was this helpful?" answers. No authentication: only published articles of portals
//! that are not archived are ever shown.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::help_center::{
    Article, ArticleStatus, Portal, markdown, normalise_locale, search as article_search,
};
use throughline_store::help_center::{self as store, ArticleFilter};
use throughline_store::{AccountScope, Conn, accounts};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pages::{
    self, ArticleLink, ArticlePage, CategorySection, SearchHit, Site, SitemapEntry, Translation,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(portal_home))
        .routes(routes!(sitemap))
        .routes(routes!(locale_home))
        .routes(routes!(articles))
        .routes(routes!(articles_json))
        .routes(routes!(categories_json))
        .routes(routes!(category_page))
        .routes(routes!(article))
        .routes(routes!(feedback))
}

/// Search hits ranked at most.
const MAX_HITS: usize = 50;
/// The snippet of a hit, in characters.
const SNIPPET_CHARS: usize = 220;

/// Ids of the portal's published articles that answer `query`, best first: in `locale`, or in
/// every locale of the portal (an agent's search), merged by score.
pub(crate) async fn ranked_ids(
    conn: &mut Conn,
    portal: &Portal,
    locale: Option<&str>,
    query: &str,
    limit: usize,
) -> ApiResult<Vec<i64>> {
    let locales: Vec<&str> = match locale {
        Some(l) => vec![l],
        None => portal.allowed_locales.iter().map(String::as_str).collect(),
    };
    let mut hits = Vec::new();
    for l in locales {
        hits.extend(store::search(conn, portal, l, query, limit).await?);
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    Ok(hits.into_iter().take(limit).map(|h| h.id).collect())
}

/// The portal public at `slug`.
async fn public_portal(conn: &mut Conn, slug: &str) -> Result<Portal, Response> {
    match store::public_portal(conn, slug).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(not_found_page(None, "en")),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// The locale of the path when the portal has it.
fn portal_locale(portal: &Portal, raw: &str) -> Option<String> {
    normalise_locale(raw)
        .map(str::to_owned)
        .filter(|l| portal.allowed_locales.contains(l))
}

fn origin_of(state: &AppState) -> String {
    state.config.public_url.trim_end_matches('/').to_owned()
}

fn site<'a>(
    portal: &'a Portal,
    base: &'a str,
    origin: &'a str,
    locale: &'a str,
    logo_url: Option<&'a str>,
) -> Site<'a> {
    Site {
        portal,
        base,
        origin,
        locale,
        logo_url,
    }
}

/// The portal's logo URL; a logo that cannot be read is left out of the page.
async fn logo_of(state: &AppState, portal: &Portal) -> Option<String> {
    portal.logo_upload_id?;
    let mut conn = state.store.read().await.ok()?;
    super::super::uploads::portal_logo_url(state, &mut conn, portal)
        .await
        .ok()
        .flatten()
}

/// An HTML page; public pages may be cached briefly by browsers and proxies.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            ),
        ],
        body,
    )
        .into_response()
}

fn not_found_page(portal: Option<(&Portal, &str)>, locale: &str) -> Response {
    let body = match portal {
        Some((p, base)) => {
            let origin = String::new();
            pages::not_found(&site(p, base, &origin, locale, None))
        }
        None => pages::portal_not_found(locale),
    };
    html(StatusCode::NOT_FOUND, body)
}

fn base_of(portal: &Portal) -> String {
    format!("/hc/{}", portal.slug)
}

fn internal(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// The portal's home in `locale`: each category with its first articles, then the rest.
async fn home_page(state: &AppState, portal: &Portal, locale: &str) -> Result<Response, Response> {
    let mut conn = state.store.read().await.map_err(internal)?;
    let categories = store::list_categories(&mut conn, portal, Some(locale))
        .await
        .map_err(internal)?;
    let filter = ArticleFilter {
        locale: Some(locale.to_owned()),
        status: Some(ArticleStatus::Published),
        by_position: true,
        ..ArticleFilter::default()
    };
    let (published, _) = store::list_articles(&mut conn, portal, &filter, 1, 1_000)
        .await
        .map_err(internal)?;
    drop(conn);
    let sections: Vec<CategorySection<'_>> = categories
        .iter()
        .filter(|c| c.parent_category_id.is_none())
        .map(|c| {
            let of: Vec<&Article> = published
                .iter()
                .filter(|a| a.category_id == Some(c.id))
                .collect();
            CategorySection {
                category: c,
                total: of.len(),
                articles: of
                    .into_iter()
                    .take(5)
                    .map(ArticleLink::from_article)
                    .collect(),
            }
        })
        .filter(|s| s.total > 0)
        .collect();
    let uncategorised: Vec<ArticleLink<'_>> = published
        .iter()
        .filter(|a| {
            a.category_id
                .is_none_or(|id| !categories.iter().any(|c| c.id == id))
        })
        .map(ArticleLink::from_article)
        .collect();
    let base = base_of(portal);
    let origin = origin_of(state);
    let logo = logo_of(state, portal).await;
    Ok(html(
        StatusCode::OK,
        pages::home(
            &site(portal, &base, &origin, locale, logo.as_deref()),
            &sections,
            &uncategorised,
        ),
    ))
}

fn respond(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

#[utoipa::path(get, path = "/hc/{portal_slug}", tag = "Help Center (public)",
    params(("portal_slug" = String, Path)),
    responses((status = 200, description = "The portal's home page in its default language", content_type = "text/html"),
        (status = 404, description = "No such portal", content_type = "text/html")))]
async fn portal_home(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    respond(
        async {
            let portal = {
                let mut conn = state.store.read().await.map_err(internal)?;
                public_portal(&mut conn, &slug).await?
            };
            let locale = portal.default_locale.clone();
            home_page(&state, &portal, &locale).await
        }
        .await,
    )
}

#[utoipa::path(get, path = "/hc/{portal_slug}/{locale}", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("locale" = String, Path)),
    responses((status = 200, description = "The portal's home page in one language", content_type = "text/html"),
        (status = 404, description = "No such portal or language", content_type = "text/html")))]
async fn locale_home(
    State(state): State<AppState>,
    Path((slug, locale)): Path<(String, String)>,
) -> Response {
    respond(
        async {
            let portal = {
                let mut conn = state.store.read().await.map_err(internal)?;
                public_portal(&mut conn, &slug).await?
            };
            let base = base_of(&portal);
            let Some(locale) = portal_locale(&portal, &locale) else {
                return Err(not_found_page(
                    Some((&portal, &base)),
                    &portal.default_locale,
                ));
            };
            home_page(&state, &portal, &locale).await
        }
        .await,
    )
}

/// Chatwoot's widget also sends `status=1`: ignored, only published articles are public.
#[derive(Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Words to find.
    query: Option<String>,
    page: Option<i64>,
    /// At most 100; without it, every match (Chatwoot's).
    per_page: Option<i64>,
    /// `views`: most read first; otherwise by position (or relevance with a query).
    sort: Option<String>,
    category_slug: Option<String>,
}

/// An article as the public JSON shows it (Chatwoot's `public/api/v1/models/_article`).
#[derive(Serialize, utoipa::ToSchema)]
struct PublicArticle {
    id: i64,
    category_id: Option<i64>,
    title: String,
    /// Markdown.
    content: String,
    description: Option<String>,
    status: &'static str,
    position: i64,
    account_id: i64,
    /// Unix seconds.
    last_updated_at: i64,
    slug: String,
    views: i64,
    #[schema(value_type = Object)]
    portal: Value,
    #[schema(value_type = Option<Object>)]
    category: Option<Value>,
    #[schema(value_type = Option<Object>)]
    author: Option<Value>,
    /// `hc/{portal_slug}/articles/{article_slug}` (no leading slash, as Chatwoot's).
    link: String,
    /// Throughline: the matching passage, HTML-escaped with `<mark>` around matched words
    /// (with a `query` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    highlight: Option<String>,
    /// Throughline: the content rendered and sanitised, as the article's page shows it (one
    /// article's `.json` only: the widget's help tab shows it as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PublicArticleList {
    payload: Vec<PublicArticle>,
    #[schema(value_type = Object)]
    meta: Value,
}

/// The published articles a list or a search shows, best first, and how many match.
async fn find_articles(
    state: &AppState,
    portal: &Portal,
    locale: &str,
    q: &ListQuery,
) -> ApiResult<(Vec<Article>, usize)> {
    let mut conn = state.store.read().await?;
    let mut filter = ArticleFilter {
        locale: Some(locale.to_owned()),
        status: Some(ArticleStatus::Published),
        by_position: true,
        by_views: q.sort.as_deref() == Some("views"),
        ..ArticleFilter::default()
    };
    if let Some(cs) = q.category_slug.as_deref().filter(|s| !s.is_empty()) {
        match store::category_by_slug(&mut conn, portal, locale, cs).await? {
            Some(c) => filter.category_id = Some(c.id),
            None => return Ok((Vec::new(), 0)),
        }
    }
    let query = q.query.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let per_page = q.per_page.map(|p| if p < 1 { 25 } else { p.min(100) });
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let (mut found, ranked) = match query {
        Some(words) => {
            let ranked = ranked_ids(&mut conn, portal, Some(locale), words, MAX_HITS).await?;
            filter.ids = Some(ranked.clone());
            (
                store::list_articles(&mut conn, portal, &filter, 1, MAX_HITS as i64)
                    .await?
                    .0,
                Some(ranked),
            )
        }
        None => (
            store::list_articles(&mut conn, portal, &filter, 1, 1_000)
                .await?
                .0,
            None,
        ),
    };
    if let Some(ranked) = &ranked {
        found.sort_by_key(|a| ranked.iter().position(|id| *id == a.id));
    }
    let total = found.len();
    if let Some(per) = per_page {
        let start = usize::try_from((page - 1) * per).unwrap_or(usize::MAX);
        found = found.into_iter().skip(start).take(per as usize).collect();
    }
    Ok((found, total))
}

async fn public_articles(
    state: &AppState,
    portal: &Portal,
    articles: &[Article],
    query: Option<&str>,
) -> ApiResult<Vec<PublicArticle>> {
    let mut conn = state.store.read().await?;
    let categories = store::list_categories(&mut conn, portal, None).await?;
    let mut author_ids: Vec<i64> = articles.iter().filter_map(|a| a.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = accounts::agents_by_ids(
        &mut conn,
        &AccountScope::system(portal.account_id),
        &author_ids,
    )
    .await?;
    let portal_json = json!({
        "custom_domain": portal.custom_domain,
        "header_text": portal.header_text,
        "homepage_link": portal.homepage_link,
        "name": portal.name,
        "page_title": portal.page_title,
        "slug": portal.slug,
    });
    Ok(articles
        .iter()
        .map(|a| PublicArticle {
            id: a.id,
            category_id: a.category_id,
            title: a.title.clone(),
            content: a.content.clone(),
            description: a.description.clone(),
            status: a.status.as_str(),
            position: a.position,
            account_id: a.account_id,
            last_updated_at: throughline_core::to_unix_seconds(a.updated_at),
            slug: a.slug.clone(),
            views: a.views,
            portal: portal_json.clone(),
            category: a
                .category_id
                .and_then(|id| categories.iter().find(|c| c.id == id))
                .map(|c| json!({"id": c.id, "slug": c.slug, "locale": c.locale, "name": c.name})),
            author: a
                .author_id
                .and_then(|id| authors.iter().find(|u| u.user.id == id))
                .map(|u| {
                    json!({
                        "available_name": u.user.available_name(),
                        "name": u.user.name,
                        "thumbnail": u.user.avatar_url.clone().unwrap_or_default(),
                    })
                }),
            link: format!("hc/{}/articles/{}", portal.slug, a.slug),
            content_html: None,
            highlight: query.map(|q| {
                article_search::snippet_html(
                    &a.locale,
                    q,
                    &markdown::plain_text(&a.content),
                    SNIPPET_CHARS,
                )
            }),
        })
        .collect())
}

/// Public JSON may be read by a widget on any site.
fn public_json<T: Serialize>(body: T) -> Response {
    (
        [
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=30"),
            ),
        ],
        axum::Json(body),
    )
        .into_response()
}

#[utoipa::path(get, path = "/hc/{portal_slug}/{locale}/articles.json", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("locale" = String, Path), ListQuery),
    responses((status = 200, body = PublicArticleList), (status = 404, body = crate::error::ErrorBody)))]
async fn articles_json(
    State(state): State<AppState>,
    Path((slug, locale)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let mut conn = state.store.read().await?;
    let portal = store::public_portal(&mut conn, &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(conn);
    let locale = portal_locale(&portal, &locale).ok_or(ApiError::NotFound)?;
    let (found, total) = find_articles(&state, &portal, &locale, &q).await?;
    let query = q.query.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let payload = public_articles(&state, &portal, &found, query).await?;
    Ok(public_json(PublicArticleList {
        payload,
        meta: json!({"articles_count": total}),
    }))
}

#[utoipa::path(get, path = "/hc/{portal_slug}/{locale}/articles", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("locale" = String, Path), ListQuery),
    responses((status = 200, description = "Search results", content_type = "text/html"),
        (status = 404, description = "No such portal or language", content_type = "text/html")))]
async fn articles(
    State(state): State<AppState>,
    Path((slug, locale)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    respond(
        async {
            let portal = {
                let mut conn = state.store.read().await.map_err(internal)?;
                public_portal(&mut conn, &slug).await?
            };
            let base = base_of(&portal);
            let Some(locale) = portal_locale(&portal, &locale) else {
                return Err(not_found_page(
                    Some((&portal, &base)),
                    &portal.default_locale,
                ));
            };
            let query = q.query.clone().unwrap_or_default();
            let (found, _) = find_articles(&state, &portal, &locale, &q)
                .await
                .map_err(internal)?;
            let snippets: Vec<String> = found
                .iter()
                .map(|a| {
                    let plain = markdown::plain_text(&a.content);
                    if query.trim().is_empty() {
                        pages::esc(&markdown::excerpt(&a.content, SNIPPET_CHARS)).to_string()
                    } else {
                        article_search::snippet_html(&locale, &query, &plain, SNIPPET_CHARS)
                    }
                })
                .collect();
            let hits: Vec<SearchHit<'_>> = found
                .iter()
                .zip(&snippets)
                .map(|(a, s)| SearchHit {
                    title: &a.title,
                    slug: &a.slug,
                    snippet_html: s,
                })
                .collect();
            let origin = origin_of(&state);
            let logo = logo_of(&state, &portal).await;
            Ok(html(
                StatusCode::OK,
                pages::search(
                    &site(&portal, &base, &origin, &locale, logo.as_deref()),
                    &query,
                    &hits,
                ),
            ))
        }
        .await,
    )
}

#[utoipa::path(get, path = "/hc/{portal_slug}/{locale}/categories.json", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("locale" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn categories_json(
    State(state): State<AppState>,
    Path((slug, locale)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut conn = state.store.read().await?;
    let portal = store::public_portal(&mut conn, &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    let locale = portal_locale(&portal, &locale).ok_or(ApiError::NotFound)?;
    let categories = store::list_categories(&mut conn, &portal, Some(&locale)).await?;
    let counts =
        store::category_article_counts(&mut conn, &portal, Some(ArticleStatus::Published)).await?;
    let payload: Vec<Value> = categories
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "slug": c.slug,
                "locale": c.locale,
                "description": c.description,
                "position": c.position,
                "icon": c.icon,
                "related_categories": [],
                "parent_category": c.parent_category_id,
                "root_category": c.associated_category_id,
                "articles_count": counts.get(&c.id).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(public_json(json!({ "payload": payload })))
}

#[utoipa::path(get, path = "/hc/{portal_slug}/{locale}/categories/{category_slug}", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("locale" = String, Path), ("category_slug" = String, Path)),
    responses((status = 200, description = "A category and its articles", content_type = "text/html"),
        (status = 404, description = "No such portal, language or category", content_type = "text/html")))]
async fn category_page(
    State(state): State<AppState>,
    Path((slug, locale, category_slug)): Path<(String, String, String)>,
) -> Response {
    respond(
        async {
            let mut conn = state.store.read().await.map_err(internal)?;
            let portal = public_portal(&mut conn, &slug).await?;
            let base = base_of(&portal);
            let Some(locale) = portal_locale(&portal, &locale) else {
                return Err(not_found_page(
                    Some((&portal, &base)),
                    &portal.default_locale,
                ));
            };
            let Some(category) =
                store::category_by_slug(&mut conn, &portal, &locale, &category_slug)
                    .await
                    .map_err(internal)?
            else {
                return Err(not_found_page(Some((&portal, &base)), &locale));
            };
            let filter = ArticleFilter {
                category_id: Some(category.id),
                status: Some(ArticleStatus::Published),
                by_position: true,
                ..ArticleFilter::default()
            };
            let (found, _) = store::list_articles(&mut conn, &portal, &filter, 1, 1_000)
                .await
                .map_err(internal)?;
            drop(conn);
            let links: Vec<ArticleLink<'_>> = found.iter().map(ArticleLink::from_article).collect();
            let origin = origin_of(&state);
            let logo = logo_of(&state, &portal).await;
            Ok(html(
                StatusCode::OK,
                pages::category(
                    &site(&portal, &base, &origin, &locale, logo.as_deref()),
                    &category,
                    &links,
                ),
            ))
        }
        .await,
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ArticleQuery {
    /// Set after a "was this helpful?" answer: the page thanks instead of asking.
    feedback: Option<String>,
}

#[utoipa::path(get, path = "/hc/{portal_slug}/articles/{article_slug}", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("article_slug" = String, Path, description = "With `.json`, the article as JSON"), ArticleQuery),
    responses((status = 200, description = "The article (HTML, or JSON with `.json`)", content_type = "text/html"),
        (status = 404, description = "No such published article", content_type = "text/html")))]
async fn article(
    State(state): State<AppState>,
    Path((slug, article_slug)): Path<(String, String)>,
    Query(q): Query<ArticleQuery>,
) -> Response {
    respond(
        async {
            let mut conn = state.store.read().await.map_err(internal)?;
            let portal = public_portal(&mut conn, &slug).await?;
            let base = base_of(&portal);
            let (wanted, as_json) = match article_slug.strip_suffix(".json") {
                Some(s) => (s, true),
                None => (article_slug.as_str(), false),
            };
            let Some(article) = store::published_article(&mut conn, &portal, wanted)
                .await
                .map_err(internal)?
            else {
                return Err(if as_json {
                    ApiError::NotFound.into_response()
                } else {
                    not_found_page(Some((&portal, &base)), &portal.default_locale)
                });
            };
            drop(conn);
            if as_json {
                let mut list =
                    public_articles(&state, &portal, std::slice::from_ref(&article), None)
                        .await
                        .map_err(internal)?;
                let mut one = list
                    .pop()
                    .ok_or_else(|| ApiError::NotFound.into_response())?;
                one.content_html = Some(markdown::render(&article.content));
                return Ok(public_json(one));
            }
            let mut tx = state.store.begin().await.map_err(internal)?;
            store::count_view(tx.conn(), &portal, article.id)
                .await
                .map_err(internal)?;
            let family = store::families(tx.conn(), &portal, std::slice::from_ref(&article))
                .await
                .map_err(internal)?;
            let category = match article.category_id {
                Some(id) => store::get_category(tx.conn(), &portal, id).await.ok(),
                None => None,
            };
            tx.commit().await.map_err(internal)?;
            let translations: Vec<Translation<'_>> = family
                .iter()
                .filter(|a| a.status == ArticleStatus::Published)
                .map(|a| Translation {
                    locale: &a.locale,
                    slug: &a.slug,
                })
                .collect();
            let body = markdown::render(&article.content);
            let excerpt = markdown::excerpt(&article.content, 160);
            let origin = origin_of(&state);
            let logo = logo_of(&state, &portal).await;
            let page = ArticlePage {
                article: &article,
                body_html: &body,
                excerpt: Some(&excerpt),
                category: category.as_ref(),
                translations: &translations,
                voted: q.feedback.is_some(),
            };
            Ok(html(
                StatusCode::OK,
                pages::article(
                    &site(&portal, &base, &origin, &article.locale, logo.as_deref()),
                    &page,
                ),
            ))
        }
        .await,
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
struct FeedbackBody {
    /// `yes` or `no` (also `true`/`false`).
    #[schema(value_type = String)]
    helpful: Value,
}

/// A reader's "was this helpful?" (Throughline's; Chatwoot has none). A form post from the
/// article's page is sent back to it; a JSON post (the widget) gets `{}`.
#[utoipa::path(post, path = "/hc/{portal_slug}/articles/{article_slug}/feedback", tag = "Help Center (public)",
    params(("portal_slug" = String, Path), ("article_slug" = String, Path)), request_body = FeedbackBody,
    responses((status = 200, body = Object), (status = 303, description = "Back to the article, thanked"),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, article_slug)): Path<(String, String)>,
    Json(body): Json<FeedbackBody>,
) -> ApiResult<Response> {
    let helpful = match &body.helpful {
        Value::Bool(b) => *b,
        Value::String(s) if matches!(s.as_str(), "yes" | "true" | "1") => true,
        Value::String(s) if matches!(s.as_str(), "no" | "false" | "0") => false,
        _ => {
            return Err(ApiError::invalid(
                "helpful",
                "invalid",
                "helpful must be yes or no",
            ));
        }
    };
    let mut tx = state.store.begin().await?;
    let portal = store::public_portal(tx.conn(), &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    let article = store::published_article(tx.conn(), &portal, &article_slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    store::record_feedback(tx.conn(), &portal, article.id, helpful).await?;
    tx.commit().await?;
    let from_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // The widget posts a form (no CORS preflight from another site's page) and asks for JSON.
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if from_form && !wants_json {
        let back = format!(
            "{}?feedback=thanks",
            pages::article_path(&base_of(&portal), &article.slug)
        );
        return Ok(Redirect::to(&back).into_response());
    }
    Ok(public_json(json!({})))
}

#[utoipa::path(get, path = "/hc/{portal_slug}/sitemap.xml", tag = "Help Center (public)",
    params(("portal_slug" = String, Path)),
    responses((status = 200, description = "The portal's published pages", content_type = "application/xml"),
        (status = 404, body = crate::error::ErrorBody)))]
async fn sitemap(State(state): State<AppState>, Path(slug): Path<String>) -> ApiResult<Response> {
    let mut conn = state.store.read().await?;
    let portal = store::public_portal(&mut conn, &slug)
        .await?
        .ok_or(ApiError::NotFound)?;
    let base = base_of(&portal);
    let filter = ArticleFilter {
        status: Some(ArticleStatus::Published),
        by_position: true,
        ..ArticleFilter::default()
    };
    let (published, _) = store::list_articles(&mut conn, &portal, &filter, 1, 50_000).await?;
    let categories = store::list_categories(&mut conn, &portal, None).await?;
    drop(conn);
    let mut entries: Vec<SitemapEntry> = portal
        .allowed_locales
        .iter()
        .map(|l| SitemapEntry {
            path: pages::home_path(&base, l),
            updated_at_ms: portal.updated_at,
            alternates: Vec::new(),
        })
        .collect();
    // Categories with something to read (the home leaves empty ones out too).
    let filled: std::collections::HashSet<i64> =
        published.iter().filter_map(|a| a.category_id).collect();
    entries.extend(
        categories
            .iter()
            .filter(|c| filled.contains(&c.id))
            .map(|c| SitemapEntry {
                path: pages::category_path(&base, &c.locale, &c.slug),
                updated_at_ms: c.updated_at,
                alternates: Vec::new(),
            }),
    );
    for a in &published {
        let root = a.associated_article_id.unwrap_or(a.id);
        let family: Vec<(String, String)> = published
            .iter()
            .filter(|o| o.id == root || o.associated_article_id == Some(root))
            .map(|o| (o.locale.clone(), pages::article_path(&base, &o.slug)))
            .collect();
        entries.push(SitemapEntry {
            path: pages::article_path(&base, &a.slug),
            updated_at_ms: a.updated_at,
            alternates: if family.len() > 1 { family } else { Vec::new() },
        });
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        )],
        pages::sitemap(&origin_of(&state), &entries),
    )
        .into_response())
}
