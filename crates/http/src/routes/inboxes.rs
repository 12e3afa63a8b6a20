//! Inboxes (channels) and who works in them.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use throughline_core::audit::{BOOKKEEPING, Change, action, kind, record_fields};
use throughline_core::model::ChannelType;
use throughline_core::validate::{optional_text, required_text};
use throughline_core::views::{AgentView, InboxView, WidgetChannelView};
use throughline_core::widget;
use throughline_store::inboxes::{self, InboxChanges, NewInbox};
use throughline_store::{accounts, email};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, double_option, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::outbound_url::checked_url;
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(rotate_hmac_token))
        .routes(routes!(members))
        .routes(routes!(add_members, set_members, remove_members))
}

/// Settings kept in the inbox's settings object, as Chatwoot names them.
const SETTING_KEYS: [&str; 13] = [
    // Throughline: keep this inbox's conversations out of cross-channel continuity.
    throughline_store::continuity::KEEP_SEPARATE,
    "working_hours_enabled",
    "enable_email_collect",
    "csat_survey_enabled",
    "timezone",
    "out_of_office_message",
    "working_hours",
    "reply_time",
    "sender_name_type",
    "business_name",
    // Throughline: days the inbox is closed, in its time zone.
    "holidays",
    // Throughline: the survey sent after resolution, csat (the default) or nps.
    "csat_survey_type",
    // Throughline: a phone inbox's IVR (core::voice::ivr::VoiceSettings).
    "voice",
];

async fn save_email(
    conn: &mut throughline_store::Conn,
    state: &AppState,
    ctx: &AccountCtx,
    channel: &email::EmailChannel,
) -> ApiResult<email::EmailChannel> {
    match email::save(conn, state.store.key(), &ctx.scope, channel).await {
        Ok(c) => Ok(c),
        Err(throughline_store::StoreError::Conflict { .. }) => Err(ApiError::invalid(
            "channel.email",
            "taken",
            "another inbox already receives mail for this address",
        )),
        Err(e) => Err(e.into()),
    }
}

/// What the audit log keeps of an inbox: its fields and settings, its email channel's and its
/// messaging provider's; `core::audit` shows every secret among them only as "[changed]".
pub(super) async fn audited(
    conn: &mut throughline_store::Conn,
    state: &AppState,
    ctx: &AccountCtx,
    inbox: &throughline_core::model::Inbox,
) -> ApiResult<Value> {
    let key = state.store.key();
    let mut v = record_fields(inbox, BOOKKEEPING);
    if inbox.channel_type == ChannelType::Email
        && let Some(c) = email::get(&mut *conn, key, &ctx.scope, inbox.id).await?
    {
        let (smtp, imap) = (&c.smtp, &c.imap);
        v["email_channel"] = json!({
            "email": c.email,
            "signature": c.signature,
            "smtp": {"enabled": smtp.enabled, "address": smtp.address, "port": smtp.port,
                "login": smtp.login, "password": smtp.password},
            "imap": {"enabled": imap.enabled, "address": imap.address, "port": imap.port,
                "login": imap.login, "password": imap.password},
        });
    }
    if let Some(p) = throughline_store::providers::get(conn, key, &ctx.scope, inbox.id).await? {
        let mut settings = serde_json::to_value(&p.settings).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut settings {
            // Synced from the provider, not changed by anyone here.
            m.remove("templates");
            m.remove("templates_synced_at");
        }
        v["provider_channel"] = settings;
    }
    Ok(v)
}

/// The view of an inbox with its website channel's fields (snippet, pre-chat form, domains)
/// and, for administrators, an API inbox's signing `secret`.
fn view_of(state: &AppState, inbox: &throughline_core::model::Inbox, admin: bool) -> InboxView {
    let mut view = InboxView::new(inbox, admin);
    if admin && inbox.channel_type == ChannelType::Api {
        view.secret = Some(throughline_core::webhook::api_inbox_secret(
            state.store.key(),
            &inbox.identifier,
        ));
    }
    if inbox.channel_type == ChannelType::WebWidget {
        view.widget_channel = Some(WidgetChannelView::new(
            inbox,
            &state.config.public_url,
            state.config.upload_limit as u64,
        ));
    }
    view
}

/// Adds the email channel's fields to the views of email inboxes.
async fn with_email(
    state: &AppState,
    ctx: &AccountCtx,
    inbox: &throughline_core::model::Inbox,
    admin: bool,
) -> ApiResult<InboxView> {
    let mut view = view_of(state, inbox, admin);
    if inbox.channel_type == ChannelType::Email {
        let mut conn = state.store.read().await?;
        if let Some(c) = email::get(&mut conn, state.store.key(), &ctx.scope, inbox.id).await? {
            view.email_channel = Some(super::email::view(&c, admin));
        }
    }
    if throughline_channels::registry::needs_config(inbox.channel_type)
        == throughline_channels::registry::Needs::Provider
    {
        let mut conn = state.store.read().await?;
        if let Some(c) =
            throughline_store::providers::get(&mut conn, state.store.key(), &ctx.scope, inbox.id)
                .await?
        {
            view.provider_channel = Some(super::provider_inboxes::view_fields(state, &c.settings));
        }
    }
    Ok(view)
}

/// Inboxes the caller can see (agents: the ones they are members of).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes", tag = "Inboxes",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<InboxView>>)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<InboxView>>>> {
    let mut conn = state.store.read().await?;
    let list = inboxes::list(&mut conn, state.store.key(), &ctx.scope).await?;
    drop(conn);
    let admin = ctx.require_admin().is_ok();
    let mut views = Vec::with_capacity(list.len());
    for inbox in &list {
        views.push(with_email(&state, &ctx, inbox, admin).await?);
    }
    Ok(payload(views))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ChannelFields {
    /// api, web_widget or email (other channel types come with their channel's release)
    #[serde(rename = "type")]
    kind: Option<String>,
    webhook_url: Option<String>,
    hmac_mandatory: Option<bool>,
    /// Website chat (`type: web_widget`): look, pre-chat form, allowed domains, attachments.
    #[serde(flatten)]
    widget: WidgetFields,
    /// Email channel (`type: email`): address, SMTP and IMAP settings.
    #[serde(flatten)]
    email: super::email::EmailFields,
    /// Messaging channels (`type: whatsapp`, `telegram`, `facebook_page`, `instagram`).
    #[serde(flatten)]
    provider: super::provider_inboxes::ProviderFields,
}

/// A field that may be absent, `null` (clear) or a value; validated by `core::widget`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The website channel's settings (Chatwoot's names; the last three are Throughline's).
#[derive(Deserialize, utoipa::ToSchema, Default)]
struct WidgetFields {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    website_url: Option<Value>,
    /// `#rgb` or `#rrggbb`
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    widget_color: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    welcome_title: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    welcome_tagline: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pre_chat_form_enabled: Option<Value>,
    /// `{pre_chat_message, pre_chat_fields: [{name: email|name|phone_number, required,
    /// enabled, label}]}`
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pre_chat_form_options: Option<Value>,
    /// Host names whose pages may use the widget (`*.example.com` for any subdomain); a list
    /// or a comma-separated string. Empty: any site.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_domains: Option<Value>,
    /// Largest file a visitor may attach, MiB (default 40, never above the server's limit).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    max_attachment_size_mb: Option<Value>,
    /// MIME types or families (`image/*`) a visitor may attach.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_attachment_types: Option<Value>,
    /// Throughline: calls from the widget — `enabled`, `video`, `ring_seconds` (10–60, default
    /// 20) and `ice_servers` (`[{urls, username, credential}]`, STUN or TURN).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    web_calls: Option<Value>,
}

impl WidgetFields {
    fn get(&self, key: &str) -> Option<&Value> {
        match key {
            "website_url" => self.website_url.as_ref(),
            "widget_color" => self.widget_color.as_ref(),
            "welcome_title" => self.welcome_title.as_ref(),
            "welcome_tagline" => self.welcome_tagline.as_ref(),
            "pre_chat_form_enabled" => self.pre_chat_form_enabled.as_ref(),
            "pre_chat_form_options" => self.pre_chat_form_options.as_ref(),
            "allowed_domains" => self.allowed_domains.as_ref(),
            "max_attachment_size_mb" => self.max_attachment_size_mb.as_ref(),
            "allowed_attachment_types" => self.allowed_attachment_types.as_ref(),
            "web_calls" => self.web_calls.as_ref(),
            _ => None,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct InboxFields {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    avatar_url: Option<Option<String>>,
    greeting_enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    greeting_message: Option<Option<String>>,
    enable_auto_assignment: Option<bool>,
    allow_messages_after_resolved: Option<bool>,
    lock_to_single_conversation: Option<bool>,
    hmac_mandatory: Option<bool>,
    /// Throughline: region for national phone numbers, e.g. BR or PL.
    #[serde(default, deserialize_with = "double_option")]
    default_country: Option<Option<String>>,
    channel: Option<ChannelFields>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    rest: Map<String, Value>,
}

/// Chatwoot's `auto_assignment_config: {max_assignment_limit: N}`: `Some(None)` when the
/// object is given without a limit (or with null), `None` when absent.
fn assignment_limit(body: &InboxFields) -> ApiResult<Option<Option<i64>>> {
    const FIELD: &str = "auto_assignment_config.max_assignment_limit";
    let Some(config) = body.rest.get("auto_assignment_config") else {
        return Ok(None);
    };
    let limit = match config {
        Value::Null => None,
        Value::Object(o) => o.get("max_assignment_limit").cloned(),
        _ => {
            return Err(ApiError::invalid(
                "auto_assignment_config",
                "invalid",
                "auto_assignment_config must be an object",
            ));
        }
    };
    // Chatwoot's UI sends the number as typed: "5", or "" for none.
    let parsed = match limit {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => s.trim().parse::<i64>().ok().or(Some(-1)),
        Some(Value::Number(n)) => n.as_i64().or(Some(-1)),
        Some(_) => Some(-1),
    };
    match parsed {
        Some(n) if !(1..=1000).contains(&n) => Err(ApiError::invalid(
            FIELD,
            "inclusion",
            "max_assignment_limit must be a whole number from 1 to 1000, or empty",
        )),
        other => Ok(Some(other)),
    }
}

/// Refuses settings of the wrong type that the server itself reads.
fn check_settings(settings: &Map<String, Value>) -> ApiResult<()> {
    let key = throughline_store::continuity::KEEP_SEPARATE;
    if let Some(v) = settings.get(key)
        && !v.is_boolean()
    {
        return Err(ApiError::invalid(
            key,
            "invalid",
            format!("{key} must be true or false"),
        ));
    }
    for flag in ["working_hours_enabled", "csat_survey_enabled"] {
        if settings.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(ApiError::invalid(
                flag,
                "invalid",
                format!("{flag} must be true or false"),
            ));
        }
    }
    if let Some(v) = settings.get("csat_survey_type")
        && v.as_str()
            .and_then(throughline_core::survey::SurveyType::parse)
            .is_none()
    {
        return Err(ApiError::invalid(
            "csat_survey_type",
            "inclusion",
            "csat_survey_type must be csat or nps",
        ));
    }
    if let Some(v) = settings.get("voice")
        && !v.is_null()
    {
        throughline_core::voice::ivr::VoiceSettings::from_json(v)
            .map_err(|e| ApiError::Invalid(vec![e]))?;
    }
    // Business hours are checked as given: a time zone alone, hours alone, holidays alone.
    let hours = ["timezone", "working_hours", "holidays"];
    if hours.iter().any(|k| settings.contains_key(*k)) {
        let timezone = match settings.get("timezone") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "timezone",
                    "invalid",
                    "timezone must be a time zone name such as America/Sao_Paulo",
                ));
            }
        };
        let empty = Value::Array(Vec::new());
        throughline_core::hours::Schedule::parse_working_hours(
            timezone,
            settings.get("working_hours").unwrap_or(&empty),
            settings.get("holidays"),
        )
        .map_err(|e| ApiError::invalid(&e.field(), "invalid", e.to_string()))?;
    }
    Ok(())
}

/// The settings a body sets: Chatwoot's inbox settings, and the website channel's (from
/// `channel` or, as Chatwoot's update also accepts, the top level), each validated; every
/// invalid field is reported at once.
fn settings_from(body: &InboxFields) -> ApiResult<Map<String, Value>> {
    let mut settings = Map::new();
    for key in SETTING_KEYS {
        if let Some(v) = body.rest.get(key) {
            settings.insert(key.into(), v.clone());
        }
    }
    let mut errors = Vec::new();
    for key in widget::KEYS {
        let given = body
            .channel
            .as_ref()
            .and_then(|c| c.widget.get(key))
            .or_else(|| body.rest.get(key));
        if let Some(v) = given {
            match widget::setting(key, v) {
                Ok(v) => {
                    settings.insert(key.into(), v);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    check_settings(&settings)?;
    // The IVR is kept as read (`pt_BR` → `pt-BR`, keys as text), so every reader sees one form.
    if let Some(raw) = settings.get("voice").filter(|v| !v.is_null()) {
        let voice = throughline_core::voice::ivr::VoiceSettings::from_json(raw)
            .map_err(|e| ApiError::Invalid(vec![e]))?;
        settings.insert(
            "voice".into(),
            serde_json::to_value(voice).unwrap_or(Value::Null),
        );
    }
    Ok(settings)
}

fn validate_country(c: Option<Option<String>>) -> ApiResult<Option<Option<String>>> {
    match c {
        Some(Some(code)) => {
            let code = code.trim().to_ascii_uppercase();
            if code.len() != 2
                || throughline_core::identity::normalize_phone("+1 202 555 0143", Some(&code))
                    .is_err()
            {
                return Err(ApiError::invalid(
                    "default_country",
                    "invalid",
                    "use a two-letter country code such as BR or PL",
                ));
            }
            Ok(Some(Some(code)))
        }
        other => Ok(other),
    }
}

fn webhook_url(state: &AppState, body: &InboxFields) -> ApiResult<Option<Option<String>>> {
    match body.channel.as_ref().and_then(|c| c.webhook_url.as_deref()) {
        None => Ok(None),
        Some(u) if u.trim().is_empty() => Ok(Some(None)),
        Some(u) => Ok(Some(Some(checked_url(state, "channel.webhook_url", u)?))),
    }
}

/// Creates an inbox (administrators). Channel type `api` is available; others arrive with
/// their channel.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes", tag = "Inboxes",
    params(("account_id" = i64, Path)), request_body = InboxFields, security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<InboxFields>,
) -> ApiResult<axum::Json<InboxView>> {
    ctx.require_admin()?;
    menu_teams_are_the_accounts(&state, &ctx, &settings_from(&body)?).await?;
    let name = required_text("name", body.name.as_deref().unwrap_or_default(), 255)?;
    let kind = body
        .channel
        .as_ref()
        .and_then(|c| c.kind.clone())
        .unwrap_or_else(|| "api".into());
    let channel_type = ChannelType::parse(&kind).ok_or_else(|| {
        ApiError::invalid(
            "channel.type",
            "inclusion",
            format!("unknown channel type `{kind}`"),
        )
    })?;
    let provider_settings = match channel_type {
        ChannelType::Api | ChannelType::Email | ChannelType::WebWidget => None,
        ChannelType::Sms => {
            return Err(ApiError::invalid(
                "channel.type",
                "unavailable",
                "SMS inboxes are created through channels/twilio_channel",
            ));
        }
        other => {
            let fields = body
                .channel
                .as_ref()
                .map(|c| c.provider.clone())
                .unwrap_or_default();
            Some(super::provider_inboxes::settings_for(
                &state, other, &fields,
            )?)
        }
    };
    let webhook_url = webhook_url(&state, &body)?.flatten();
    let hmac_mandatory = body
        .hmac_mandatory
        .or(body.channel.as_ref().and_then(|c| c.hmac_mandatory))
        .unwrap_or(false);
    let new = NewInbox {
        name,
        channel_type,
        avatar_url: body.avatar_url.clone().flatten(),
        greeting_enabled: body.greeting_enabled.unwrap_or(false),
        greeting_message: body
            .greeting_message
            .clone()
            .flatten()
            .map(|m| optional_text("greeting_message", &m, 5000))
            .transpose()?
            .flatten(),
        enable_auto_assignment: body.enable_auto_assignment.unwrap_or(true),
        allow_messages_after_resolved: body.allow_messages_after_resolved.unwrap_or(true),
        lock_to_single_conversation: body.lock_to_single_conversation.unwrap_or(false),
        hmac_mandatory,
        webhook_url,
        default_country: validate_country(body.default_country.clone())?.flatten(),
        settings: Value::Object({
            let mut settings = settings_from(&body)?;
            if channel_type == ChannelType::WebWidget {
                // Chatwoot's default: ask offline visitors for an email.
                settings
                    .entry("enable_email_collect")
                    .or_insert(Value::Bool(true));
            }
            settings.retain(|_, v| !v.is_null());
            settings
        }),
    };
    let email_fields = body
        .channel
        .as_ref()
        .map(|c| c.email.clone())
        .unwrap_or_default();
    if channel_type == ChannelType::Email {
        // Validate before writing anything (ids are filled in below).
        super::email::apply(&email_fields, None, 0, ctx.scope.account_id())?;
    }
    let limit = assignment_limit(&body)?.flatten();
    let mut tx = state.store.begin().await?;
    let mut inbox = inboxes::create(tx.conn(), state.store.key(), &ctx.scope, new).await?;
    if limit.is_some() {
        let set = InboxChanges {
            auto_assignment_limit: Some(limit),
            ..InboxChanges::default()
        };
        inbox = inboxes::update(tx.conn(), state.store.key(), &ctx.scope, inbox.id, set).await?;
    }
    let mut view = view_of(&state, &inbox, true);
    if channel_type == ChannelType::Email {
        let channel = super::email::apply(&email_fields, None, inbox.id, ctx.scope.account_id())?;
        let saved = save_email(tx.conn(), &state, &ctx, &channel).await?;
        view.email_channel = Some(super::email::view(&saved, true));
    }
    if let Some(settings) = &provider_settings {
        let saved =
            super::provider_inboxes::save(tx.conn(), &state, &ctx, inbox.id, settings).await?;
        view.provider_channel = Some(super::provider_inboxes::view_fields(
            &state,
            &saved.settings,
        ));
    }
    let fields = audited(tx.conn(), &state, &ctx, &inbox).await?;
    let change = Change::created(kind::INBOX, inbox.id, &fields).named("name", &*inbox.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    if let Some(settings) = provider_settings {
        super::provider_inboxes::after_create(&state, inbox.id, settings);
    }
    // Its allowed domains may have changed.
    state.origin_policies.forget(&inbox.identifier);
    Ok(axum::Json(view))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<InboxView>> {
    let mut conn = state.store.read().await?;
    let inbox = inboxes::get(&mut conn, state.store.key(), &ctx.scope, id).await?;
    drop(conn);
    Ok(axum::Json(
        with_email(&state, &ctx, &inbox, ctx.require_admin().is_ok()).await?,
    ))
}

/// Updates an inbox (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = InboxFields,
    security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<InboxFields>,
) -> ApiResult<axum::Json<InboxView>> {
    ctx.require_admin()?;
    let settings = settings_from(&body)?;
    menu_teams_are_the_accounts(&state, &ctx, &settings).await?;
    let changes = InboxChanges {
        name: body
            .name
            .as_deref()
            .map(|n| required_text("name", n, 255))
            .transpose()?,
        avatar_url: body.avatar_url.clone(),
        greeting_enabled: body.greeting_enabled,
        greeting_message: body.greeting_message.clone(),
        enable_auto_assignment: body.enable_auto_assignment,
        auto_assignment_limit: assignment_limit(&body)?,
        allow_messages_after_resolved: body.allow_messages_after_resolved,
        lock_to_single_conversation: body.lock_to_single_conversation,
        hmac_mandatory: body
            .hmac_mandatory
            .or(body.channel.as_ref().and_then(|c| c.hmac_mandatory)),
        webhook_url: webhook_url(&state, &body)?,
        default_country: validate_country(body.default_country.clone())?,
        settings: (!settings.is_empty()).then_some(settings),
    };
    let mut tx = state.store.begin().await?;
    let before = inboxes::get(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let before = audited(tx.conn(), &state, &ctx, &before).await?;
    let inbox = inboxes::update(tx.conn(), state.store.key(), &ctx.scope, id, changes).await?;
    let mut view = view_of(&state, &inbox, true);
    if inbox.channel_type == ChannelType::Email {
        let current = email::get(tx.conn(), state.store.key(), &ctx.scope, id).await?;
        let fields = body
            .channel
            .as_ref()
            .map(|c| c.email.clone())
            .unwrap_or_default();
        let channel = super::email::apply(&fields, current, inbox.id, ctx.scope.account_id())?;
        let saved = save_email(tx.conn(), &state, &ctx, &channel).await?;
        view.email_channel = Some(super::email::view(&saved, true));
    }
    let mut reregister = None;
    if let Some(current) =
        throughline_store::providers::get(tx.conn(), state.store.key(), &ctx.scope, id).await?
    {
        let fields = body
            .channel
            .as_ref()
            .map(|c| c.provider.clone())
            .unwrap_or_default();
        let settings = match super::provider_inboxes::updated(
            &state,
            inbox.channel_type,
            &current.settings,
            &fields,
        )? {
            Some(next) => {
                let saved =
                    super::provider_inboxes::save(tx.conn(), &state, &ctx, inbox.id, &next).await?;
                reregister = Some(saved.settings.clone());
                saved.settings
            }
            None => current.settings,
        };
        view.provider_channel = Some(super::provider_inboxes::view_fields(&state, &settings));
    }
    let after = audited(tx.conn(), &state, &ctx, &inbox).await?;
    let change = Change::updated(kind::INBOX, id, &before, &after).named("name", &*inbox.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    super::routing::routing_changed(&state, ctx.account_id());
    if let Some(settings) = reregister {
        super::provider_inboxes::after_create(&state, inbox.id, settings);
    }
    // Its allowed domains may have changed.
    state.origin_policies.forget(&inbox.identifier);
    Ok(axum::Json(view))
}

/// A new identity-verification secret (`hmac_token`) for the inbox (administrators): the old one
/// stops verifying visitors at once, so the site must sign with the new one.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/rotate_hmac_token", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn rotate_hmac_token(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<InboxView>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::rotate_hmac_token(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let change = Change::new(kind::INBOX, id, action::UPDATE)
        .with("hmac_token", throughline_core::audit::CHANGED)
        .named("name", &*inbox.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(axum::Json(view_of(&state, &inbox, true)))
}

/// Deletes an inbox with the conversations that started in it (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<super::Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::get(tx.conn(), state.store.key(), &ctx.scope, id).await?;
    let fields = audited(tx.conn(), &state, &ctx, &inbox).await?;
    inboxes::delete(tx.conn(), &ctx.scope, id).await?;
    let change = Change::destroyed(kind::INBOX, id, &fields).named("name", &*inbox.name);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    Ok(super::ok())
}

async fn member_views(
    state: &AppState,
    ctx: &AccountCtx,
    inbox_id: i64,
) -> ApiResult<Vec<AgentView>> {
    let mut conn = state.store.read().await?;
    let ids = inboxes::member_ids(&mut conn, state.store.key(), &ctx.scope, inbox_id).await?;
    let agents = accounts::agents_by_ids(&mut conn, &ctx.scope, &ids).await?;
    Ok(agents.iter().map(AgentView::from).collect())
}

/// Agents who work in an inbox.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inbox_members/{inbox_id}", tag = "Inboxes",
    params(("account_id" = i64, Path), ("inbox_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<AgentView>>)))]
async fn members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, inbox_id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<AgentView>>>> {
    Ok(payload(member_views(&state, &ctx, inbox_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MemberChange {
    /// Chatwoot clients send it as a number or a string.
    #[schema(value_type = i64)]
    inbox_id: Value,
    user_ids: Vec<i64>,
}

impl MemberChange {
    fn inbox_id(&self) -> ApiResult<i64> {
        match &self.inbox_id {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| ApiError::invalid("inbox_id", "invalid", "inbox_id must be an inbox id"))
    }
}

async fn change_members(
    state: &AppState,
    ctx: &AccountCtx,
    audit: &Audit,
    body: &MemberChange,
    op: MemberOp,
) -> ApiResult<Vec<AgentView>> {
    ctx.require_admin()?;
    let inbox_id = body.inbox_id()?;
    super::agents_only(state, ctx, &body.user_ids).await?;
    let key = state.store.key();
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::get(tx.conn(), key, &ctx.scope, inbox_id).await?;
    let before = inboxes::member_ids(tx.conn(), key, &ctx.scope, inbox_id).await?;
    match op {
        MemberOp::Add => {
            inboxes::add_members(tx.conn(), key, &ctx.scope, inbox_id, &body.user_ids).await?
        }
        MemberOp::Set => {
            inboxes::set_members(tx.conn(), key, &ctx.scope, inbox_id, &body.user_ids).await?
        }
        MemberOp::Remove => {
            inboxes::remove_members(tx.conn(), key, &ctx.scope, inbox_id, &body.user_ids).await?
        }
    }
    let after = inboxes::member_ids(tx.conn(), key, &ctx.scope, inbox_id).await?;
    for (user_id, act) in super::membership_changes(&before, &after) {
        let change = Change::new(kind::INBOX_MEMBER, inbox_id, act)
            .with("inbox_id", inbox_id)
            .with("user_id", user_id)
            .named("name", &*inbox.name);
        audit.record(tx.conn(), &ctx.scope, change).await?;
    }
    tx.commit().await?;
    super::routing::routing_changed(state, ctx.account_id());
    member_views(state, ctx, inbox_id).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MemberOp {
    Add,
    Set,
    Remove,
}

/// Adds agents to an inbox (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    params(("account_id" = i64, Path)), request_body = MemberChange, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<AgentView>>), (status = 422, body = crate::error::ErrorBody)))]
async fn add_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<MemberChange>,
) -> ApiResult<axum::Json<Payload<Vec<AgentView>>>> {
    Ok(payload(
        change_members(&state, &ctx, &audit, &body, MemberOp::Add).await?,
    ))
}

/// Makes the inbox's agents exactly `user_ids` (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    params(("account_id" = i64, Path)), request_body = MemberChange, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<AgentView>>), (status = 422, body = crate::error::ErrorBody)))]
async fn set_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<MemberChange>,
) -> ApiResult<axum::Json<Payload<Vec<AgentView>>>> {
    Ok(payload(
        change_members(&state, &ctx, &audit, &body, MemberOp::Set).await?,
    ))
}

/// Removes agents from an inbox (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    params(("account_id" = i64, Path)), request_body = MemberChange, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<AgentView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn remove_members(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<MemberChange>,
) -> ApiResult<axum::Json<Payload<Vec<AgentView>>>> {
    Ok(payload(
        change_members(&state, &ctx, &audit, &body, MemberOp::Remove).await?,
    ))
}

/// A phone menu may name only the account's teams.
async fn menu_teams_are_the_accounts(
    state: &AppState,
    ctx: &AccountCtx,
    settings: &Map<String, Value>,
) -> ApiResult<()> {
    let Some(raw) = settings.get("voice").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let voice = throughline_core::voice::ivr::VoiceSettings::from_json(raw)
        .map_err(|e| ApiError::Invalid(vec![e]))?;
    let mut conn = state.store.read().await?;
    for (i, team_id) in voice.team_ids().into_iter().enumerate() {
        match throughline_store::teams::get(&mut conn, &ctx.scope, team_id).await {
            Ok(_) => {}
            Err(throughline_store::StoreError::NotFound) => {
                return Err(ApiError::invalid(
                    &format!("voice.menu[{i}].team_id"),
                    "invalid",
                    format!("team {team_id} is not a team of this account"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
