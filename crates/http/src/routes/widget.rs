//! The website chat channel's share of the Client API: the widget's configuration, the
//! visitor's context (page, language, browser) and the inbox's attachment rules.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, REFERER, USER_AGENT};
use throughline_core::model::Inbox;
use throughline_core::views::{PublicAgentView, PublicWidgetView};
use throughline_core::widget::{self, AttachmentPolicy, VisitorContext};
use throughline_store::{AccountScope, accounts, inboxes};

use super::messages::Upload;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The widget's look, forms and limits, with the inbox's agents (names and pictures only).
pub(super) async fn config(state: &AppState, inbox: &Inbox) -> ApiResult<PublicWidgetView> {
    let system = AccountScope::system(inbox.account_id);
    let mut conn = state.store.read().await?;
    let ids = inboxes::member_ids(&mut conn, state.store.key(), &system, inbox.id).await?;
    let members = accounts::agents_by_ids(&mut conn, &system, &ids).await?;
    let portal = throughline_store::help_center::portal_of_inbox(&mut conn, inbox).await?;
    let logo_url = match &portal {
        Some(p) => super::uploads::portal_logo_url(state, &mut conn, p).await?,
        None => None,
    };
    let bot = throughline_store::auth::inbox_agent_bot(&mut conn, &system, inbox.id).await?;
    drop(conn);
    let present: HashMap<i64, &'static str> = state
        .hub
        .present_agents(inbox.account_id)
        .into_iter()
        .map(|(user, _, status)| (user, status.as_str()))
        .collect();
    let agents = members
        .iter()
        .map(|a| {
            let status = present.get(&a.user.id).copied().unwrap_or("offline");
            PublicAgentView::new(&a.user, status)
        })
        .collect();
    let mut view = PublicWidgetView::new(inbox, state.config.upload_limit as u64, agents);
    view.help_center = portal.map(|p| throughline_core::views::PublicHelpCenter {
        slug: p.slug,
        name: p.name,
        default_locale: p.default_locale,
        locales: p.allowed_locales,
        logo_url,
    });
    view.agent_bot = bot.is_some_and(|b| b.outgoing_url.is_some());
    Ok(view)
}

/// Fields the widget sends about the visitor's page, with the request's headers as fallback.
#[derive(serde::Deserialize, utoipa::ToSchema, Default, Clone)]
pub(crate) struct BrowserFields {
    /// The page the chat was opened on (default: the Referer header).
    pub referer_url: Option<String>,
    /// The browser's language (default: the first of Accept-Language).
    pub browser_language: Option<String>,
    /// When the visitor started the chat, as the widget reports it.
    #[schema(value_type = Option<String>)]
    pub initiated_at: Option<serde_json::Value>,
}

/// The conversation's `additional_attributes` from what the widget and the browser tell.
pub(super) fn visitor_context(headers: &HeaderMap, fields: &BrowserFields) -> VisitorContext {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let initiated_at = match &fields.initiated_at {
        Some(serde_json::Value::String(s)) => Some(s.chars().take(100).collect()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    VisitorContext {
        referer: fields
            .referer_url
            .as_deref()
            .and_then(widget::page_url)
            .or_else(|| header(REFERER).and_then(widget::page_url)),
        browser_language: fields
            .browser_language
            .as_deref()
            .and_then(widget::language)
            .or_else(|| header(ACCEPT_LANGUAGE).and_then(widget::language)),
        user_agent: header(USER_AGENT).map(|ua| ua.chars().take(512).collect()),
        initiated_at: initiated_at.or_else(|| Some(chrono::Utc::now().to_rfc3339())),
    }
}

/// Refuses files the inbox does not take: too big (413) or of a type it does not accept (415).
pub(super) fn check_uploads(state: &AppState, inbox: &Inbox, uploads: &[Upload]) -> ApiResult<()> {
    let policy = AttachmentPolicy::of(inbox, state.config.upload_limit as u64);
    for u in uploads {
        let name = u.file_name.as_deref().unwrap_or("file");
        if u.bytes.len() as u64 > policy.max_bytes {
            return Err(ApiError::TooLarge(format!(
                "{name} is larger than this inbox accepts ({} MiB)",
                policy.max_bytes.div_ceil(1024 * 1024)
            )));
        }
        let content_type = u
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        if !policy.accepts(content_type) {
            return Err(ApiError::UnsupportedMedia(format!(
                "{name}: files of type {content_type} are not accepted here; accepted: {}",
                policy.types.join(", ")
            )));
        }
    }
    Ok(())
}
