//! The AI assistant's records: Chatwoot's integration hooks (the `openai` one holds the model's
//! endpoint; its key sealed apart from the settings) and the embeddings of help-center articles
//! for semantic search, each remembering the version of the article it was computed from.

use throughline_core::assistant::AssistantSettings;
use throughline_core::assistant::settings::KeyChange;
use throughline_core::crypto::ServerKey;
use throughline_core::help_center::Article;

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::help_center::{ARTICLE_COLUMNS, article};
use crate::rows::RowExt;
use crate::scope::AccountScope;

/// One integration hook (Chatwoot's `Integrations::Hook`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub id: i64,
    pub account_id: i64,
    pub app_id: String,
    pub inbox_id: Option<i64>,
    pub enabled: bool,
    pub settings: AssistantSettings,
    /// The provider's key, unsealed (never shown to anyone).
    pub api_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const HOOK_COLUMNS: &str =
    "id, account_id, app_id, inbox_id, status, settings, api_key_sealed, created_at, updated_at";

fn hook(row: &sqlx::any::AnyRow, key: &ServerKey) -> Result<Hook> {
    let settings = serde_json::from_str(&row.text("settings")?)
        .map_err(|e| StoreError::Corrupt(format!("integration hook settings: {e}")))?;
    let api_key = row
        .opt_text("api_key_sealed")?
        .map(|sealed| {
            key.unseal(&sealed)
                .map_err(|e| StoreError::Corrupt(format!("integration hook key: {e}")))
        })
        .transpose()?;
    Ok(Hook {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        app_id: row.text("app_id")?,
        inbox_id: row.opt_int("inbox_id")?,
        enabled: row.text("status")? == "enabled",
        settings,
        api_key,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn settings_json(settings: &AssistantSettings) -> Result<String> {
    serde_json::to_string(settings)
        .map_err(|e| StoreError::Corrupt(format!("integration hook settings: {e}")))
}

fn status(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

/// The account's hooks, oldest first.
pub async fn hooks(conn: &mut Conn, key: &ServerKey, scope: &AccountScope) -> Result<Vec<Hook>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLUMNS} FROM integration_hooks WHERE account_id = $1 ORDER BY id"
    )))
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| hook(r, key)).collect()
}

pub async fn get_hook(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
) -> Result<Hook> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLUMNS} FROM integration_hooks WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    hook(&row, key)
}

/// The account's hook of `app_id`, enabled or not.
pub async fn hook_of_app(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    app_id: &str,
) -> Result<Option<Hook>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLUMNS} FROM integration_hooks WHERE account_id = $1 AND app_id = $2"
    )))
    .bind(scope.account_id())
    .bind(app_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| hook(&r, key)).transpose()
}

/// A new hook; a second one of the same app in the account is a `Conflict` on `app_id`.
pub async fn create_hook(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    app_id: &str,
    enabled: bool,
    settings: &AssistantSettings,
    api_key: Option<&str>,
) -> Result<Hook> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO integration_hooks (account_id, app_id, status, settings, api_key_sealed, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {HOOK_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(app_id)
    .bind(status(enabled))
    .bind(settings_json(settings)?)
    .bind(api_key.map(|k| key.seal(k)))
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            field: "app_id".into(),
        },
        other => other,
    })?;
    hook(&row, key)
}

/// Changes a hook's status, settings and key.
pub async fn update_hook(
    conn: &mut Conn,
    key: &ServerKey,
    scope: &AccountScope,
    id: i64,
    enabled: bool,
    settings: &AssistantSettings,
    api_key: &KeyChange,
) -> Result<Hook> {
    let (set_key, sealed) = match api_key {
        KeyChange::Keep => (false, None),
        KeyChange::Clear => (true, None),
        KeyChange::Set(k) => (true, Some(key.seal(k))),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE integration_hooks SET status = $3, settings = $4, updated_at = $5, \
           api_key_sealed = CASE WHEN $6 THEN $7 ELSE api_key_sealed END \
         WHERE account_id = $1 AND id = $2 RETURNING {HOOK_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(status(enabled))
    .bind(settings_json(settings)?)
    .bind(now_ms())
    .bind(set_key)
    .bind(sealed)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    hook(&row, key)
}

pub async fn delete_hook(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM integration_hooks WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Every account's enabled assistant that has an embeddings model (for the embedding timer).
pub async fn embedding_hooks_unscoped(conn: &mut Conn, key: &ServerKey) -> Result<Vec<Hook>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLUMNS} FROM integration_hooks \
         WHERE app_id = $1 AND status = 'enabled' ORDER BY id"
    )))
    .bind(throughline_core::assistant::APP_ID)
    .fetch_all(conn)
    .await?;
    let hooks: Vec<Hook> = rows.iter().map(|r| hook(r, key)).collect::<Result<_>>()?;
    Ok(hooks
        .into_iter()
        .filter(|h| h.settings.embedding_model.is_some())
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Article embeddings

/// Published articles of the account whose embedding is missing, from another model, or older
/// than the article, oldest change first.
pub async fn articles_to_embed(
    conn: &mut Conn,
    scope: &AccountScope,
    model: &str,
    limit: i64,
) -> Result<Vec<Article>> {
    let columns = ARTICLE_COLUMNS
        .split(", ")
        .map(|c| format!("a.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM portal_articles a \
         LEFT JOIN article_embeddings e ON e.article_id = a.id \
         WHERE a.account_id = $1 AND a.status = 'published' \
           AND (e.article_id IS NULL OR e.model <> $2 OR e.article_updated_at <> a.updated_at) \
         ORDER BY a.updated_at, a.id LIMIT $3"
    )))
    .bind(scope.account_id())
    .bind(model)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(article).collect()
}

/// Keeps `vector` as the embedding of `article` (as it was when read).
pub async fn save_embedding(
    conn: &mut Conn,
    article: &Article,
    model: &str,
    vector: &[f32],
) -> Result<()> {
    let packed = throughline_core::assistant::grounding::pack(vector);
    sqlx::query(
        "INSERT INTO article_embeddings (article_id, account_id, portal_id, locale, model, \
           article_updated_at, vector, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (article_id) DO UPDATE SET portal_id = $3, locale = $4, model = $5, \
           article_updated_at = $6, vector = $7, updated_at = $8",
    )
    .bind(article.id)
    .bind(article.account_id)
    .bind(article.portal_id)
    .bind(&article.locale)
    .bind(model)
    .bind(article.updated_at)
    .bind(packed)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored embeddings of a portal's published articles in `locale`, made by `model`.
pub async fn embeddings(
    conn: &mut Conn,
    scope: &AccountScope,
    portal_id: i64,
    locale: &str,
    model: &str,
) -> Result<Vec<(i64, Vec<f32>)>> {
    let rows = sqlx::query(
        "SELECT e.article_id, e.vector FROM article_embeddings e \
         JOIN portal_articles a ON a.id = e.article_id \
         WHERE e.account_id = $1 AND e.portal_id = $2 AND e.locale = $3 AND e.model = $4 \
           AND a.status = 'published'",
    )
    .bind(scope.account_id())
    .bind(portal_id)
    .bind(locale)
    .bind(model)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let vector = throughline_core::assistant::grounding::unpack(&r.text("vector")?)
                .ok_or_else(|| StoreError::Corrupt("an article's embedding".into()))?;
            Ok((r.int("article_id")?, vector))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The FAQ bot's answers waiting for the model

/// An answer the FAQ bot chose, to be phrased by the model and sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Phrasing {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    pub agent_bot_id: i64,
    pub inbox_id: i64,
    pub article_id: i64,
    pub locale: String,
    /// What the customer asked.
    pub question: String,
    /// The article's public link.
    pub url: String,
    /// The plain answer, sent when the model cannot help.
    pub fallback: String,
    pub attributes: serde_json::Value,
    pub created_at: i64,
}

const PHRASING_COLUMNS: &str = "id, account_id, conversation_id, agent_bot_id, inbox_id, \
     article_id, locale, question, url, fallback, attributes, created_at";

fn phrasing(row: &sqlx::any::AnyRow) -> Result<Phrasing> {
    Ok(Phrasing {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        conversation_id: row.int("conversation_id")?,
        agent_bot_id: row.int("agent_bot_id")?,
        inbox_id: row.int("inbox_id")?,
        article_id: row.int("article_id")?,
        locale: row.text("locale")?,
        question: row.text("question")?,
        url: row.text("url")?,
        fallback: row.text("fallback")?,
        attributes: row.json("attributes")?,
        created_at: row.int("created_at")?,
    })
}

/// Keeps `p` (its `id` and `created_at` are assigned here) for the phrasing timer.
pub async fn queue_phrasing(conn: &mut Conn, p: &Phrasing) -> Result<()> {
    sqlx::query(
        "INSERT INTO faq_bot_phrasings (account_id, conversation_id, agent_bot_id, inbox_id, \
           article_id, locale, question, url, fallback, attributes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(p.account_id)
    .bind(p.conversation_id)
    .bind(p.agent_bot_id)
    .bind(p.inbox_id)
    .bind(p.article_id)
    .bind(&p.locale)
    .bind(&p.question)
    .bind(&p.url)
    .bind(&p.fallback)
    .bind(p.attributes.to_string())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The oldest answers waiting, across accounts.
pub async fn waiting_phrasings_unscoped(conn: &mut Conn, limit: i64) -> Result<Vec<Phrasing>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PHRASING_COLUMNS} FROM faq_bot_phrasings ORDER BY created_at, id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(phrasing).collect()
}

/// Takes a waiting answer for sending: `false` when another process already took it.
pub async fn take_phrasing(conn: &mut Conn, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM faq_bot_phrasings WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A published article by id (the phrasing timer's read; the scope is the system's).
pub async fn published_article(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
) -> Result<Option<Article>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ARTICLE_COLUMNS} FROM portal_articles \
         WHERE account_id = $1 AND id = $2 AND status = 'published'"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(article).transpose()
}
