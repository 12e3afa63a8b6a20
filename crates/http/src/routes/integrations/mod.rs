//! Chatwoot's integrations (`/api/v1/accounts/{id}/integrations/…`): the apps an account can
//! connect and their hooks. Throughline has one app, `openai` — the AI assistant, pointed at any
//! OpenAI-compatible server (OpenAI, or Ollama/vLLM on the team's own machine). Its key is
//! sealed and never shown again; `settings.api_key_set` says whether one is kept.
//! [`assistant`] holds what agents ask of it.

mod assistant;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use throughline_core::assistant::settings::KeyChange;
use throughline_core::assistant::{APP_ID, AssistantSettings};
use throughline_core::audit::{Change, kind};
use throughline_core::validate::FieldError;
use throughline_store::assistant::{self as store, Hook};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, Payload, ok, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::outbound_url::checked_url;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    assistant::routes(
        r.routes(routes!(list_apps))
            .routes(routes!(create_hook))
            .routes(routes!(update_hook, delete_hook)),
    )
}

/// A hook as Chatwoot shows it (`_hook.json.jbuilder`), without the key.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct HookView {
    id: i64,
    app_id: String,
    /// Enabled (Chatwoot's `enabled?`).
    status: bool,
    account_id: i64,
    /// `account`: one hook for the whole account.
    hook_type: &'static str,
    /// `base_url`, `model`, `embedding_model`, `transcription_model` (speech-to-text for
    /// voicemails, `whisper-1` unless changed; `null`: none), `timeout_seconds`,
    /// `customer_data_inbox_ids`, `api_key_set`.
    #[schema(value_type = Object)]
    settings: Value,
}

fn view(hook: &Hook) -> HookView {
    let mut settings = serde_json::to_value(&hook.settings).unwrap_or_default();
    if let Value::Object(map) = &mut settings {
        map.insert("api_key_set".into(), Value::Bool(hook.api_key.is_some()));
    }
    HookView {
        id: hook.id,
        app_id: hook.app_id.clone(),
        status: hook.enabled,
        account_id: hook.account_id,
        hook_type: "account",
        settings,
    }
}

/// What the audit log keeps of a hook (never its key).
fn audited(hook: &Hook) -> Value {
    let v = view(hook);
    serde_json::json!({"app_id": v.app_id, "status": v.status, "settings": v.settings})
}

/// An app an account can connect (Chatwoot's `Integrations::App`).
#[derive(Serialize, utoipa::ToSchema)]
struct AppView {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    hook_type: &'static str,
    enabled: bool,
    allow_multiple_hooks: bool,
    hooks: Vec<HookView>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/integrations/apps", tag = "Integrations",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<AppView>>)))]
async fn list_apps(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<AppView>>>> {
    let hooks = {
        let mut conn = state.store.read().await?;
        store::hooks(&mut conn, state.store.key(), &ctx.scope).await?
    };
    let hooks: Vec<HookView> = hooks
        .iter()
        .filter(|h| h.app_id == APP_ID)
        .map(view)
        .collect();
    Ok(payload(vec![AppView {
        id: APP_ID,
        name: "OpenAI",
        description: "AI assistant for agents: reply suggestions grounded in the help center, \
                      summaries, rewriting and translation, voicemail transcripts, with any \
                      OpenAI-compatible model (OpenAI, or a local server such as Ollama or \
                      vLLM).",
        hook_type: "account",
        enabled: hooks.iter().any(|h| h.status),
        allow_multiple_hooks: false,
        hooks,
    }]))
}

/// Chatwoot's `hook` params, wrapped (`{"hook": {…}}`) or not.
#[derive(Deserialize, utoipa::ToSchema, Default)]
struct HookBody {
    app_id: Option<String>,
    /// Inbox hooks are not offered: the assistant is the account's.
    inbox_id: Option<Value>,
    /// 1/0, true/false or enabled/disabled.
    #[schema(value_type = Option<Object>)]
    status: Option<Value>,
    #[schema(value_type = Option<Object>)]
    settings: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    hook: Option<Box<HookBody>>,
}

impl HookBody {
    fn unwrapped(self) -> HookBody {
        match self.hook {
            Some(inner) => *inner,
            None => self,
        }
    }
}

fn status_of(value: Option<&Value>, current: bool) -> Result<bool, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(current),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) if v.as_i64() == Some(1) || v.as_str() == Some("1") => Ok(true),
        Some(v) if v.as_i64() == Some(0) || v.as_str() == Some("0") => Ok(false),
        Some(Value::String(s)) if s == "enabled" => Ok(true),
        Some(Value::String(s)) if s == "disabled" => Ok(false),
        Some(_) => Err(FieldError::new(
            "status",
            "invalid",
            "status is 1 (enabled) or 0 (disabled)",
        )),
    }
}

/// The settings after `body`, with the base URL checked against the outbound policy.
fn settings_of(
    state: &AppState,
    current: &AssistantSettings,
    body: &HookBody,
) -> ApiResult<(AssistantSettings, KeyChange)> {
    let empty = Map::new();
    let (settings, key) = current
        .apply(body.settings.as_ref().unwrap_or(&empty))
        .map_err(ApiError::Invalid)?;
    checked_url(state, "settings.base_url", &settings.base_url)
        .map_err(|e| ApiError::Invalid(vec![e]))?;
    Ok((settings, key))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/integrations/hooks", tag = "Integrations",
    params(("account_id" = i64, Path)), request_body = HookBody, security(("userApiKey" = [])),
    responses((status = 200, body = HookView), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create_hook(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<HookBody>,
) -> ApiResult<axum::Json<HookView>> {
    ctx.require_admin()?;
    let body = body.unwrapped();
    match body.app_id.as_deref() {
        Some(APP_ID) => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "app_id",
                "invalid",
                format!("there is no integration app `{other}` here (only `{APP_ID}`)"),
            ));
        }
        None => {
            return Err(ApiError::invalid(
                "app_id",
                "blank",
                "app_id can't be blank",
            ));
        }
    }
    if body.inbox_id.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid(
            "inbox_id",
            "invalid",
            "the AI assistant is the account's; choose inboxes in settings.customer_data_inbox_ids",
        ));
    }
    let enabled = status_of(body.status.as_ref(), true).map_err(|e| ApiError::Invalid(vec![e]))?;
    let (settings, key) = settings_of(&state, &AssistantSettings::default(), &body)?;
    let api_key = match &key {
        KeyChange::Set(k) => Some(k.as_str()),
        _ => None,
    };
    let mut tx = state.store.begin().await?;
    let hook = store::create_hook(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        APP_ID,
        enabled,
        &settings,
        api_key,
    )
    .await?;
    let mut change = Change::created(kind::INTEGRATION_HOOK, hook.id, &audited(&hook));
    if api_key.is_some() {
        change = change.with("api_key", throughline_core::audit::CHANGED);
    }
    audit
        .record(tx.conn(), &ctx.scope, change.named("app_id", APP_ID))
        .await?;
    tx.commit().await?;
    Ok(axum::Json(view(&hook)))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/integrations/hooks/{hook_id}", tag = "Integrations",
    params(("account_id" = i64, Path), ("hook_id" = i64, Path)), request_body = HookBody, security(("userApiKey" = [])),
    responses((status = 200, body = HookView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_hook(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<HookBody>,
) -> ApiResult<axum::Json<HookView>> {
    ctx.require_admin()?;
    let body = body.unwrapped();
    let mut tx = state.store.begin().await?;
    let before = store::get_hook(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let enabled =
        status_of(body.status.as_ref(), before.enabled).map_err(|e| ApiError::Invalid(vec![e]))?;
    let (settings, key) = settings_of(&state, &before.settings, &body)?;
    let hook = store::update_hook(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        id,
        enabled,
        &settings,
        &key,
    )
    .await?;
    let mut change = Change::updated(
        kind::INTEGRATION_HOOK,
        hook.id,
        &audited(&before),
        &audited(&hook),
    );
    if key != KeyChange::Keep {
        change = change.with("api_key", throughline_core::audit::CHANGED);
    }
    if !change.is_noop() {
        audit
            .record(tx.conn(), &ctx.scope, change.named("app_id", APP_ID))
            .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(view(&hook)))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/integrations/hooks/{hook_id}", tag = "Integrations",
    params(("account_id" = i64, Path), ("hook_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn delete_hook(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let hook = store::get_hook(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    store::delete_hook(tx.conn(), &ctx.scope, id).await?;
    let change = Change::destroyed(kind::INTEGRATION_HOOK, id, &audited(&hook));
    audit
        .record(tx.conn(), &ctx.scope, change.named("app_id", APP_ID))
        .await?;
    tx.commit().await?;
    Ok(ok())
}
