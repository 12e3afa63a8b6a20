//! Chatwoot's Platform API: provisioning accounts, users and agent bots from another system,
//! with a platform app's token, and single-use sign-in links for its users. An app manages
//! only the accounts, users and bots it created.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use throughline_core::identity::normalize_email;
use throughline_core::role::Role;
use throughline_core::validate::{json_object, optional_text, required_text};
use throughline_core::views::{AccountRef, ProfileView};
use throughline_store::accounts::{self, AccountChanges, NewUser, UserChanges};
use throughline_store::auth::{self, Permissible, TokenOwner};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, ok};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, PlatformApp};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(create_account))
        .routes(routes!(show_account, update_account, delete_account))
        .routes(routes!(
            list_account_users,
            create_account_user,
            delete_account_user
        ))
        .routes(routes!(create_user))
        .routes(routes!(show_user, update_user, delete_user))
        .routes(routes!(user_login))
        .routes(routes!(list_agent_bots, create_agent_bot))
        .routes(routes!(show_agent_bot, update_agent_bot, delete_agent_bot))
}

async fn require(state: &AppState, app: PlatformApp, object: Permissible) -> ApiResult<()> {
    let mut conn = state.store.read().await?;
    if auth::may_manage(&mut conn, app.id, object).await? {
        Ok(())
    } else {
        // Not created by this app: as if it did not exist.
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountBody {
    name: Option<String>,
    locale: Option<String>,
}

/// Creates an account.
#[utoipa::path(post, path = "/platform/api/v1/accounts", tag = "Platform", request_body = AccountBody,
    security(("platformAppApiKey" = [])),
    responses((status = 200, body = AccountRef), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_account(
    State(state): State<AppState>,
    app: PlatformApp,
    Json(body): Json<AccountBody>,
) -> ApiResult<axum::Json<AccountRef>> {
    let name = required_text("name", body.name.as_deref().unwrap_or_default(), 255)?;
    let locale = locale(body.locale)?.unwrap_or_else(|| "en".into());
    let mut tx = state.store.begin().await?;
    let account = accounts::create_account(tx.conn(), &name, &locale).await?;
    auth::grant(tx.conn(), app.id, Permissible::Account(account.id)).await?;
    tx.commit().await?;
    Ok(axum::Json(AccountRef::from(&account)))
}

fn locale(l: Option<String>) -> ApiResult<Option<String>> {
    match l {
        Some(l) if !super::auth::LOCALES.contains(&l.as_str()) => Err(ApiError::invalid(
            "locale",
            "inclusion",
            "locale must be en, pt-BR or pl",
        )),
        other => Ok(other),
    }
}

#[utoipa::path(get, path = "/platform/api/v1/accounts/{account_id}", tag = "Platform",
    params(("account_id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = AccountRef), (status = 404, body = crate::error::ErrorBody)))]
async fn show_account(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<AccountRef>> {
    require(&state, app, Permissible::Account(id)).await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(AccountRef::from(
        &accounts::get_account(&mut conn, id).await?,
    )))
}

#[utoipa::path(patch, path = "/platform/api/v1/accounts/{account_id}", tag = "Platform",
    params(("account_id" = i64, Path)), request_body = AccountBody, security(("platformAppApiKey" = [])),
    responses((status = 200, body = AccountRef), (status = 404, body = crate::error::ErrorBody)))]
async fn update_account(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Path(id): Path<i64>,
    Json(body): Json<AccountBody>,
) -> ApiResult<axum::Json<AccountRef>> {
    require(&state, app, Permissible::Account(id)).await?;
    let changes = AccountChanges {
        name: body
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        locale: locale(body.locale)?,
        ..Default::default()
    };
    let mut tx = state.store.begin().await?;
    let before = accounts::get_account(tx.conn(), id).await?;
    let account = accounts::update_account(tx.conn(), id, changes).await?;
    audit
        .as_platform_app(app.id)
        .record(
            tx.conn(),
            &throughline_store::AccountScope::system(id),
            super::accounts::account_change(&before, &account),
        )
        .await?;
    tx.commit().await?;
    Ok(axum::Json(AccountRef::from(&account)))
}

/// Deletes an account and everything in it.
#[utoipa::path(delete, path = "/platform/api/v1/accounts/{account_id}", tag = "Platform",
    params(("account_id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Empty>> {
    require(&state, app, Permissible::Account(id)).await?;
    let mut tx = state.store.begin().await?;
    accounts::delete_account(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct AccountUser {
    account_id: i64,
    user_id: i64,
    role: String,
}

#[utoipa::path(get, path = "/platform/api/v1/accounts/{account_id}/account_users", tag = "Platform",
    params(("account_id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = Vec<AccountUser>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_account_users(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Vec<AccountUser>>> {
    require(&state, app, Permissible::Account(id)).await?;
    let mut conn = state.store.read().await?;
    let agents =
        accounts::list_agents(&mut conn, &throughline_store::AccountScope::system(id)).await?;
    Ok(axum::Json(
        agents
            .iter()
            .map(|a| AccountUser {
                account_id: id,
                user_id: a.user.id,
                role: a.membership.role.as_str().into(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountUserBody {
    user_id: i64,
    /// agent or administrator (create only).
    role: Option<String>,
}

/// Adds one of the app's users to one of its accounts.
#[utoipa::path(post, path = "/platform/api/v1/accounts/{account_id}/account_users", tag = "Platform",
    params(("account_id" = i64, Path)), request_body = AccountUserBody, security(("platformAppApiKey" = [])),
    responses((status = 200, body = AccountUser), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_account_user(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Path(id): Path<i64>,
    Json(body): Json<AccountUserBody>,
) -> ApiResult<axum::Json<AccountUser>> {
    require(&state, app, Permissible::Account(id)).await?;
    require(&state, app, Permissible::User(body.user_id)).await?;
    let role = Role::parse(body.role.as_deref().unwrap_or("agent")).ok_or_else(|| {
        ApiError::invalid("role", "inclusion", "role must be agent or administrator")
    })?;
    let mut tx = state.store.begin().await?;
    let m = accounts::add_member(tx.conn(), id, body.user_id, role, None).await?;
    let scope = throughline_store::AccountScope::system(id);
    let agent = accounts::get_agent(tx.conn(), &scope, m.user_id).await?;
    let change = super::agents::agent_change(
        throughline_core::audit::Change::created(
            throughline_core::audit::kind::ACCOUNT_USER,
            m.user_id,
            &super::agents::member_fields(&agent),
        ),
        m.user_id,
        &agent.user.name,
        &agent.user.email,
    );
    audit
        .as_platform_app(app.id)
        .record(tx.conn(), &scope, change)
        .await?;
    tx.commit().await?;
    Ok(axum::Json(AccountUser {
        account_id: id,
        user_id: m.user_id,
        role: m.role.as_str().into(),
    }))
}

/// Removes a user from an account.
#[utoipa::path(delete, path = "/platform/api/v1/accounts/{account_id}/account_users", tag = "Platform",
    params(("account_id" = i64, Path)), request_body = AccountUserBody, security(("platformAppApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_account_user(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Path(id): Path<i64>,
    Json(body): Json<AccountUserBody>,
) -> ApiResult<axum::Json<Empty>> {
    require(&state, app, Permissible::Account(id)).await?;
    let mut tx = state.store.begin().await?;
    let scope = throughline_store::AccountScope::system(id);
    let agent = accounts::get_agent(tx.conn(), &scope, body.user_id).await;
    accounts::remove_member(tx.conn(), id, body.user_id).await?;
    let agent = agent?;
    let change = super::agents::agent_change(
        throughline_core::audit::Change::destroyed(
            throughline_core::audit::kind::ACCOUNT_USER,
            body.user_id,
            &super::agents::member_fields(&agent),
        ),
        body.user_id,
        &agent.user.name,
        &agent.user.email,
    );
    audit
        .as_platform_app(app.id)
        .record(tx.conn(), &scope, change)
        .await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UserBody {
    name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    #[schema(value_type = Object)]
    custom_attributes: Option<serde_json::Value>,
}

async fn user_view(
    state: &AppState,
    user: &throughline_core::model::User,
) -> ApiResult<ProfileView> {
    let mut conn = state.store.read().await?;
    super::auth::profile_view(&mut conn, &state.store, user).await
}

/// Creates a user (with an access token, returned in the answer).
#[utoipa::path(post, path = "/platform/api/v1/users", tag = "Platform", request_body = UserBody,
    security(("platformAppApiKey" = [])),
    responses((status = 200, body = ProfileView), (status = 422, body = crate::error::ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    app: PlatformApp,
    Json(body): Json<UserBody>,
) -> ApiResult<axum::Json<ProfileView>> {
    let name = required_text("name", body.name.as_deref().unwrap_or_default(), 255)?;
    let email = normalize_email(body.email.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::invalid("email", "invalid", e.to_string()))?;
    let password_hash = match body.password {
        Some(p) => Some(super::auth::hash_new_password(p).await?),
        None => None,
    };
    if let Some(a) = &body.custom_attributes {
        json_object("custom_attributes", a)?;
    }
    let mut tx = state.store.begin().await?;
    let user = accounts::create_user(
        tx.conn(),
        NewUser {
            email,
            name,
            display_name: body
                .display_name
                .as_deref()
                .map(|d| optional_text("display_name", d, 255))
                .transpose()?
                .flatten(),
            password_hash,
            custom_attributes: body.custom_attributes.unwrap_or_else(|| json!({})),
        },
    )
    .await?;
    auth::issue_token(tx.conn(), state.store.key(), TokenOwner::User(user.id)).await?;
    auth::grant(tx.conn(), app.id, Permissible::User(user.id)).await?;
    tx.commit().await?;
    Ok(axum::Json(user_view(&state, &user).await?))
}

#[utoipa::path(get, path = "/platform/api/v1/users/{id}", tag = "Platform",
    params(("id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::error::ErrorBody)))]
async fn show_user(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ProfileView>> {
    require(&state, app, Permissible::User(id)).await?;
    let user = {
        let mut conn = state.store.read().await?;
        accounts::get_user_unscoped(&mut conn, id).await?
    };
    Ok(axum::Json(user_view(&state, &user).await?))
}

#[utoipa::path(patch, path = "/platform/api/v1/users/{id}", tag = "Platform",
    params(("id" = i64, Path)), request_body = UserBody, security(("platformAppApiKey" = [])),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::error::ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
    Json(body): Json<UserBody>,
) -> ApiResult<axum::Json<ProfileView>> {
    require(&state, app, Permissible::User(id)).await?;
    let email = body
        .email
        .as_deref()
        .map(|e| {
            normalize_email(e).map_err(|err| ApiError::invalid("email", "invalid", err.to_string()))
        })
        .transpose()?;
    if let Some(a) = &body.custom_attributes {
        json_object("custom_attributes", a)?;
    }
    let password_hash = match body.password {
        Some(p) => Some(super::auth::hash_new_password(p).await?),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let user = accounts::update_user_unscoped(
        tx.conn(),
        id,
        UserChanges {
            name: body
                .name
                .as_deref()
                .map(|n| required_text("name", n, 255))
                .transpose()?,
            email,
            display_name: body
                .display_name
                .map(|d| optional_text("display_name", &d, 255))
                .transpose()?,
            custom_attributes: body.custom_attributes,
            ..Default::default()
        },
    )
    .await?;
    if let Some(hash) = password_hash {
        accounts::set_password_unscoped(tx.conn(), id, &hash).await?;
        auth::delete_sessions_of_user(tx.conn(), id).await?;
    }
    tx.commit().await?;
    Ok(axum::Json(user_view(&state, &user).await?))
}

#[utoipa::path(delete, path = "/platform/api/v1/users/{id}", tag = "Platform",
    params(("id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_user(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Empty>> {
    require(&state, app, Permissible::User(id)).await?;
    let mut tx = state.store.begin().await?;
    accounts::delete_user_unscoped(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(ok())
}

/// How long a sign-in link works (Chatwoot keeps its `sso_auth_token` five minutes).
const SSO_TTL_MS: i64 = 5 * 60 * 1000;

#[derive(Serialize, utoipa::ToSchema)]
struct SsoLink {
    /// Opens the web app signed in as the user: once, within five minutes.
    url: String,
}

/// A link that signs the user in to the web app once, within five minutes — Chatwoot's
/// `{FRONTEND_URL}/app/login?email=…&sso_auth_token=…`. The web app posts both to
/// `/auth/sign_in`, which spends the token.
#[utoipa::path(get, path = "/platform/api/v1/users/{id}/login", tag = "Platform",
    params(("id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = SsoLink), (status = 404, body = crate::error::ErrorBody)))]
async fn user_login(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<SsoLink>> {
    require(&state, app, Permissible::User(id)).await?;
    let user = {
        let mut conn = state.store.read().await?;
        accounts::get_user_unscoped(&mut conn, id).await?
    };
    let mut tx = state.store.begin().await?;
    let token = throughline_store::sso::issue_unscoped(
        tx.conn(),
        state.store.key(),
        user.id,
        Some(app.id),
        SSO_TTL_MS,
    )
    .await?;
    tx.commit().await?;
    let query = serde_html_form::to_string([
        ("email", user.email.as_str()),
        ("sso_auth_token", token.as_str()),
    ])
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(axum::Json(SsoLink {
        url: format!(
            "{}/app/login?{query}",
            state.config.public_url.trim_end_matches('/')
        ),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PlatformBotBody {
    name: Option<String>,
    description: Option<String>,
    outgoing_url: Option<String>,
    /// The account the bot works in: one this app created. Without one, a system bot any
    /// account may connect to its inboxes.
    account_id: Option<i64>,
}

/// The account a platform bot is given: one the app created, else 422.
async fn bot_account(state: &AppState, app: PlatformApp, account_id: i64) -> ApiResult<i64> {
    let mut conn = state.store.read().await?;
    if auth::may_manage(&mut conn, app.id, Permissible::Account(account_id)).await? {
        Ok(account_id)
    } else {
        Err(ApiError::invalid(
            "account_id",
            "invalid",
            "account_id must be an account this platform app created",
        ))
    }
}

fn bot_url(state: &AppState, url: Option<&str>) -> ApiResult<Option<String>> {
    Ok(url
        .filter(|u| !u.trim().is_empty())
        .map(|u| crate::outbound_url::checked_url(state, "outgoing_url", u))
        .transpose()?)
}

/// What the audit log keeps of a bot (as the account API records it).
fn audited_bot(bot: &throughline_core::model::AgentBot) -> serde_json::Value {
    throughline_core::audit::record_fields(bot, throughline_core::audit::BOOKKEEPING)
}

/// The bots this app created.
#[utoipa::path(get, path = "/platform/api/v1/agent_bots", tag = "Platform",
    security(("platformAppApiKey" = [])),
    responses((status = 200, body = Vec<super::agent_bots::BotView>), (status = 401, body = crate::error::ErrorBody)))]
async fn list_agent_bots(
    State(state): State<AppState>,
    app: PlatformApp,
) -> ApiResult<axum::Json<Vec<super::agent_bots::BotView>>> {
    let bots = {
        let mut conn = state.store.read().await?;
        auth::permitted_agent_bots_unscoped(&mut conn, app.id).await?
    };
    let mut out = Vec::with_capacity(bots.len());
    for b in &bots {
        out.push(super::agent_bots::view_with(&state, b, true).await?);
    }
    Ok(axum::Json(out))
}

/// Creates an agent bot with its access token, for one of the app's accounts or for all.
#[utoipa::path(post, path = "/platform/api/v1/agent_bots", tag = "Platform", request_body = PlatformBotBody,
    security(("platformAppApiKey" = [])),
    responses((status = 200, body = super::agent_bots::BotView), (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create_agent_bot(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Json(body): Json<PlatformBotBody>,
) -> ApiResult<axum::Json<super::agent_bots::BotView>> {
    let name = required_text("name", body.name.as_deref().unwrap_or_default(), 255)?;
    let description = body
        .description
        .as_deref()
        .map(|d| optional_text("description", d, 2000))
        .transpose()?
        .flatten();
    let url = bot_url(&state, body.outgoing_url.as_deref())?;
    let account_id = match body.account_id {
        Some(a) => Some(bot_account(&state, app, a).await?),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let bot = auth::create_agent_bot_unscoped(
        tx.conn(),
        account_id,
        &name,
        description.as_deref(),
        url.as_deref(),
    )
    .await?;
    auth::issue_token(tx.conn(), state.store.key(), TokenOwner::AgentBot(bot.id)).await?;
    auth::grant(tx.conn(), app.id, Permissible::AgentBot(bot.id)).await?;
    if let Some(account_id) = account_id {
        let change = throughline_core::audit::Change::created(
            throughline_core::audit::kind::AGENT_BOT,
            bot.id,
            &audited_bot(&bot),
        )
        .with("access_token", throughline_core::audit::CHANGED)
        .named("name", &*bot.name);
        audit
            .as_platform_app(app.id)
            .record(
                tx.conn(),
                &throughline_store::AccountScope::system(account_id),
                change,
            )
            .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(
        super::agent_bots::view_with(&state, &bot, true).await?,
    ))
}

#[utoipa::path(get, path = "/platform/api/v1/agent_bots/{id}", tag = "Platform",
    params(("id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = super::agent_bots::BotView), (status = 404, body = crate::error::ErrorBody)))]
async fn show_agent_bot(
    State(state): State<AppState>,
    app: PlatformApp,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<super::agent_bots::BotView>> {
    require(&state, app, Permissible::AgentBot(id)).await?;
    let bot = {
        let mut conn = state.store.read().await?;
        auth::get_agent_bot_unscoped(&mut conn, id).await?
    };
    Ok(axum::Json(
        super::agent_bots::view_with(&state, &bot, true).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PlatformBotPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    outgoing_url: Option<Option<String>>,
    /// Another of the app's accounts, or `null` for a system bot.
    #[serde(default, deserialize_with = "super::double_option")]
    account_id: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/platform/api/v1/agent_bots/{id}", tag = "Platform",
    params(("id" = i64, Path)), request_body = PlatformBotPatch, security(("platformAppApiKey" = [])),
    responses((status = 200, body = super::agent_bots::BotView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update_agent_bot(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Path(id): Path<i64>,
    Json(body): Json<PlatformBotPatch>,
) -> ApiResult<axum::Json<super::agent_bots::BotView>> {
    require(&state, app, Permissible::AgentBot(id)).await?;
    let name = body
        .name
        .as_deref()
        .map(|n| required_text("name", n, 255))
        .transpose()?;
    let description =
        throughline_core::validate::text_patch("description", body.description, 2000)?;
    let url = body
        .outgoing_url
        .map(|u| bot_url(&state, u.as_deref()))
        .transpose()?;
    let account_id = match body.account_id {
        Some(Some(a)) => Some(Some(bot_account(&state, app, a).await?)),
        other => other,
    };
    let mut tx = state.store.begin().await?;
    let before = auth::get_agent_bot_unscoped(tx.conn(), id).await?;
    let bot = auth::update_agent_bot_unscoped(
        tx.conn(),
        id,
        account_id,
        name.as_deref(),
        description.as_ref().map(|d| d.as_deref()),
        url.as_ref().map(|u| u.as_deref()),
    )
    .await?;
    if let Some(account_id) = bot.account_id.or(before.account_id) {
        let change = throughline_core::audit::Change::updated(
            throughline_core::audit::kind::AGENT_BOT,
            id,
            &audited_bot(&before),
            &audited_bot(&bot),
        )
        .named("name", &*bot.name);
        audit
            .as_platform_app(app.id)
            .record(
                tx.conn(),
                &throughline_store::AccountScope::system(account_id),
                change,
            )
            .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(
        super::agent_bots::view_with(&state, &bot, true).await?,
    ))
}

/// Deletes a bot the app created; its token stops working and inboxes lose it.
#[utoipa::path(delete, path = "/platform/api/v1/agent_bots/{id}", tag = "Platform",
    params(("id" = i64, Path)), security(("platformAppApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_agent_bot(
    State(state): State<AppState>,
    app: PlatformApp,
    audit: Audit,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Empty>> {
    require(&state, app, Permissible::AgentBot(id)).await?;
    let mut tx = state.store.begin().await?;
    let bot = auth::get_agent_bot_unscoped(tx.conn(), id).await?;
    auth::delete_agent_bot_unscoped(tx.conn(), id).await?;
    if let Some(account_id) = bot.account_id {
        let change = throughline_core::audit::Change::destroyed(
            throughline_core::audit::kind::AGENT_BOT,
            id,
            &audited_bot(&bot),
        )
        .named("name", &*bot.name);
        audit
            .as_platform_app(app.id)
            .record(
                tx.conn(),
                &throughline_store::AccountScope::system(account_id),
                change,
            )
            .await?;
    }
    tx.commit().await?;
    Ok(ok())
}
