//! Signing in and out, and the signed-in user's profile.

use std::time::Instant;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use throughline_core::crypto;
use throughline_core::model::User;
use throughline_core::views::{ProfileView, UserAccountView};
use throughline_store::accounts::{self, UserChanges};
use throughline_store::auth::{self, NewSession, TokenOwner};
use throughline_store::{Conn, Store};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::auth::{SESSION_COOKIE, session_cookie};
use crate::extract::{Caller, Json, PeerAddr};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(profile, update_profile))
        .routes(routes!(reset_access_token))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SignIn {
    email: String,
    password: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct SignInAnswer {
    data: ProfileView,
}

/// The client address, from the socket or (behind a trusted proxy) `X-Forwarded-For`.
pub(crate) fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> String {
    if state.config.trust_proxy
        && let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded.split(',').next()
    {
        return first.trim().to_owned();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Signs in with email and password: answers like Chatwoot (`data.access_token`,
/// `data.account_id`, `data.accounts`) and sets the web app's session cookie.
#[utoipa::path(post, path = "/auth/sign_in", tag = "Auth", request_body = SignIn, responses(
    (status = 200, body = SignInAnswer), (status = 401, body = crate::error::ErrorBody),
    (status = 429, body = crate::error::ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    let email = body.email.trim().to_lowercase();
    let keys = vec![format!("email:{email}"), format!("ip:{ip}")];
    if let Some(retry_after) = state.throttle.blocked_for(&keys, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let mut conn = state.store.read().await?;
    let found = accounts::find_user_by_email_unscoped(&mut conn, &email).await?;
    drop(conn);
    // Verify against a real hash even for unknown emails, so timing does not reveal accounts.
    let (user, hash) = match found {
        Some((u, Some(h))) => (Some(u), h),
        _ => (None, dummy_hash().to_owned()),
    };
    let password = body.password;
    let verified = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| verified) else {
        state.throttle.record_failure(&keys, Instant::now());
        return Err(ApiError::Unauthorized(
            "Invalid login credentials. Please try again.".into(),
        ));
    };
    state.throttle.record_success(&keys);

    let mut tx = state.store.begin().await?;
    let secret = auth::create_session(
        tx.conn(),
        NewSession {
            user_id: user.id,
            user_agent: headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ip: Some(ip),
            ttl_ms: i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX),
        },
    )
    .await?;
    if auth::current_token(tx.conn(), state.store.key(), TokenOwner::User(user.id))
        .await?
        .is_none()
    {
        auth::issue_token(tx.conn(), state.store.key(), TokenOwner::User(user.id)).await?;
    }
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let data = profile_view(&mut conn, &state.store, &user).await?;
    let mut resp = axum::Json(SignInAnswer { data }).into_response();
    resp.headers_mut().insert(
        SET_COOKIE,
        session_cookie_header(&state, &secret, state.config.session_ttl.as_secs())?,
    );
    Ok(resp)
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password("not-a-real-password").unwrap_or_default())
}

fn session_cookie_header(state: &AppState, value: &str, max_age: u64) -> ApiResult<HeaderValue> {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Ends the browser session (the access token stays valid).
#[utoipa::path(delete, path = "/auth/sign_out", tag = "Auth", responses((status = 200, body = super::Empty)))]
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(secret) = session_cookie(&headers) {
        let mut tx = state.store.begin().await?;
        auth::delete_session(tx.conn(), &secret).await?;
        tx.commit().await?;
    }
    let mut resp = super::ok().into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, session_cookie_header(&state, "", 0)?);
    Ok(resp)
}

pub(crate) async fn profile_view(
    conn: &mut Conn,
    store: &Store,
    user: &User,
) -> ApiResult<ProfileView> {
    let memberships = accounts::memberships_of_user(conn, user.id).await?;
    let token = auth::current_token(conn, store.key(), TokenOwner::User(user.id)).await?;
    let first = memberships.first();
    Ok(ProfileView {
        id: user.id,
        access_token: token,
        account_id: first.map(|(a, _)| a.id),
        available_name: user.available_name().into(),
        avatar_url: user.avatar_url.clone().unwrap_or_default(),
        confirmed: true,
        display_name: user.display_name.clone(),
        message_signature: user.message_signature.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        provider: "email".into(),
        pubsub_token: user.pubsub_token.clone(),
        role: first.map(|(_, m)| m.role.as_str().to_owned()),
        ui_settings: user.ui_settings.clone(),
        uid: user.email.clone(),
        kind: None,
        custom_attributes: user.custom_attributes.clone(),
        locale: user.locale.clone(),
        accounts: memberships
            .iter()
            .map(|(a, m)| UserAccountView {
                id: a.id,
                name: a.name.clone(),
                status: a.status.clone(),
                role: m.role.as_str().into(),
                availability: m.availability.as_str().into(),
                availability_status: m.availability.as_str().into(),
                auto_offline: m.auto_offline,
                permissions: vec![m.role.as_str().into()],
            })
            .collect(),
    })
}

fn require_user(caller: &Caller) -> ApiResult<&User> {
    caller
        .user()
        .ok_or_else(|| ApiError::Forbidden("agent bots have no profile".into()))
}

/// The signed-in user, with their access token and accounts.
#[utoipa::path(get, path = "/api/v1/profile", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 401, body = crate::error::ErrorBody)))]
async fn profile(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<ProfileView>> {
    let user = require_user(&caller)?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, user).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct ProfileFields {
    name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    message_signature: Option<String>,
    /// en, pt-BR or pl: the web app's language.
    locale: Option<String>,
    #[schema(value_type = Object)]
    ui_settings: Option<serde_json::Value>,
    password: Option<String>,
    current_password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ProfileUpdate {
    /// Chatwoot nests the fields under `profile`; flat fields are accepted too.
    profile: Option<ProfileFields>,
    #[serde(flatten)]
    flat: ProfileFields,
}

pub(crate) const LOCALES: [&str; 3] = ["en", "pt-BR", "pl"];

/// Updates the signed-in user's profile; changing the password needs the current one.
#[utoipa::path(put, path = "/api/v1/profile", tag = "Profile", request_body = ProfileUpdate,
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView), (status = 422, body = crate::error::ErrorBody)))]
async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ProfileUpdate>,
) -> ApiResult<axum::Json<ProfileView>> {
    use throughline_core::validate::{optional_text, required_text};
    let user = require_user(&caller)?.clone();
    let f = body.profile.unwrap_or(body.flat);
    let mut changes = UserChanges {
        name: f
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        display_name: f
            .display_name
            .as_deref()
            .map(|n| optional_text("display_name", n, 255))
            .transpose()?,
        message_signature: f
            .message_signature
            .as_deref()
            .map(|n| optional_text("message_signature", n, 5000))
            .transpose()?,
        ui_settings: f.ui_settings,
        ..Default::default()
    };
    if let Some(email) = f.email.as_deref() {
        changes.email = Some(
            throughline_core::identity::normalize_email(email)
                .map_err(|e| ApiError::invalid("email", "invalid", e.to_string()))?,
        );
    }
    if let Some(locale) = f.locale {
        if !LOCALES.contains(&locale.as_str()) {
            return Err(ApiError::invalid(
                "locale",
                "inclusion",
                "locale must be en, pt-BR or pl",
            ));
        }
        changes.locale = Some(Some(locale));
    }
    let mut tx = state.store.begin().await?;
    if let Some(new_password) = f.password {
        let current = f.current_password.unwrap_or_default();
        let hash = accounts::password_hash_unscoped(tx.conn(), user.id)
            .await?
            .unwrap_or_default();
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&current, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !ok {
            return Err(ApiError::invalid(
                "current_password",
                "invalid",
                "current password is incorrect",
            ));
        }
        let hash = hash_new_password(new_password).await?;
        accounts::set_password_unscoped(tx.conn(), user.id, &hash).await?;
        // Other browsers signed in with the old password are signed out.
        auth::delete_sessions_of_user(tx.conn(), user.id).await?;
    }
    let updated = accounts::update_user_unscoped(tx.conn(), user.id, changes).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, &updated).await?,
    ))
}

/// Checks the password policy and hashes off the async runtime.
pub(crate) async fn hash_new_password(password: String) -> ApiResult<String> {
    let len = password.chars().count();
    if !(crypto::MIN_PASSWORD_LEN..=crypto::MAX_PASSWORD_LEN).contains(&len) {
        return Err(ApiError::invalid(
            "password",
            "length",
            format!(
                "password must be {} to {} characters",
                crypto::MIN_PASSWORD_LEN,
                crypto::MAX_PASSWORD_LEN
            ),
        ));
    }
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Replaces the signed-in user's access token; the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/profile/reset_access_token", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = ProfileView)))]
async fn reset_access_token(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<ProfileView>> {
    let user = require_user(&caller)?.clone();
    let mut tx = state.store.begin().await?;
    auth::issue_token(tx.conn(), state.store.key(), TokenOwner::User(user.id)).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        profile_view(&mut conn, &state.store, &user).await?,
    ))
}
