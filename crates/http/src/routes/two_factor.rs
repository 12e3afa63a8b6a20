//! Two-factor authentication in the profile, at Chatwoot's paths (`/api/v1/profile/mfa`):
//! status, enrolment (a secret offered with its `otpauth://` URI and a QR code; on only after a
//! correct code, which hands out ten recovery codes once), new recovery codes, and turning it
//! off (password and a code). The sign-in's second step is in `auth.rs`; both check codes with
//! [`spend_code`].

use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use throughline_core::crypto;
use throughline_core::model::User;
use throughline_core::two_factor as rules;
use throughline_store::{Conn, accounts, now_ms, two_factor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, PeerAddr};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(status, enrol, disable))
        .routes(routes!(verify))
        .routes(routes!(backup_codes))
}

/// `GET /api/v1/profile/mfa`: Chatwoot's `enabled` and `backup_codes_generated`, and ours.
#[derive(Serialize, utoipa::ToSchema)]
struct MfaStatus {
    enabled: bool,
    backup_codes_generated: bool,
    /// Throughline: recovery codes not used yet.
    backup_codes_remaining: i64,
    /// Throughline: an account requires two-factor authentication of this user, who has not
    /// turned it on yet (a browser session may do nothing else until they do).
    enrollment_required: bool,
}

/// A new secret, shown once: Chatwoot's `provisioning_url` and `secret`, and the QR code.
#[derive(Serialize, utoipa::ToSchema)]
struct MfaSetup {
    /// The `otpauth://totp/…` URI authenticator apps take.
    provisioning_url: String,
    /// The same secret in base32, to type in by hand.
    secret: String,
    /// Throughline: the URI's QR code as a standalone SVG picture.
    qr_code_svg: String,
}

/// Chatwoot's answer to a correct first code: on, with the recovery codes (shown once).
#[derive(Serialize, utoipa::ToSchema)]
struct MfaVerified {
    enabled: bool,
    backup_codes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BackupCodes {
    backup_codes: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct CodeBody {
    /// The 6-digit code of the authenticator app.
    otp_code: Option<String>,
    /// A recovery code instead (where a code is enough: turning it off, new recovery codes).
    backup_code: Option<String>,
    /// The account password (turning it off).
    password: Option<String>,
}

fn user_of(caller: &Caller) -> ApiResult<&User> {
    caller
        .user()
        .ok_or_else(|| ApiError::Forbidden("agent bots have no profile".into()))
}

fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

fn invalid_code() -> ApiError {
    ApiError::invalid(
        "otp_code",
        "invalid",
        "the code is wrong or was already used",
    )
}

/// Checks a second factor of `user_id` and spends it, inside `conn` (a transaction, which the
/// caller rolls back if it refuses anything else): a TOTP code of an unused step — a recovery
/// code is taken in `otp_code` too — or an unused recovery code. `Ok(false)` when it is wrong,
/// already used, or two-factor authentication is not on.
pub(crate) async fn spend_code(
    conn: &mut Conn,
    key: &crypto::ServerKey,
    user_id: i64,
    otp_code: Option<&str>,
    backup_code: Option<&str>,
) -> ApiResult<bool> {
    let recovery = backup_code
        .or(otp_code.filter(|c| rules::normalize_code(c).is_none()))
        .and_then(rules::normalize_recovery_code);
    if let Some(code) = recovery {
        if !two_factor::is_enabled_unscoped(&mut *conn, user_id).await? {
            return Ok(false);
        }
        return Ok(two_factor::use_recovery_code_unscoped(conn, key, user_id, &code).await?);
    }
    let Some(code) = otp_code else {
        return Ok(false);
    };
    let Some(tf) = two_factor::get_unscoped(&mut *conn, key, user_id).await? else {
        return Ok(false);
    };
    if !tf.enabled {
        return Ok(false);
    }
    accept_totp(conn, user_id, &tf, code).await
}

async fn accept_totp(
    conn: &mut Conn,
    user_id: i64,
    tf: &two_factor::TwoFactor,
    code: &str,
) -> ApiResult<bool> {
    match rules::check_code(&tf.secret, code, now_secs()) {
        Some(step) if rules::accepts_step(step, tf.last_used_step) => {
            Ok(two_factor::accept_step_unscoped(conn, user_id, step).await?)
        }
        _ => Ok(false),
    }
}

/// Whether the user has turned two-factor authentication on, and what is left of it.
#[utoipa::path(get, path = "/api/v1/profile/mfa", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = MfaStatus)))]
async fn status(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<MfaStatus>> {
    let user = user_of(&caller)?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(status_of(&mut conn, user.id).await?))
}

async fn status_of(conn: &mut Conn, user_id: i64) -> ApiResult<MfaStatus> {
    let enabled = two_factor::is_enabled_unscoped(&mut *conn, user_id).await?;
    let (remaining, generated) =
        two_factor::recovery_codes_left_unscoped(&mut *conn, user_id).await?;
    let enrollment_required = two_factor::enrollment_required_unscoped(conn, user_id).await?;
    Ok(MfaStatus {
        enabled,
        backup_codes_generated: generated,
        backup_codes_remaining: remaining,
        enrollment_required,
    })
}

/// Starts enrolling: a new secret, shown once as an `otpauth://` URI, its QR code and base32.
/// Nothing changes at sign-in until a code from it is confirmed (`POST …/mfa/verify`); asking
/// again replaces the secret offered.
#[utoipa::path(post, path = "/api/v1/profile/mfa", tag = "Profile",
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = MfaSetup), (status = 422, body = crate::error::ErrorBody)))]
async fn enrol(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<MfaSetup>> {
    let user = user_of(&caller)?;
    let secret = rules::new_secret();
    let uri = rules::provisioning_uri(&secret, &user.email)
        .ok_or_else(|| ApiError::Internal("could not build the provisioning URI".into()))?;
    let svg = rules::qr_svg(&uri)
        .ok_or_else(|| ApiError::Internal("could not draw the QR code".into()))?;
    let mut tx = state.store.begin().await?;
    two_factor::start_enrolment_unscoped(tx.conn(), state.store.key(), user.id, &secret).await?;
    tx.commit().await?;
    Ok(axum::Json(MfaSetup {
        provisioning_url: uri,
        secret,
        qr_code_svg: svg,
    }))
}

/// Confirms the enrolment with a code from the app: two-factor authentication is on, and the
/// answer carries ten recovery codes, shown this once (each works once).
#[utoipa::path(post, path = "/api/v1/profile/mfa/verify", tag = "Profile", request_body = CodeBody,
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = MfaVerified), (status = 422, body = crate::error::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    audit: crate::audit::Audit,
    Json(body): Json<CodeBody>,
) -> ApiResult<axum::Json<MfaVerified>> {
    let user = user_of(&caller)?;
    let code = body.otp_code.as_deref().unwrap_or_default();
    let mut tx = state.store.begin().await?;
    let Some(tf) = two_factor::get_unscoped(tx.conn(), state.store.key(), user.id).await? else {
        return Err(ApiError::Unprocessable(
            "start the enrolment first (POST /api/v1/profile/mfa)".into(),
        ));
    };
    if tf.enabled {
        return Err(ApiError::Unprocessable(
            "two-factor authentication is already on".into(),
        ));
    }
    if !accept_totp(tx.conn(), user.id, &tf, code).await? {
        return Err(invalid_code());
    }
    two_factor::enable_unscoped(tx.conn(), user.id).await?;
    let codes = rules::new_recovery_codes();
    two_factor::replace_recovery_codes_unscoped(tx.conn(), state.store.key(), user.id, &codes)
        .await?;
    crate::audit::two_factor_changed(tx.conn(), &audit, user, "mfa_enabled", true.into()).await?;
    tx.commit().await?;
    Ok(axum::Json(MfaVerified {
        enabled: true,
        backup_codes: codes,
    }))
}

/// Checks the password (when `with_password`) and a second factor for a change to the second
/// factor itself, throttled like the sign-in's codes. Answers the transaction in which the code
/// is spent, for the change to be made in.
async fn confirm(
    state: &AppState,
    user: &User,
    ip: &str,
    body: &CodeBody,
    with_password: bool,
) -> ApiResult<throughline_store::Tx> {
    let throttle = &state.two_factor_throttle;
    if let Some(retry_after) = throttle.refused(ip, &user.email, Instant::now()) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    if with_password {
        // Checked before the transaction: the writer is not held while Argon2 runs.
        let password = body.password.clone().unwrap_or_default();
        let mut conn = state.store.read().await?;
        let hash = accounts::password_hash_unscoped(&mut conn, user.id)
            .await?
            .unwrap_or_default();
        drop(conn);
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !ok {
            throttle.failed(ip, &user.email, Instant::now());
            return Err(ApiError::invalid(
                "password",
                "invalid",
                "the password is incorrect",
            ));
        }
    }
    let mut tx = state.store.begin().await?;
    if !two_factor::is_enabled_unscoped(tx.conn(), user.id).await? {
        return Err(ApiError::Unprocessable(
            "two-factor authentication is not on".into(),
        ));
    }
    let spent = spend_code(
        tx.conn(),
        state.store.key(),
        user.id,
        body.otp_code.as_deref(),
        body.backup_code.as_deref(),
    )
    .await?;
    if !spent {
        throttle.failed(ip, &user.email, Instant::now());
        return Err(invalid_code());
    }
    throttle.succeeded(ip, &user.email);
    Ok(tx)
}

/// Turns two-factor authentication off: needs the password and a code (or a recovery code).
#[utoipa::path(delete, path = "/api/v1/profile/mfa", tag = "Profile", request_body = CodeBody,
    security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = MfaStatus), (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    audit: crate::audit::Audit,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<CodeBody>,
) -> ApiResult<axum::Json<MfaStatus>> {
    let user = user_of(&caller)?.clone();
    let ip = super::client_ip(&state, &headers, peer);
    let mut tx = confirm(&state, &user, &ip, &body, true).await?;
    two_factor::disable_unscoped(tx.conn(), user.id).await?;
    crate::audit::two_factor_changed(tx.conn(), &audit, &user, "mfa_enabled", false.into()).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(status_of(&mut conn, user.id).await?))
}

/// New recovery codes (the old ones stop working), with a code from the app.
#[utoipa::path(post, path = "/api/v1/profile/mfa/backup_codes", tag = "Profile",
    request_body = CodeBody, security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 200, body = BackupCodes), (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
async fn backup_codes(
    State(state): State<AppState>,
    caller: Caller,
    audit: crate::audit::Audit,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Json(body): Json<CodeBody>,
) -> ApiResult<axum::Json<BackupCodes>> {
    let user = user_of(&caller)?.clone();
    let ip = super::client_ip(&state, &headers, peer);
    let mut tx = confirm(&state, &user, &ip, &body, false).await?;
    let codes = rules::new_recovery_codes();
    two_factor::replace_recovery_codes_unscoped(tx.conn(), state.store.key(), user.id, &codes)
        .await?;
    let changed = throughline_core::audit::CHANGED.into();
    crate::audit::two_factor_changed(tx.conn(), &audit, &user, "mfa_recovery_codes", changed)
        .await?;
    tx.commit().await?;
    Ok(axum::Json(BackupCodes {
        backup_codes: codes,
    }))
}
