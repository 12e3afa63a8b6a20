//! Agent bots of the account, each with its own access token (administrators), and the bot
//! connected to an inbox (Chatwoot's `inboxes/{id}/agent_bot` and `set_agent_bot`).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::model::AgentBot;
use throughline_core::validate::{optional_text, required_text, text_patch};
use throughline_store::auth::{self, TokenOwner};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, ok};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::outbound_url::checked_url;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(inbox_agent_bot))
        .routes(routes!(set_inbox_agent_bot))
}

/// An agent bot as Chatwoot shows it (`api/v1/models/_agent_bot.json.jbuilder`).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct BotView {
    id: i64,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outgoing_url: Option<String>,
    /// `webhook` (Chatwoot's: events go to `outgoing_url`) or `faq` (Throughline's built-in
    /// bot that answers from a help center; `bot_config.portal_slug` names it).
    bot_type: String,
    #[schema(value_type = Object)]
    bot_config: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<i64>,
    /// A bot of no account, which every account may connect to its inboxes.
    system_bot: bool,
    /// The bot's `api_access_token` (administrators).
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// What events delivered to `outgoing_url` are signed with (`X-Chatwoot-Signature`, as
    /// Chatwoot 4.13 signs them; administrators).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// The view of `bot`; with `secrets`, its access token and signing secret.
pub(super) async fn view_with(
    state: &AppState,
    bot: &AgentBot,
    secrets: bool,
) -> ApiResult<BotView> {
    let token = if secrets {
        let mut conn = state.store.read().await?;
        auth::current_token(&mut conn, state.store.key(), TokenOwner::AgentBot(bot.id)).await?
    } else {
        None
    };
    Ok(BotView {
        id: bot.id,
        name: bot.name.clone(),
        description: bot.description.clone(),
        outgoing_url: bot.outgoing_url.clone(),
        bot_type: bot.bot_type.clone(),
        bot_config: bot.bot_config.clone(),
        account_id: bot.account_id,
        system_bot: bot.account_id.is_none(),
        access_token: token,
        secret: secrets.then(|| {
            throughline_core::webhook::agent_bot_secret(state.store.key(), bot.id, bot.created_at)
        }),
    })
}

async fn view(state: &AppState, bot: &AgentBot) -> ApiResult<BotView> {
    view_with(state, bot, true).await
}

/// What the audit log keeps of a bot.
fn audited(bot: &AgentBot) -> serde_json::Value {
    throughline_core::audit::record_fields(bot, throughline_core::audit::BOOKKEEPING)
}

async fn get_bot(state: &AppState, ctx: &AccountCtx, id: i64) -> ApiResult<AgentBot> {
    let mut conn = state.store.read().await?;
    auth::list_agent_bots(&mut conn, &ctx.scope)
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agent_bots", tag = "Agent Bots",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<BotView>), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Vec<BotView>>> {
    ctx.require_admin()?;
    let bots = {
        let mut conn = state.store.read().await?;
        auth::list_agent_bots(&mut conn, &ctx.scope).await?
    };
    let mut out = Vec::with_capacity(bots.len());
    for b in &bots {
        out.push(view(&state, b).await?);
    }
    Ok(axum::Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct BotBody {
    name: String,
    description: Option<String>,
    outgoing_url: Option<String>,
    /// `webhook` (the default) or `faq`.
    bot_type: Option<String>,
    /// `faq`: `{"portal_slug": …, "min_confidence": 0.5}`.
    #[schema(value_type = Option<Object>)]
    bot_config: Option<serde_json::Value>,
}

/// The kind and settings asked for, checked: an FAQ bot's portal must be the account's.
async fn checked_kind(
    state: &AppState,
    ctx: &AccountCtx,
    bot_type: Option<&str>,
    bot_config: Option<&serde_json::Value>,
    current: Option<&AgentBot>,
) -> ApiResult<Option<(String, serde_json::Value)>> {
    if bot_type.is_none() && bot_config.is_none() {
        return Ok(None);
    }
    let kind = bot_type
        .or(current.map(|b| b.bot_type.as_str()))
        .unwrap_or("webhook");
    match kind {
        "webhook" => Ok(Some(("webhook".into(), serde_json::json!({})))),
        "faq" => {
            let raw = bot_config
                .cloned()
                .or(current.map(|b| b.bot_config.clone()))
                .unwrap_or_default();
            let config = throughline_core::help_center::faq_bot::Config::from_json(&raw)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            let mut conn = state.store.read().await?;
            match throughline_store::help_center::portal_by_slug(
                &mut conn,
                &ctx.scope,
                &config.portal_slug,
            )
            .await
            {
                Ok(_) => Ok(Some(("faq".into(), config.to_json()))),
                Err(throughline_store::StoreError::NotFound) => Err(ApiError::invalid(
                    "bot_config.portal_slug",
                    "invalid",
                    "no portal of this account has that slug",
                )),
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(ApiError::invalid(
            "bot_type",
            "invalid",
            "bot_type must be webhook or faq",
        )),
    }
}

/// Creates a bot and its access token (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agent_bots", tag = "Agent Bots",
    params(("account_id" = i64, Path)), request_body = BotBody, security(("userApiKey" = [])),
    responses((status = 200, body = BotView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<BotBody>,
) -> ApiResult<axum::Json<BotView>> {
    ctx.require_admin()?;
    let name = required_text("name", &body.name, 255)?;
    let description = body
        .description
        .as_deref()
        .map(|d| optional_text("description", d, 2000))
        .transpose()?
        .flatten();
    let url = body
        .outgoing_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|u| checked_url(&state, "outgoing_url", u))
        .transpose()?;
    let kind = checked_kind(
        &state,
        &ctx,
        body.bot_type.as_deref(),
        body.bot_config.as_ref(),
        None,
    )
    .await?;
    let mut tx = state.store.begin().await?;
    let mut bot = auth::create_agent_bot(
        tx.conn(),
        &ctx.scope,
        &name,
        description.as_deref(),
        url.as_deref(),
    )
    .await?;
    if let Some((kind, config)) = &kind {
        bot = auth::set_agent_bot_kind(tx.conn(), &ctx.scope, bot.id, kind, config).await?;
    }
    auth::issue_token(tx.conn(), state.store.key(), TokenOwner::AgentBot(bot.id)).await?;
    let change = throughline_core::audit::Change::created(
        throughline_core::audit::kind::AGENT_BOT,
        bot.id,
        &audited(&bot),
    )
    .with("access_token", throughline_core::audit::CHANGED)
    .named("name", &*bot.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(view(&state, &bot).await?))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent Bots",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = BotView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<BotView>> {
    ctx.require_admin()?;
    let bot = get_bot(&state, &ctx, id).await?;
    Ok(axum::Json(view(&state, &bot).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct BotPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    outgoing_url: Option<Option<String>>,
    bot_type: Option<String>,
    #[schema(value_type = Option<Object>)]
    bot_config: Option<serde_json::Value>,
}

/// Updates a bot (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent Bots",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = BotPatch, security(("userApiKey" = [])),
    responses((status = 200, body = BotView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<BotPatch>,
) -> ApiResult<axum::Json<BotView>> {
    ctx.require_admin()?;
    let name = body
        .name
        .as_deref()
        .map(|n| required_text("name", n, 255))
        .transpose()?;
    let description = text_patch("description", body.description, 2000)?;
    let url = body
        .outgoing_url
        .map(|u| {
            u.filter(|u| !u.trim().is_empty())
                .map(|u| checked_url(&state, "outgoing_url", &u))
                .transpose()
        })
        .transpose()?;
    let before = get_bot(&state, &ctx, id).await?;
    let kind = checked_kind(
        &state,
        &ctx,
        body.bot_type.as_deref(),
        body.bot_config.as_ref(),
        Some(&before),
    )
    .await?;
    let mut tx = state.store.begin().await?;
    let mut bot = auth::update_agent_bot(
        tx.conn(),
        &ctx.scope,
        id,
        name.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
        url.as_ref().map(|u| u.as_deref()),
    )
    .await?;
    if let Some((kind, config)) = &kind {
        bot = auth::set_agent_bot_kind(tx.conn(), &ctx.scope, bot.id, kind, config).await?;
    }
    let change = throughline_core::audit::Change::updated(
        throughline_core::audit::kind::AGENT_BOT,
        id,
        &audited(&before),
        &audited(&bot),
    )
    .named("name", &*bot.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(view(&state, &bot).await?))
}

/// Deletes a bot; its token stops working (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent Bots",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let bot = get_bot(&state, &ctx, id).await?;
    let mut tx = state.store.begin().await?;
    auth::delete_agent_bot(tx.conn(), &ctx.scope, id).await?;
    let change = throughline_core::audit::Change::destroyed(
        throughline_core::audit::kind::AGENT_BOT,
        id,
        &audited(&bot),
    )
    .named("name", &*bot.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(ok())
}

/// `{"agent_bot": …}`, or `{}` when the inbox has none (Chatwoot's
/// `inboxes/agent_bot.json.jbuilder`).
#[derive(Serialize, utoipa::ToSchema)]
struct InboxBot {
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_bot: Option<BotView>,
}

/// The agent bot connected to an inbox, for anyone who sees the inbox; its access token and
/// secret only for administrators.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes/{id}/agent_bot", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = InboxBot), (status = 404, body = crate::error::ErrorBody)))]
async fn inbox_agent_bot(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<InboxBot>> {
    let bot = {
        let mut conn = state.store.read().await?;
        // 404 for an inbox of another account or one the agent is not a member of.
        throughline_store::inboxes::get(&mut conn, state.store.key(), &ctx.scope, id).await?;
        auth::inbox_agent_bot(&mut conn, &ctx.scope, id).await?
    };
    let agent_bot = match bot {
        Some(b) => Some(view_with(&state, &b, ctx.require_admin().is_ok()).await?),
        None => None,
    };
    Ok(axum::Json(InboxBot { agent_bot }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SetAgentBot {
    /// The bot's id (one of the account's, or a system bot); `null` disconnects.
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    agent_bot: serde_json::Value,
}

/// Connects an agent bot to an inbox, replacing any other, or disconnects it with
/// `"agent_bot": null` (administrators). An unknown bot is 404, as in Chatwoot.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/set_agent_bot", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = SetAgentBot,
    security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_inbox_agent_bot(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<SetAgentBot>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let bot_id = match &body.agent_bot {
        serde_json::Value::Null => None,
        serde_json::Value::Number(n) => Some(n.as_i64().ok_or_else(bad_bot_id)?),
        serde_json::Value::String(s) if s.trim().is_empty() => None,
        serde_json::Value::String(s) => Some(s.trim().parse().map_err(|_| bad_bot_id())?),
        _ => return Err(bad_bot_id()),
    };
    let mut tx = state.store.begin().await?;
    let before = auth::set_inbox_agent_bot(tx.conn(), &ctx.scope, id, bot_id).await?;
    let before_id = before.map(|b| b.id);
    if before_id != bot_id {
        let change = throughline_core::audit::Change::updated(
            throughline_core::audit::kind::INBOX,
            id,
            &serde_json::json!({ "agent_bot_id": before_id }),
            &serde_json::json!({ "agent_bot_id": bot_id }),
        );
        audit.record(tx.conn(), &ctx.scope, change).await?;
    }
    tx.commit().await?;
    Ok(ok())
}

fn bad_bot_id() -> ApiError {
    ApiError::invalid(
        "agent_bot",
        "invalid",
        "agent_bot must be an agent bot's id or null",
    )
}
