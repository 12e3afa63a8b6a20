//! Email inboxes: their SMTP/IMAP settings (validated, passwords sealed by the store and never
//! shown) and the connection test.

use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_channels::email::EmailSessions;
use throughline_core::validate::FieldError;
use throughline_core::views::EmailChannelView;
use throughline_store::email::{self, EmailChannel, ImapConfig, SmtpConfig};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(test_connection))
}

/// The email fields of `channel` in an inbox create/update body (Chatwoot's names).
#[derive(Deserialize, utoipa::ToSchema, Default, Clone)]
pub(super) struct EmailFields {
    pub email: Option<String>,
    /// Throughline: text appended to every email sent from this inbox.
    pub signature: Option<String>,
    pub smtp_enabled: Option<bool>,
    pub smtp_address: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_login: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_domain: Option<String>,
    pub smtp_enable_ssl_tls: Option<bool>,
    pub smtp_enable_starttls_auto: Option<bool>,
    pub imap_enabled: Option<bool>,
    pub imap_address: Option<String>,
    pub imap_port: Option<i64>,
    pub imap_login: Option<String>,
    pub imap_password: Option<String>,
    pub imap_enable_ssl: Option<bool>,
}

fn text(v: &Option<String>) -> Option<Option<String>> {
    v.as_ref().map(|s| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    })
}

fn host(field: &str, v: &str) -> Result<String, FieldError> {
    let h = v.trim();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            "must be a host name or IP address",
        ))
    }
}

/// Applies `f` to `current` (or to a new channel) and checks the result. All field errors are
/// reported together, with their paths under `channel.`.
pub(super) fn apply(
    f: &EmailFields,
    current: Option<EmailChannel>,
    inbox_id: i64,
    account_id: i64,
) -> ApiResult<EmailChannel> {
    let mut errors = Vec::new();
    let mut c = current.unwrap_or(EmailChannel {
        inbox_id,
        account_id,
        email: String::new(),
        signature: None,
        smtp: SmtpConfig {
            enable_starttls_auto: true,
            ..SmtpConfig::default()
        },
        imap: ImapConfig {
            enable_ssl: true,
            ..ImapConfig::default()
        },
    });
    if let Some(e) = &f.email {
        match throughline_core::identity::normalize_email(e) {
            Ok(e) => c.email = e,
            Err(_) => errors.push(FieldError::new(
                "channel.email",
                "invalid",
                "must be an email address such as support@company.example",
            )),
        }
    }
    if c.email.is_empty() && f.email.is_none() {
        errors.push(FieldError::new(
            "channel.email",
            "blank",
            "an email inbox needs its address",
        ));
    }
    if let Some(s) = text(&f.signature) {
        c.signature = s;
    }
    if let Some(v) = f.smtp_enabled {
        c.smtp.enabled = v;
    }
    if let Some(a) = &f.smtp_address {
        match text(&Some(a.clone())).flatten() {
            None => c.smtp.address = None,
            Some(a) => match host("channel.smtp_address", &a) {
                Ok(h) => c.smtp.address = Some(h),
                Err(e) => errors.push(e),
            },
        }
        if f.smtp_enabled.is_none() {
            c.smtp.enabled = c.smtp.address.is_some();
        }
    }
    if let Some(p) = f.smtp_port {
        c.smtp.port = Some(p);
    }
    if let Some(l) = text(&f.smtp_login) {
        c.smtp.login = l;
    }
    if let Some(p) = &f.smtp_password
        && !p.is_empty()
    {
        c.smtp.password = Some(p.clone());
    }
    if let Some(d) = text(&f.smtp_domain) {
        c.smtp.domain = d;
    }
    if let Some(v) = f.smtp_enable_ssl_tls {
        c.smtp.enable_ssl_tls = v;
    }
    if let Some(v) = f.smtp_enable_starttls_auto {
        c.smtp.enable_starttls_auto = v;
    }
    if let Some(v) = f.imap_enabled {
        c.imap.enabled = v;
    }
    if let Some(a) = &f.imap_address {
        match text(&Some(a.clone())).flatten() {
            None => c.imap.address = None,
            Some(a) => match host("channel.imap_address", &a) {
                Ok(h) => c.imap.address = Some(h),
                Err(e) => errors.push(e),
            },
        }
    }
    if let Some(p) = f.imap_port {
        c.imap.port = Some(p);
    }
    if let Some(l) = text(&f.imap_login) {
        c.imap.login = l;
    }
    if let Some(p) = &f.imap_password
        && !p.is_empty()
    {
        c.imap.password = Some(p.clone());
    }
    if let Some(v) = f.imap_enable_ssl {
        c.imap.enable_ssl = v;
    }
    for (field, port) in [
        ("channel.smtp_port", c.smtp.port),
        ("channel.imap_port", c.imap.port),
    ] {
        if let Some(p) = port
            && !(1..=65535).contains(&p)
        {
            errors.push(FieldError::new(
                field,
                "invalid",
                "must be a port from 1 to 65535",
            ));
        }
    }
    if c.smtp.enabled {
        if c.smtp.address.is_none() {
            errors.push(FieldError::new(
                "channel.smtp_address",
                "blank",
                "sending by SMTP needs the server's address",
            ));
        }
        if c.smtp.enable_ssl_tls
            && c.smtp.enable_starttls_auto
            && f.smtp_enable_starttls_auto == Some(true)
        {
            errors.push(FieldError::new(
                "channel.smtp_enable_ssl_tls",
                "invalid",
                "choose SSL/TLS or STARTTLS, not both",
            ));
        }
    }
    if c.imap.enabled {
        for (field, missing) in [
            ("channel.imap_address", c.imap.address.is_none()),
            ("channel.imap_login", c.imap.login.is_none()),
            ("channel.imap_password", c.imap.password.is_none()),
        ] {
            if missing {
                errors.push(FieldError::new(field, "blank", "fetching by IMAP needs it"));
            }
        }
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

pub(super) fn view(c: &EmailChannel, admin: bool) -> EmailChannelView {
    let a = |v: Option<String>| if admin { v } else { None };
    let b = |v: bool| admin.then_some(v);
    EmailChannelView {
        email: c.email.clone(),
        forward_to_email: Some(c.email.clone()),
        signature: c.signature.clone(),
        smtp_enabled: b(c.smtp.enabled),
        smtp_address: a(c.smtp.address.clone()),
        smtp_port: if admin { c.smtp.port } else { None },
        smtp_login: a(c.smtp.login.clone()),
        smtp_domain: a(c.smtp.domain.clone()),
        smtp_enable_ssl_tls: b(c.smtp.enable_ssl_tls),
        smtp_enable_starttls_auto: b(c.smtp.enable_starttls_auto),
        smtp_password_set: b(c.smtp.password.is_some()),
        imap_enabled: b(c.imap.enabled),
        imap_address: a(c.imap.address.clone()),
        imap_port: if admin { c.imap.port } else { None },
        imap_login: a(c.imap.login.clone()),
        imap_enable_ssl: b(c.imap.enable_ssl),
        imap_password_set: b(c.imap.password.is_some()),
    }
}

/// One side of a connection test.
#[derive(Serialize, utoipa::ToSchema)]
struct ConnectionCheck {
    ok: bool,
    /// The server's own words when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConnectionReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp: Option<ConnectionCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    imap: Option<ConnectionCheck>,
}

/// Tries the inbox's SMTP relay (and IMAP server when fetching is on) with its stored settings
/// and reports each server's exact error (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/email/test_connection",
    tag = "Inboxes", params(("account_id" = i64, Path), ("id" = i64, Path)),
    security(("userApiKey" = [])),
    responses((status = 200, body = ConnectionReport), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn test_connection(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<ConnectionReport>> {
    ctx.require_admin()?;
    let channel = {
        let mut conn = state.store.read().await?;
        // Another account's inbox is not found, whatever its channel.
        throughline_store::inboxes::get(&mut conn, state.store.key(), &ctx.scope, id).await?;
        email::get(&mut conn, state.store.key(), &ctx.scope, id)
            .await?
            .ok_or_else(|| ApiError::invalid("id", "invalid", "this inbox is not an email inbox"))?
    };
    let timeout = Duration::from_secs(15);
    let smtp = match channel.smtp_settings(timeout) {
        Some(settings) => Some(
            match throughline_channels::email::send::test_connection(&settings).await {
                Ok(()) => ConnectionCheck {
                    ok: true,
                    error: None,
                },
                Err(e) => ConnectionCheck {
                    ok: false,
                    error: Some(e.to_string()),
                },
            },
        ),
        None => None,
    };
    let imap = if channel.imap.enabled {
        Some(match channel.imap_settings(timeout) {
            None => ConnectionCheck {
                ok: false,
                error: Some("IMAP is on but its address, login or password is missing".into()),
            },
            Some(settings) => {
                match throughline_channels::email::imap::test_login(&settings).await {
                    Ok(()) => ConnectionCheck {
                        ok: true,
                        error: None,
                    },
                    Err(e) => ConnectionCheck {
                        ok: false,
                        error: Some(e.to_string()),
                    },
                }
            }
        })
    } else {
        None
    };
    Ok(axum::Json(ConnectionReport { smtp, imap }))
}
