//! The help center's portals, categories and articles (Chatwoot's knowledge base), and what
//! the public pages read of them. Every account-side read and write is scoped to the account;
//! the public reads take a portal already found by its slug or domain and return only what is
//! published.

use std::collections::HashMap;

use serde_json::Value;
use throughline_core::help_center::{
    Article, ArticleStatus, Category, Portal, faq_bot, markdown, search as article_search,
};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;

// ---------------------------------------------------------------------------------------------
// Portals

const PORTAL_COLUMNS: &str = "id, account_id, name, slug, color, custom_domain, header_text, \
     homepage_link, page_title, archived, default_locale, allowed_locales, inbox_id, \
     logo_upload_id, created_at, updated_at";

fn portal(row: &sqlx::any::AnyRow) -> Result<Portal> {
    let allowed_locales: Vec<String> = serde_json::from_value(row.json("allowed_locales")?)
        .map_err(|e| StoreError::Corrupt(format!("portal allowed_locales: {e}")))?;
    Ok(Portal {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        name: row.text("name")?,
        slug: row.text("slug")?,
        color: row.opt_text("color")?,
        custom_domain: row.opt_text("custom_domain")?,
        header_text: row.opt_text("header_text")?,
        homepage_link: row.opt_text("homepage_link")?,
        page_title: row.opt_text("page_title")?,
        archived: row.flag("archived")?,
        default_locale: row.text("default_locale")?,
        allowed_locales,
        inbox_id: row.opt_int("inbox_id")?,
        logo_upload_id: row.opt_int("logo_upload_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// A portal's fields as an administrator writes them (already checked).
#[derive(Clone, Debug)]
pub struct PortalFields {
    pub name: String,
    pub slug: String,
    pub color: Option<String>,
    pub custom_domain: Option<String>,
    pub header_text: Option<String>,
    pub homepage_link: Option<String>,
    pub page_title: Option<String>,
    pub archived: bool,
    pub default_locale: String,
    pub allowed_locales: Vec<String>,
    pub inbox_id: Option<i64>,
    /// One of the account's uploads (the caller checks it is).
    pub logo_upload_id: Option<i64>,
}

impl From<&Portal> for PortalFields {
    fn from(p: &Portal) -> Self {
        Self {
            name: p.name.clone(),
            slug: p.slug.clone(),
            color: p.color.clone(),
            custom_domain: p.custom_domain.clone(),
            header_text: p.header_text.clone(),
            homepage_link: p.homepage_link.clone(),
            page_title: p.page_title.clone(),
            archived: p.archived,
            default_locale: p.default_locale.clone(),
            allowed_locales: p.allowed_locales.clone(),
            inbox_id: p.inbox_id,
            logo_upload_id: p.logo_upload_id,
        }
    }
}

pub async fn list_portals(conn: &mut Conn, scope: &AccountScope) -> Result<Vec<Portal>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PORTAL_COLUMNS} FROM portals WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(portal).collect()
}

/// The account's portal called `slug` (Chatwoot's paths name portals by slug).
pub async fn portal_by_slug(conn: &mut Conn, scope: &AccountScope, slug: &str) -> Result<Portal> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PORTAL_COLUMNS} FROM portals WHERE account_id = $1 AND slug = $2"
    )))
    .bind(scope.account_id())
    .bind(slug)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    portal(&row)
}

pub async fn create_portal(
    conn: &mut Conn,
    scope: &AccountScope,
    f: &PortalFields,
) -> Result<Portal> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO portals (account_id, name, slug, color, custom_domain, header_text, \
           homepage_link, page_title, archived, default_locale, allowed_locales, inbox_id, \
           logo_upload_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         RETURNING {PORTAL_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&f.name)
    .bind(&f.slug)
    .bind(f.color.as_deref())
    .bind(f.custom_domain.as_deref())
    .bind(f.header_text.as_deref())
    .bind(f.homepage_link.as_deref())
    .bind(f.page_title.as_deref())
    .bind(f.archived)
    .bind(&f.default_locale)
    .bind(serde_json::json!(f.allowed_locales).to_string())
    .bind(f.inbox_id)
    .bind(f.logo_upload_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    portal(&row)
}

pub async fn update_portal(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    f: &PortalFields,
) -> Result<Portal> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE portals SET name = $3, slug = $4, color = $5, custom_domain = $6, \
           header_text = $7, homepage_link = $8, page_title = $9, archived = $10, \
           default_locale = $11, allowed_locales = $12, inbox_id = $13, updated_at = $14, \
           logo_upload_id = $15 \
         WHERE account_id = $1 AND id = $2 RETURNING {PORTAL_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(&f.name)
    .bind(&f.slug)
    .bind(f.color.as_deref())
    .bind(f.custom_domain.as_deref())
    .bind(f.header_text.as_deref())
    .bind(f.homepage_link.as_deref())
    .bind(f.page_title.as_deref())
    .bind(f.archived)
    .bind(&f.default_locale)
    .bind(serde_json::json!(f.allowed_locales).to_string())
    .bind(f.inbox_id)
    .bind(now_ms())
    .bind(f.logo_upload_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    portal(&row)
}

/// Deletes a portal with its categories and articles.
pub async fn delete_portal(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM portals WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The portal public at `/hc/{slug}` (not archived), whichever account it is of.
pub async fn public_portal(conn: &mut Conn, slug: &str) -> Result<Option<Portal>> {
    public_portal_where(conn, "slug", slug).await
}

/// The portal served on `host` (its custom domain, lower case, no port).
pub async fn portal_by_domain(conn: &mut Conn, host: &str) -> Result<Option<Portal>> {
    public_portal_where(conn, "custom_domain", host).await
}

async fn public_portal_where(conn: &mut Conn, column: &str, value: &str) -> Result<Option<Portal>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PORTAL_COLUMNS} FROM portals WHERE {column} = $1 AND archived = $2"
    )))
    .bind(value)
    .bind(false)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(portal).transpose()
}

/// The public portal a website inbox's widget shows (the first, should several name it).
pub async fn portal_of_inbox(
    conn: &mut Conn,
    inbox: &throughline_core::model::Inbox,
) -> Result<Option<Portal>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PORTAL_COLUMNS} FROM portals \
         WHERE account_id = $1 AND inbox_id = $2 AND archived = $3 ORDER BY id LIMIT 1"
    )))
    .bind(inbox.account_id)
    .bind(inbox.id)
    .bind(false)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(portal).transpose()
}

/// How many articles a portal holds, by state (Chatwoot's portal and article-list `meta`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleCounts {
    pub all: i64,
    pub published: i64,
    pub draft: i64,
    pub archived: i64,
    /// Written by the user asking.
    pub mine: i64,
}

/// The portal's article counts, of one locale or all; `mine` counts `user_id`'s.
pub async fn article_counts(
    conn: &mut Conn,
    portal: &Portal,
    locale: Option<&str>,
    user_id: Option<i64>,
) -> Result<ArticleCounts> {
    let mut q = SqlBuilder::new(
        "SELECT status, author_id, COUNT(*) AS n FROM portal_articles WHERE account_id = ",
    );
    q.bind(portal.account_id)
        .push(" AND portal_id = ")
        .bind(portal.id);
    if let Some(l) = locale {
        q.push(" AND locale = ").bind(l);
    }
    q.push(" GROUP BY status, author_id");
    let rows = q.build().fetch_all(conn).await?;
    let mut c = ArticleCounts::default();
    for r in &rows {
        let n = r.int("n")?;
        c.all += n;
        match ArticleStatus::parse(&r.text("status")?) {
            Some(ArticleStatus::Published) => c.published += n,
            Some(ArticleStatus::Draft) => c.draft += n,
            Some(ArticleStatus::Archived) => c.archived += n,
            None => {}
        }
        if user_id.is_some() && r.opt_int("author_id")? == user_id {
            c.mine += n;
        }
    }
    Ok(c)
}

/// Per locale of the portal: its articles and its categories (Chatwoot's `allowed_locales`
/// objects).
pub async fn locale_counts(
    conn: &mut Conn,
    portal: &Portal,
) -> Result<HashMap<String, (i64, i64)>> {
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for (table, slot) in [("portal_articles", 0), ("portal_categories", 1)] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT locale, COUNT(*) AS n FROM {table} WHERE account_id = $1 AND portal_id = $2 \
             GROUP BY locale"
        )))
        .bind(portal.account_id)
        .bind(portal.id)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            let entry = out.entry(r.text("locale")?).or_default();
            if slot == 0 {
                entry.0 = r.int("n")?;
            } else {
                entry.1 = r.int("n")?;
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Categories

const CATEGORY_COLUMNS: &str = "id, account_id, portal_id, name, slug, locale, description, \
     icon, position, parent_category_id, associated_category_id, created_at, updated_at";

fn category(row: &sqlx::any::AnyRow) -> Result<Category> {
    Ok(Category {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        portal_id: row.int("portal_id")?,
        name: row.text("name")?,
        slug: row.text("slug")?,
        locale: row.text("locale")?,
        description: row.opt_text("description")?,
        icon: row.opt_text("icon")?,
        position: row.int("position")?,
        parent_category_id: row.opt_int("parent_category_id")?,
        associated_category_id: row.opt_int("associated_category_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// A category's fields as an administrator writes them (already checked).
#[derive(Clone, Debug)]
pub struct CategoryFields {
    pub name: String,
    pub slug: String,
    pub locale: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub position: i64,
    pub parent_category_id: Option<i64>,
    pub associated_category_id: Option<i64>,
}

impl From<&Category> for CategoryFields {
    fn from(c: &Category) -> Self {
        Self {
            name: c.name.clone(),
            slug: c.slug.clone(),
            locale: c.locale.clone(),
            description: c.description.clone(),
            icon: c.icon.clone(),
            position: c.position,
            parent_category_id: c.parent_category_id,
            associated_category_id: c.associated_category_id,
        }
    }
}

/// The portal's categories, of one locale or all, by position.
pub async fn list_categories(
    conn: &mut Conn,
    portal: &Portal,
    locale: Option<&str>,
) -> Result<Vec<Category>> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM portal_categories WHERE account_id = "
    ));
    q.bind(portal.account_id)
        .push(" AND portal_id = ")
        .bind(portal.id);
    if let Some(l) = locale {
        q.push(" AND locale = ").bind(l);
    }
    q.push(" ORDER BY position, id");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(category).collect()
}

pub async fn get_category(conn: &mut Conn, portal: &Portal, id: i64) -> Result<Category> {
    category(&one_in_portal(conn, "portal_categories", CATEGORY_COLUMNS, portal, id).await?)
}

pub async fn category_by_slug(
    conn: &mut Conn,
    portal: &Portal,
    locale: &str,
    slug: &str,
) -> Result<Option<Category>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CATEGORY_COLUMNS} FROM portal_categories \
         WHERE account_id = $1 AND portal_id = $2 AND locale = $3 AND slug = $4"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(locale)
    .bind(slug)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(category).transpose()
}

/// The next position at the end of a list (Chatwoot: the largest plus ten).
async fn next_position(conn: &mut Conn, table: &str, portal: &Portal) -> Result<i64> {
    let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT MAX(position) FROM {table} WHERE account_id = $1 AND portal_id = $2"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .fetch_one(conn)
    .await?;
    Ok(max.unwrap_or(0) + 10)
}

/// `position` as given, or after the last.
pub async fn category_position(conn: &mut Conn, portal: &Portal) -> Result<i64> {
    next_position(conn, "portal_categories", portal).await
}

pub async fn create_category(
    conn: &mut Conn,
    portal: &Portal,
    f: &CategoryFields,
) -> Result<Category> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO portal_categories (account_id, portal_id, name, slug, locale, description, \
           icon, position, parent_category_id, associated_category_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {CATEGORY_COLUMNS}"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(&f.name)
    .bind(&f.slug)
    .bind(&f.locale)
    .bind(f.description.as_deref())
    .bind(f.icon.as_deref())
    .bind(f.position)
    .bind(f.parent_category_id)
    .bind(f.associated_category_id)
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    category(&row)
}

pub async fn update_category(
    conn: &mut Conn,
    portal: &Portal,
    id: i64,
    f: &CategoryFields,
) -> Result<Category> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE portal_categories SET name = $4, slug = $5, locale = $6, description = $7, \
           icon = $8, position = $9, parent_category_id = $10, associated_category_id = $11, \
           updated_at = $12 \
         WHERE account_id = $1 AND portal_id = $2 AND id = $3 RETURNING {CATEGORY_COLUMNS}"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(id)
    .bind(&f.name)
    .bind(&f.slug)
    .bind(&f.locale)
    .bind(f.description.as_deref())
    .bind(f.icon.as_deref())
    .bind(f.position)
    .bind(f.parent_category_id)
    .bind(f.associated_category_id)
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    category(&row)
}

/// Deletes a category; its articles stay, without a category.
pub async fn delete_category(conn: &mut Conn, portal: &Portal, id: i64) -> Result<()> {
    delete_in_portal(conn, "portal_categories", portal, id).await
}

/// Deletes the row `id` of the portal from `table` (categories, articles).
async fn delete_in_portal(conn: &mut Conn, table: &str, portal: &Portal, id: i64) -> Result<()> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE account_id = $1 AND portal_id = $2 AND id = $3"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The row `id` of the portal in `table`, with `columns`.
async fn one_in_portal(
    conn: &mut Conn,
    table: &str,
    columns: &str,
    portal: &Portal,
    id: i64,
) -> Result<sqlx::any::AnyRow> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM {table} WHERE account_id = $1 AND portal_id = $2 AND id = $3"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Articles per category of the portal, counting only `status` when given.
pub async fn category_article_counts(
    conn: &mut Conn,
    portal: &Portal,
    status: Option<ArticleStatus>,
) -> Result<HashMap<i64, i64>> {
    let mut q = SqlBuilder::new(
        "SELECT category_id, COUNT(*) AS n FROM portal_articles WHERE account_id = ",
    );
    q.bind(portal.account_id)
        .push(" AND portal_id = ")
        .bind(portal.id)
        .push(" AND category_id IS NOT NULL");
    if let Some(s) = status {
        q.push(" AND status = ").bind(s.as_str());
    }
    q.push(" GROUP BY category_id");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.int("category_id")?, r.int("n")?)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Articles

pub(crate) const ARTICLE_COLUMNS: &str = "id, account_id, portal_id, category_id, title, slug, content, \
     description, status, position, locale, author_id, associated_article_id, meta, views, \
     helpful_yes, helpful_no, created_at, updated_at";

pub(crate) fn article(row: &sqlx::any::AnyRow) -> Result<Article> {
    Ok(Article {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        portal_id: row.int("portal_id")?,
        category_id: row.opt_int("category_id")?,
        title: row.text("title")?,
        slug: row.text("slug")?,
        content: row.text("content")?,
        description: row.opt_text("description")?,
        status: row.parsed("status", ArticleStatus::parse)?,
        position: row.int("position")?,
        locale: row.text("locale")?,
        author_id: row.opt_int("author_id")?,
        associated_article_id: row.opt_int("associated_article_id")?,
        meta: row.json("meta")?,
        views: row.int("views")?,
        helpful_yes: row.int("helpful_yes")?,
        helpful_no: row.int("helpful_no")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// An article's fields as an author writes them (already checked).
#[derive(Clone, Debug)]
pub struct ArticleFields {
    pub title: String,
    pub slug: String,
    pub content: String,
    pub description: Option<String>,
    pub status: ArticleStatus,
    pub position: i64,
    pub locale: String,
    pub category_id: Option<i64>,
    pub author_id: Option<i64>,
    pub associated_article_id: Option<i64>,
    pub meta: Value,
}

impl From<&Article> for ArticleFields {
    fn from(a: &Article) -> Self {
        Self {
            title: a.title.clone(),
            slug: a.slug.clone(),
            content: a.content.clone(),
            description: a.description.clone(),
            status: a.status,
            position: a.position,
            locale: a.locale.clone(),
            category_id: a.category_id,
            author_id: a.author_id,
            associated_article_id: a.associated_article_id,
            meta: a.meta.clone(),
        }
    }
}

/// What search reads of an article, analysed once when it is written.
fn search_index(f: &ArticleFields) -> String {
    article_search::index(
        &f.locale,
        &f.title,
        f.description.as_deref().unwrap_or(""),
        &markdown::plain_text(&f.content),
    )
    .to_stored()
}

/// `position` after the portal's last article.
pub async fn article_position(conn: &mut Conn, portal: &Portal) -> Result<i64> {
    next_position(conn, "portal_articles", portal).await
}

/// Whether another article of the portal than `except` is called `slug`.
pub async fn article_slug_taken(
    conn: &mut Conn,
    portal: &Portal,
    slug: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM portal_articles WHERE account_id = $1 AND portal_id = $2 AND slug = $3",
    )
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(slug)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some_and(|id| Some(id) != except))
}

pub async fn create_article(
    conn: &mut Conn,
    portal: &Portal,
    f: &ArticleFields,
) -> Result<Article> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO portal_articles (account_id, portal_id, category_id, title, slug, content, \
           description, status, position, locale, author_id, associated_article_id, meta, \
           search_index, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         RETURNING {ARTICLE_COLUMNS}"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(f.category_id)
    .bind(&f.title)
    .bind(&f.slug)
    .bind(&f.content)
    .bind(f.description.as_deref())
    .bind(f.status.as_str())
    .bind(f.position)
    .bind(&f.locale)
    .bind(f.author_id)
    .bind(f.associated_article_id)
    .bind(f.meta.to_string())
    .bind(search_index(f))
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    article(&row)
}

pub async fn update_article(
    conn: &mut Conn,
    portal: &Portal,
    id: i64,
    f: &ArticleFields,
) -> Result<Article> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE portal_articles SET category_id = $4, title = $5, slug = $6, content = $7, \
           description = $8, status = $9, position = $10, locale = $11, author_id = $12, \
           associated_article_id = $13, meta = $14, search_index = $15, updated_at = $16 \
         WHERE account_id = $1 AND portal_id = $2 AND id = $3 RETURNING {ARTICLE_COLUMNS}"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(id)
    .bind(f.category_id)
    .bind(&f.title)
    .bind(&f.slug)
    .bind(&f.content)
    .bind(f.description.as_deref())
    .bind(f.status.as_str())
    .bind(f.position)
    .bind(&f.locale)
    .bind(f.author_id)
    .bind(f.associated_article_id)
    .bind(f.meta.to_string())
    .bind(search_index(f))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    article(&row)
}

pub async fn get_article(conn: &mut Conn, portal: &Portal, id: i64) -> Result<Article> {
    article(&one_in_portal(conn, "portal_articles", ARTICLE_COLUMNS, portal, id).await?)
}

pub async fn delete_article(conn: &mut Conn, portal: &Portal, id: i64) -> Result<()> {
    delete_in_portal(conn, "portal_articles", portal, id).await
}

/// Gives each listed article of the portal its new position (Chatwoot's `reorder`); ids of
/// other portals are ignored.
pub async fn reorder_articles(
    conn: &mut Conn,
    portal: &Portal,
    positions: &[(i64, i64)],
) -> Result<()> {
    for (id, position) in positions {
        sqlx::query(
            "UPDATE portal_articles SET position = $4 \
             WHERE account_id = $1 AND portal_id = $2 AND id = $3",
        )
        .bind(portal.account_id)
        .bind(portal.id)
        .bind(*id)
        .bind(*position)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Which of the portal's articles a list shows.
#[derive(Clone, Debug, Default)]
pub struct ArticleFilter {
    pub locale: Option<String>,
    pub category_id: Option<i64>,
    pub status: Option<ArticleStatus>,
    pub author_id: Option<i64>,
    /// Only these (the hits of a search, in any order).
    pub ids: Option<Vec<i64>>,
    /// By position (a category's list, the public pages) rather than the latest change first.
    pub by_position: bool,
    /// By views, most read first (the widget's popular articles).
    pub by_views: bool,
}

/// ` WHERE …` for the portal's articles `filter` lets through.
fn push_article_filter(q: &mut SqlBuilder, portal: &Portal, filter: &ArticleFilter) {
    q.push(" WHERE account_id = ")
        .bind(portal.account_id)
        .push(" AND portal_id = ")
        .bind(portal.id);
    if let Some(l) = &filter.locale {
        q.push(" AND locale = ").bind(l.as_str());
    }
    if let Some(c) = filter.category_id {
        q.push(" AND category_id = ").bind(c);
    }
    if let Some(s) = filter.status {
        q.push(" AND status = ").bind(s.as_str());
    }
    if let Some(a) = filter.author_id {
        q.push(" AND author_id = ").bind(a);
    }
    if let Some(ids) = &filter.ids {
        q.push(" AND id IN ").bind_list(ids);
    }
}

/// One page of the portal's articles and how many match in all.
pub async fn list_articles(
    conn: &mut Conn,
    portal: &Portal,
    filter: &ArticleFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Article>, i64)> {
    let mut count = SqlBuilder::new("SELECT COUNT(*) AS n FROM portal_articles");
    push_article_filter(&mut count, portal, filter);
    let total = count.build().fetch_one(&mut *conn).await?.int("n")?;
    let mut q = SqlBuilder::new(&format!("SELECT {ARTICLE_COLUMNS} FROM portal_articles"));
    push_article_filter(&mut q, portal, filter);
    q.push(if filter.by_views {
        " ORDER BY views DESC, position, id"
    } else if filter.by_position {
        " ORDER BY position, id"
    } else {
        " ORDER BY updated_at DESC, id DESC"
    });
    q.push(" LIMIT ")
        .bind(per_page)
        .push(" OFFSET ")
        .bind((page.max(1) - 1) * per_page);
    let rows = q.build().fetch_all(conn).await?;
    Ok((rows.iter().map(article).collect::<Result<_>>()?, total))
}

/// The article public at `/hc/{portal}/articles/{slug}`: published only.
pub async fn published_article(
    conn: &mut Conn,
    portal: &Portal,
    slug: &str,
) -> Result<Option<Article>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ARTICLE_COLUMNS} FROM portal_articles \
         WHERE account_id = $1 AND portal_id = $2 AND slug = $3 AND status = 'published'"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(slug)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(article).transpose()
}

/// The root an article's translations hang on (itself when it translates none).
pub fn root_of(a: &Article) -> i64 {
    a.associated_article_id.unwrap_or(a.id)
}

/// Every article sharing a root with one of `members` (their translations), themselves
/// included, by locale: one query for a whole page of articles.
pub async fn families(
    conn: &mut Conn,
    portal: &Portal,
    members: &[Article],
) -> Result<Vec<Article>> {
    let mut roots: Vec<i64> = members.iter().map(root_of).collect();
    roots.sort_unstable();
    roots.dedup();
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = SqlBuilder::new(&format!(
        "SELECT {ARTICLE_COLUMNS} FROM portal_articles WHERE account_id = "
    ));
    q.bind(portal.account_id)
        .push(" AND portal_id = ")
        .bind(portal.id)
        .push(" AND (id IN ")
        .bind_list(&roots)
        .push(" OR associated_article_id IN ")
        .bind_list(&roots)
        .push(") ORDER BY locale, id");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(article).collect()
}

/// What search ranks of the portal's published articles in `locale`: id, analysed words, views.
pub async fn search_candidates(
    conn: &mut Conn,
    portal: &Portal,
    locale: &str,
) -> Result<Vec<(i64, article_search::Indexed, i64)>> {
    let rows = sqlx::query(
        "SELECT id, search_index, views FROM portal_articles \
         WHERE account_id = $1 AND portal_id = $2 AND locale = $3 AND status = 'published'",
    )
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(locale)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = r.int("id")?;
        let indexed = article_search::Indexed::from_stored(&r.text("search_index")?)
            .ok_or_else(|| StoreError::Corrupt(format!("article {id}: search_index")))?;
        out.push((id, indexed, r.int("views")?));
    }
    Ok(out)
}

/// The portal's published articles in `locale` that answer `query`, best first (at most
/// `limit`), ranked by core's article search over their stored words.
pub async fn search(
    conn: &mut Conn,
    portal: &Portal,
    locale: &str,
    query: &str,
    limit: usize,
) -> Result<Vec<article_search::Hit>> {
    let stored = search_candidates(conn, portal, locale).await?;
    let candidates: Vec<article_search::Candidate<'_>> = stored
        .iter()
        .map(|(id, indexed, views)| article_search::Candidate {
            id: *id,
            indexed,
            views: *views,
        })
        .collect();
    Ok(article_search::rank(locale, query, &candidates, limit))
}

/// Counts a reader of a published article (Chatwoot's `views`; `updated_at` is left alone).
pub async fn count_view(conn: &mut Conn, portal: &Portal, article_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE portal_articles SET views = views + 1 \
         WHERE account_id = $1 AND portal_id = $2 AND id = $3 AND status = 'published'",
    )
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(article_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A reader's "was this helpful?" answer on a published article.
pub async fn record_feedback(
    conn: &mut Conn,
    portal: &Portal,
    article_id: i64,
    helpful: bool,
) -> Result<()> {
    let column = if helpful { "helpful_yes" } else { "helpful_no" };
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE portal_articles SET {column} = {column} + 1 \
         WHERE account_id = $1 AND portal_id = $2 AND id = $3 AND status = 'published'"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(article_id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The FAQ bot

/// What the FAQ bot remembers of a conversation (nothing yet: the default).
pub async fn faq_state(conn: &mut Conn, conversation_id: i64) -> Result<faq_bot::State> {
    let row = sqlx::query(
        "SELECT awaiting_article_id, misses FROM faq_bot_states WHERE conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => faq_bot::State {
            awaiting: r.opt_int("awaiting_article_id")?,
            misses: u32::try_from(r.int("misses")?).unwrap_or(u32::MAX),
        },
        None => faq_bot::State::default(),
    })
}

pub async fn save_faq_state(
    conn: &mut Conn,
    account_id: i64,
    conversation_id: i64,
    state: faq_bot::State,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO faq_bot_states (conversation_id, account_id, awaiting_article_id, misses, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (conversation_id) DO UPDATE SET awaiting_article_id = $3, misses = $4, updated_at = $5",
    )
    .bind(conversation_id)
    .bind(account_id)
    .bind(state.awaiting)
    .bind(i64::from(state.misses))
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A published article of the portal by id (what the FAQ bot answers with).
pub async fn published_by_id(conn: &mut Conn, portal: &Portal, id: i64) -> Result<Option<Article>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ARTICLE_COLUMNS} FROM portal_articles \
         WHERE account_id = $1 AND portal_id = $2 AND id = $3 AND status = 'published'"
    )))
    .bind(portal.account_id)
    .bind(portal.id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(article).transpose()
}
