//! The help center's JSON as Chatwoot's jbuilder views shape it (`portals/_portal`,
//! `categories/_category`, `articles/_article`), with Throughline's additions marked.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};
use throughline_core::help_center::{Article, Category, Portal};
use throughline_core::to_unix_seconds;
use throughline_core::views::AgentView;
use throughline_store::help_center::{self as store, ArticleCounts};
use throughline_store::{AccountScope, accounts};

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PortalView {
    id: i64,
    account_id: i64,
    name: String,
    slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_title: Option<String>,
    archived: bool,
    /// `default_locale`, and `allowed_locales` as objects with their counts.
    #[schema(value_type = Object)]
    config: Value,
    /// The website inbox whose widget shows the portal (Chatwoot nests the inbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox_id: Option<i64>,
    /// `{id, portal_id, file_type, account_id, file_url, blob_id, filename}` when the portal
    /// has a logo.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    logo: Option<Value>,
    #[schema(value_type = Object)]
    meta: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PortalList {
    pub payload: Vec<PortalView>,
    #[schema(value_type = Object)]
    pub meta: Value,
}

pub(crate) fn portal(
    p: &Portal,
    counts: &ArticleCounts,
    per_locale: &HashMap<String, (i64, i64)>,
    categories: i64,
    logo: Option<Value>,
) -> PortalView {
    let allowed: Vec<Value> = p
        .allowed_locales
        .iter()
        .map(|code| {
            let (articles, categories) = per_locale.get(code).copied().unwrap_or_default();
            json!({"code": code, "articles_count": articles, "categories_count": categories})
        })
        .collect();
    PortalView {
        id: p.id,
        account_id: p.account_id,
        name: p.name.clone(),
        slug: p.slug.clone(),
        color: p.color.clone(),
        custom_domain: p.custom_domain.clone(),
        header_text: p.header_text.clone(),
        homepage_link: p.homepage_link.clone(),
        page_title: p.page_title.clone(),
        archived: p.archived,
        config: json!({"default_locale": p.default_locale, "allowed_locales": allowed}),
        inbox_id: p.inbox_id,
        logo,
        meta: json!({
            "all_articles_count": counts.all,
            "archived_articles_count": counts.archived,
            "published_count": counts.published,
            "draft_articles_count": counts.draft,
            "mine_articles_count": counts.mine,
            "categories_count": categories,
            "default_locale": p.default_locale,
        }),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CategoryView {
    id: i64,
    name: String,
    slug: String,
    locale: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    position: i64,
    account_id: i64,
    portal_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_category_id: Option<i64>,
    /// The category this one translates.
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_category_id: Option<i64>,
    #[schema(value_type = Vec<Object>)]
    related_categories: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_category: Option<Value>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    root_category: Option<Value>,
    #[schema(value_type = Object)]
    meta: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CategoryList {
    pub payload: Vec<CategoryView>,
    #[schema(value_type = Object)]
    pub meta: Value,
}

fn category_ref(c: &Category) -> Value {
    json!({"id": c.id, "name": c.name, "slug": c.slug, "locale": c.locale})
}

/// `c` with its parent and the root of its translations found among `all` (its portal's).
pub(crate) fn category(c: &Category, all: &[Category], articles: i64) -> CategoryView {
    let find = |id: Option<i64>| id.and_then(|id| all.iter().find(|o| o.id == id));
    CategoryView {
        id: c.id,
        name: c.name.clone(),
        slug: c.slug.clone(),
        locale: c.locale.clone(),
        description: c.description.clone(),
        position: c.position,
        account_id: c.account_id,
        portal_id: c.portal_id,
        icon: c.icon.clone(),
        parent_category_id: c.parent_category_id,
        associated_category_id: c.associated_category_id,
        related_categories: Vec::new(),
        parent_category: find(c.parent_category_id).map(category_ref),
        root_category: find(c.associated_category_id).map(category_ref),
        meta: json!({"articles_count": articles}),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ArticleView {
    id: i64,
    slug: String,
    title: String,
    /// Markdown.
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// draft, published or archived.
    status: &'static str,
    position: i64,
    account_id: i64,
    portal_id: i64,
    /// Unix seconds.
    updated_at: i64,
    #[schema(value_type = Object)]
    meta: Value,
    locale: String,
    /// The root of the article's translations.
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_article_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author_id: Option<i64>,
    views: i64,
    /// Throughline: readers' "was this helpful?" answers.
    helpful_yes: i64,
    helpful_no: i64,
    #[schema(value_type = Option<Object>)]
    category: Option<Value>,
    author: Option<AgentView>,
    /// The article's translations (its family but itself).
    #[schema(value_type = Vec<Object>)]
    associated_articles: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    root_article: Option<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ArticleList {
    pub payload: Vec<ArticleView>,
    #[schema(value_type = Object)]
    pub meta: Value,
}

fn article_ref(a: &Article) -> Value {
    json!({"id": a.id, "title": a.title, "slug": a.slug, "locale": a.locale, "status": a.status.as_str()})
}

/// The views of `articles` of `portal`, with their categories, authors and translations.
pub(crate) async fn articles(
    state: &AppState,
    scope: &AccountScope,
    portal: &Portal,
    articles: &[Article],
) -> ApiResult<Vec<ArticleView>> {
    let mut conn = state.store.read().await?;
    let categories = store::list_categories(&mut conn, portal, None).await?;
    let mut author_ids: Vec<i64> = articles.iter().filter_map(|a| a.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors = accounts::agents_by_ids(&mut conn, scope, &author_ids).await?;
    let relatives = store::families(&mut conn, portal, articles).await?;
    let mut out = Vec::with_capacity(articles.len());
    for a in articles {
        let family: Vec<&Article> = relatives
            .iter()
            .filter(|r| store::root_of(r) == store::root_of(a))
            .collect();
        let root = a
            .associated_article_id
            .and_then(|id| family.iter().find(|f| f.id == id));
        out.push(ArticleView {
            id: a.id,
            slug: a.slug.clone(),
            title: a.title.clone(),
            content: a.content.clone(),
            description: a.description.clone(),
            status: a.status.as_str(),
            position: a.position,
            account_id: a.account_id,
            portal_id: a.portal_id,
            updated_at: to_unix_seconds(a.updated_at),
            meta: a.meta.clone(),
            locale: a.locale.clone(),
            associated_article_id: a.associated_article_id,
            category_id: a.category_id,
            author_id: a.author_id,
            views: a.views,
            helpful_yes: a.helpful_yes,
            helpful_no: a.helpful_no,
            category: a
                .category_id
                .and_then(|id| categories.iter().find(|c| c.id == id))
                .map(category_ref),
            author: a
                .author_id
                .and_then(|id| authors.iter().find(|u| u.user.id == id))
                .map(AgentView::from),
            associated_articles: family
                .iter()
                .filter(|f| f.id != a.id)
                .map(|f| article_ref(f))
                .collect(),
            root_article: root.map(|r| article_ref(r)),
        });
    }
    Ok(out)
}
