//! Portals: a help center each, named by its slug in every path; administrators write them.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::help_center::{Portal, valid_slug};
use throughline_core::validate::{FieldError, hex_color, http_url, optional_text, required_text};
use throughline_store::Found;
use throughline_store::help_center::{self as store, PortalFields};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::super::uploads::{self, file_url};
use super::super::super::{Empty, blank_as_none, double_option, ok};
use super::super::views::{self, PortalList, PortalView};
use super::{locale_field, portal_of};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list_portals, create_portal))
        .routes(routes!(show_portal, update_portal, delete_portal))
        .routes(routes!(archive_portal))
        .routes(routes!(delete_logo))
}
#[derive(Deserialize, utoipa::ToSchema)]
struct PortalConfig {
    default_locale: Option<String>,
    allowed_locales: Option<Vec<String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PortalBody {
    name: Option<String>,
    slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    color: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    custom_domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    header_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    homepage_link: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    page_title: Option<Option<String>>,
    archived: Option<bool>,
    config: Option<PortalConfig>,
    /// The website inbox whose widget shows the portal.
    #[serde(default, deserialize_with = "double_option")]
    inbox_id: Option<Option<i64>>,
    /// The logo: an upload of this account (`blob_id` of `POST …/upload`). Chatwoot's
    /// `DELETE …/logo` removes it.
    #[serde(default, deserialize_with = "blank_as_none")]
    blob_id: Option<i64>,
}

/// A host name as a custom domain: lower-case letters, digits, dots and dashes, with a dot.
fn custom_domain(raw: &str) -> Result<Option<String>, FieldError> {
    let v = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if v.is_empty() {
        return Ok(None);
    }
    let ok = v.len() <= 253
        && v.contains('.')
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(Some(v))
    } else {
        Err(FieldError::new(
            "custom_domain",
            "invalid",
            "custom_domain must be a host name like help.example.com",
        ))
    }
}

/// The portal `body` makes of `current` (or of nothing, on create), checked.
async fn portal_fields(
    state: &AppState,
    ctx: &AccountCtx,
    current: Option<&Portal>,
    body: PortalBody,
) -> ApiResult<PortalFields> {
    let mut errors = Vec::new();
    let mut f = current.map(PortalFields::from).unwrap_or(PortalFields {
        name: String::new(),
        slug: String::new(),
        color: None,
        custom_domain: None,
        header_text: None,
        homepage_link: None,
        page_title: None,
        archived: false,
        default_locale: "en".into(),
        allowed_locales: vec!["en".into()],
        inbox_id: None,
        logo_upload_id: None,
    });
    let mut take = |r: Result<(), FieldError>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    if let Some(name) = body.name.as_deref().or(current.is_none().then_some("")) {
        take(required_text("name", name, 255).map(|n| f.name = n));
    }
    if let Some(slug) = body.slug.as_deref().or(current.is_none().then_some("")) {
        let slug = slug.trim().to_ascii_lowercase();
        take(if valid_slug(&slug) {
            f.slug = slug;
            Ok(())
        } else {
            Err(FieldError::new(
                "slug",
                "invalid",
                "slug must be lower-case letters, digits, - and _",
            ))
        });
    }
    if let Some(color) = body.color {
        take(match color.filter(|c| !c.trim().is_empty()) {
            Some(c) => hex_color("color", &c).map(|c| f.color = Some(c)),
            None => {
                f.color = None;
                Ok(())
            }
        });
    }
    if let Some(domain) = body.custom_domain {
        take(custom_domain(domain.as_deref().unwrap_or("")).map(|d| f.custom_domain = d));
    }
    for (field, value, slot) in [
        ("header_text", body.header_text, &mut f.header_text),
        ("page_title", body.page_title, &mut f.page_title),
    ] {
        if let Some(v) = value {
            take(optional_text(field, v.as_deref().unwrap_or(""), 255).map(|v| *slot = v));
        }
    }
    if let Some(link) = body.homepage_link {
        take(match link.filter(|l| !l.trim().is_empty()) {
            Some(l) => http_url("homepage_link", &l).map(|l| f.homepage_link = Some(l)),
            None => {
                f.homepage_link = None;
                Ok(())
            }
        });
    }
    if let Some(a) = body.archived {
        f.archived = a;
    }
    if let Some(config) = body.config {
        if let Some(locales) = config.allowed_locales {
            let mut checked = Vec::new();
            for l in &locales {
                match locale_field("config.allowed_locales", l) {
                    Ok(l) if !checked.contains(&l) => checked.push(l),
                    Ok(_) => {}
                    Err(e) => errors.push(e),
                }
            }
            if checked.is_empty() {
                errors.push(FieldError::new(
                    "config.allowed_locales",
                    "blank",
                    "a portal needs at least one locale",
                ));
            } else {
                f.allowed_locales = checked;
            }
        }
        if let Some(d) = config.default_locale {
            match locale_field("config.default_locale", &d) {
                Ok(d) => f.default_locale = d,
                Err(e) => errors.push(e),
            }
        }
    }
    if !f.allowed_locales.contains(&f.default_locale) {
        f.allowed_locales.insert(0, f.default_locale.clone());
    }
    if let Some(inbox) = body.inbox_id {
        f.inbox_id = inbox;
    }
    if let Some(inbox_id) = f.inbox_id {
        let mut conn = state.store.read().await?;
        // Not found is the client's mistake; a database that cannot answer is not.
        let inbox =
            throughline_store::inboxes::get(&mut conn, state.store.key(), &ctx.scope, inbox_id)
                .await
                .found()?;
        if !inbox.is_some_and(|i| i.channel_type == throughline_core::model::ChannelType::WebWidget)
        {
            errors.push(FieldError::new(
                "inbox_id",
                "invalid",
                "inbox_id must be a website inbox of this account",
            ));
        }
    }
    if let Some(blob_id) = body.blob_id {
        let mut conn = state.store.read().await?;
        let upload = throughline_store::uploads::get(&mut conn, &ctx.scope, blob_id)
            .await
            .found()?;
        if upload.is_some() {
            f.logo_upload_id = Some(blob_id);
        } else {
            errors.push(FieldError::new(
                "blob_id",
                "invalid",
                "blob_id must be an image uploaded to this account",
            ));
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

async fn portal_view(state: &AppState, ctx: &AccountCtx, portal: &Portal) -> ApiResult<PortalView> {
    let mut conn = state.store.read().await?;
    let counts = store::article_counts(&mut conn, portal, None, ctx.scope.user_id()).await?;
    let per_locale = store::locale_counts(&mut conn, portal).await?;
    let categories: i64 = per_locale.values().map(|(_, c)| c).sum();
    // Chatwoot's `logo`: the attachment, with the blob's id as `blob_id` (both are the
    // upload's id here).
    let logo = uploads::portal_logo(&mut conn, portal).await?.map(|u| {
        json!({
            "id": u.id,
            "portal_id": portal.id,
            "file_type": u.content_type,
            "account_id": portal.account_id,
            "file_url": file_url(state, &u),
            "blob_id": u.id,
            "filename": u.file_name,
        })
    });
    Ok(views::portal(
        portal,
        &counts,
        &per_locale,
        categories,
        logo,
    ))
}

fn audited(p: &Portal) -> Value {
    throughline_core::audit::record_fields(p, throughline_core::audit::BOOKKEEPING)
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals", tag = "Help Center",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = PortalList)))]
async fn list_portals(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<PortalList>> {
    let portals = {
        let mut conn = state.store.read().await?;
        store::list_portals(&mut conn, &ctx.scope).await?
    };
    let mut out = Vec::with_capacity(portals.len());
    for p in &portals {
        out.push(portal_view(&state, &ctx, p).await?);
    }
    Ok(axum::Json(PortalList {
        meta: json!({"current_page": 1, "portals_count": out.len()}),
        payload: out,
    }))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/portals", tag = "Help Center",
    params(("account_id" = i64, Path)), request_body = PortalBody, security(("userApiKey" = [])),
    responses((status = 200, body = PortalView), (status = 422, body = crate::error::ErrorBody)))]
async fn create_portal(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<PortalBody>,
) -> ApiResult<axum::Json<PortalView>> {
    ctx.require_admin()?;
    let fields = portal_fields(&state, &ctx, None, body).await?;
    let mut tx = state.store.begin().await?;
    let portal = store::create_portal(tx.conn(), &ctx.scope, &fields).await?;
    let change = throughline_core::audit::Change::created(
        throughline_core::audit::kind::PORTAL,
        portal.id,
        &audited(&portal),
    )
    .named("name", &*portal.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(portal_view(&state, &ctx, &portal).await?))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = PortalView), (status = 404, body = crate::error::ErrorBody)))]
async fn show_portal(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, slug)): Path<(i64, String)>,
) -> ApiResult<axum::Json<PortalView>> {
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    Ok(axum::Json(portal_view(&state, &ctx, &portal).await?))
}

async fn save_portal(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    portal: &Portal,
    fields: &PortalFields,
) -> ApiResult<Portal> {
    let mut tx = state.store.begin().await?;
    let updated = store::update_portal(tx.conn(), &ctx.scope, portal.id, fields).await?;
    for domain in [&portal.custom_domain, &updated.custom_domain]
        .into_iter()
        .flatten()
    {
        state.portal_domains.forget(domain);
    }
    let change = throughline_core::audit::Change::updated(
        throughline_core::audit::kind::PORTAL,
        portal.id,
        &audited(portal),
        &audited(&updated),
    )
    .named("name", &*updated.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(updated)
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), request_body = PortalBody, security(("userApiKey" = [])),
    responses((status = 200, body = PortalView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_portal(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, slug)): Path<(i64, String)>,
    Json(body): Json<PortalBody>,
) -> ApiResult<axum::Json<PortalView>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let fields = portal_fields(&state, &ctx, Some(&portal), body).await?;
    let updated = save_portal(&state, &ctx, &audit, &portal, &fields).await?;
    Ok(axum::Json(portal_view(&state, &ctx, &updated).await?))
}

/// Archives a portal (Chatwoot's `archive`): its public pages go away, its articles stay.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/archive", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn archive_portal(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, slug)): Path<(i64, String)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let mut fields = PortalFields::from(&portal);
    fields.archived = true;
    save_portal(&state, &ctx, &audit, &portal, &fields).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_portal(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, slug)): Path<(i64, String)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    let mut tx = state.store.begin().await?;
    store::delete_portal(tx.conn(), &ctx.scope, portal.id).await?;
    if let Some(domain) = &portal.custom_domain {
        state.portal_domains.forget(domain);
    }
    let change = throughline_core::audit::Change::destroyed(
        throughline_core::audit::kind::PORTAL,
        portal.id,
        &audited(&portal),
    )
    .named("name", &*portal.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(ok())
}

/// Removes the portal's logo (Chatwoot's `DELETE …/logo`); the uploaded file stays, as other
/// pages may show it.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/portals/{portal_slug}/logo", tag = "Help Center",
    params(("account_id" = i64, Path), ("portal_slug" = String, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_logo(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, slug)): Path<(i64, String)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let portal = portal_of(&state, &ctx.scope, &slug).await?;
    if portal.logo_upload_id.is_some() {
        let mut fields = PortalFields::from(&portal);
        fields.logo_upload_id = None;
        save_portal(&state, &ctx, &audit, &portal, &fields).await?;
    }
    Ok(ok())
}
