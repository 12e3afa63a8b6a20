//! Who is calling, and what they may reach.
//!
//! - `Caller`: a user or agent bot, by `api_access_token` header or session cookie.
//! - `AccountCtx`: a caller inside the account named in the path; membership checked, inbox
//!   visibility resolved. Handlers can only reach the store through its `scope`.
//! - `PlatformApp`: a platform app, by its token, on `/platform` routes.
//!
//! Cookie sessions are checked against cross-site requests: a state-changing request carried by
//! a cookie must come from our own origin.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use throughline_core::model::{AgentBot, User};
use throughline_core::role::Role;
use throughline_store::auth::{self, TokenOwner};
use throughline_store::{AccountScope, accounts, scope, two_factor};

use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tl_session";
pub const TOKEN_HEADER: &str = "api_access_token";

#[derive(Clone, Debug)]
pub enum Principal {
    User(User),
    AgentBot(AgentBot),
}

#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// True when authenticated by the session cookie (the web app), false for a token.
    pub via_session: bool,
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User(u) => Some(u),
            Principal::AgentBot(_) => None,
        }
    }
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The hyphenated spelling: Rack files `api_access_token` and `Api-Access-Token` under the same
/// `HTTP_API_ACCESS_TOKEN`, so Chatwoot takes both, and proxies such as nginx drop headers with
/// underscores (the chatwoot-sdk sends this one for that reason).
const TOKEN_HEADER_HYPHENATED: &str = "api-access-token";

fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(TOKEN_HEADER)
        .or_else(|| headers.get(TOKEN_HEADER_HYPHENATED))
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A cookie-authenticated request that changes state must come from our own origin.
fn check_same_origin(parts: &Parts, public_url: &str) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let origin = parts
        .headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let ok = match origin {
        None => {
            // Browsers always send Origin on cross-site POSTs; without one this is not a
            // browser's cross-site request. Fetch metadata, when present, must agree.
            parts
                .headers
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok())
                .is_none_or(|s| s == "same-origin" || s == "none")
        }
        Some(o) => {
            o.trim_end_matches('/') == public_url.trim_end_matches('/')
                || host.is_some_and(|h| o.ends_with(&format!("://{h}")))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::Forbidden("cross-site request refused".into()))
    }
}

/// What a session that must enrol in two-factor authentication may still ask: who it is
/// (`GET /api/v1/profile`) and the enrolment itself (`/api/v1/profile/mfa…`).
fn allowed_while_enrolling(parts: &Parts) -> bool {
    let path = parts.uri.path().trim_end_matches('/');
    (parts.method == Method::GET && path == "/api/v1/profile")
        || path == "/api/v1/profile/mfa"
        || path.starts_with("/api/v1/profile/mfa/")
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let mut conn = state.store.read().await?;
        let caller = if let Some(token) = token(&parts.headers) {
            let owner = auth::token_owner(&mut conn, &token)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("Invalid access token".into()))?;
            let principal = match owner {
                TokenOwner::User(id) => {
                    Principal::User(accounts::get_user_unscoped(&mut conn, id).await?)
                }
                TokenOwner::AgentBot(id) => {
                    Principal::AgentBot(auth::get_agent_bot_unscoped(&mut conn, id).await?)
                }
                TokenOwner::PlatformApp(_) => {
                    return Err(ApiError::Unauthorized(
                        "platform tokens work on /platform routes only".into(),
                    ));
                }
            };
            Caller {
                principal,
                via_session: false,
            }
        } else if let Some(secret) = session_cookie(&parts.headers) {
            let user_id = auth::session_user(&mut conn, &secret)
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized("Your session has expired; sign in again".into())
                })?;
            check_same_origin(parts, &state.config.public_url)?;
            // An account requires two-factor authentication of this user, who has not turned
            // it on: the browser session may only enrol (tokens are not gated, as before).
            if !allowed_while_enrolling(parts)
                && two_factor::enrollment_required_unscoped(&mut conn, user_id).await?
            {
                return Err(ApiError::MfaEnrollmentRequired);
            }
            Caller {
                principal: Principal::User(accounts::get_user_unscoped(&mut conn, user_id).await?),
                via_session: true,
            }
        } else {
            return Err(ApiError::Unauthorized(
                "You need to sign in or sign up before continuing.".into(),
            ));
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A caller acting inside one account.
#[derive(Clone, Debug)]
pub struct AccountCtx {
    pub caller: Caller,
    pub scope: AccountScope,
    pub role: Option<Role>,
}

impl AccountCtx {
    pub fn account_id(&self) -> i64 {
        self.scope.account_id()
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Some(Role::Administrator) {
            Ok(())
        } else {
            Err(ApiError::forbidden_admin())
        }
    }

    /// Supervisors and administrators (live view, reports, survey answers).
    pub fn require_supervisor(&self) -> Result<(), ApiError> {
        if self.role.is_some_and(|r| r.supervises()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only supervisors and administrators may do this".into(),
            ))
        }
    }

    /// Users only (bots may not): profile-like actions.
    pub fn require_user(&self) -> Result<&User, ApiError> {
        self.caller
            .user()
            .ok_or_else(|| ApiError::Forbidden("agent bots cannot do this".into()))
    }
}

fn account_id_from_path(params: &RawPathParams) -> Result<i64, ApiError> {
    let raw = params
        .iter()
        .find(|(k, _)| *k == "account_id")
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::Internal("route without account_id".into()))?;
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid account id")))
}

impl FromRequestParts<AppState> for AccountCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let account_id = account_id_from_path(&params)?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let not_member =
            || ApiError::Forbidden("You are not authorized to access this account".into());
        let (scope, role) = match &caller.principal {
            Principal::User(user) => {
                let mut conn = state.store.read().await?;
                let scope = scope::for_user(&mut conn, user.id, account_id)
                    .await?
                    .ok_or_else(not_member)?;
                let role = match scope.actor() {
                    throughline_core::role::Actor::User { role, .. } => Some(role),
                    _ => None,
                };
                (scope, role)
            }
            Principal::AgentBot(bot) => {
                if bot.account_id != Some(account_id) {
                    return Err(not_member());
                }
                (AccountScope::agent_bot(account_id, bot.id), None)
            }
        };
        Ok(AccountCtx {
            caller,
            scope,
            role,
        })
    }
}

/// A platform app, by its `api_access_token`.
#[derive(Clone, Copy, Debug)]
pub struct PlatformApp {
    pub id: i64,
}

impl FromRequestParts<AppState> for PlatformApp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token(&parts.headers).ok_or_else(|| {
            ApiError::Unauthorized("a platform app access token is required".into())
        })?;
        let mut conn = state.store.read().await?;
        match auth::token_owner(&mut conn, &token).await? {
            Some(TokenOwner::PlatformApp(id)) => Ok(PlatformApp { id }),
            _ => Err(ApiError::Unauthorized(
                "Invalid platform app access token".into(),
            )),
        }
    }
}
