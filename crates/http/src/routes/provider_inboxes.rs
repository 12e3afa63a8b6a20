//! Messaging inboxes in Chatwoot's shapes: `POST …/channels/twilio_channel`, and `POST
//! …/inboxes` with `channel.type` `whatsapp` (`provider: whatsapp_cloud`), `telegram`,
//! `facebook_page` or `instagram`; their provider's fields in the inbox view (never a token or
//! secret), the credentials check and WhatsApp's template sync.
//!
//! Creating an inbox never calls the provider: the credentials are checked by a separate call
//! (`POST …/inboxes/{id}/test_credentials`), and Telegram's `setWebhook` runs after the
//! answer.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use throughline_core::messaging::{
    MetaPageSettings, ProviderSettings, TelegramSettings, TwilioMedium, TwilioSettings,
    WhatsappCloudSettings,
};
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::views::InboxView;
use throughline_service::providers as provider_calls;
use throughline_store::inboxes::{self, NewInbox};
use throughline_store::providers;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(create_twilio))
        .routes(routes!(test_credentials))
        .routes(routes!(sync_templates))
}

/// A messaging channel's fields on `channel` (Chatwoot's names).
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
pub(super) struct ProviderFields {
    /// WhatsApp: the business number (E.164).
    phone_number: Option<String>,
    /// WhatsApp: `whatsapp_cloud` (the only provider served).
    provider: Option<String>,
    /// WhatsApp Cloud: api_key, phone_number_id, business_account_id, webhook_verify_token
    /// (generated when absent), app_secret.
    #[schema(value_type = Option<Object>)]
    provider_config: Option<Value>,
    /// Telegram: the bot's token from BotFather.
    bot_token: Option<String>,
    /// Facebook page / Instagram: the page (or Instagram account) id and its access token.
    page_id: Option<String>,
    instagram_id: Option<String>,
    page_access_token: Option<String>,
    /// Meta: the app's secret (else the instance's) and the handshake token (generated when
    /// absent).
    app_secret: Option<String>,
    verify_token: Option<String>,
    /// Twilio, when updating an inbox: its fields as `channels/twilio_channel` names them.
    account_sid: Option<String>,
    auth_token: Option<String>,
    api_key_sid: Option<String>,
    api_key_secret: Option<String>,
    messaging_service_sid: Option<String>,
}

impl ProviderFields {
    fn is_empty(&self) -> bool {
        [
            &self.phone_number,
            &self.bot_token,
            &self.page_id,
            &self.instagram_id,
            &self.page_access_token,
            &self.app_secret,
            &self.verify_token,
            &self.account_sid,
            &self.auth_token,
            &self.api_key_sid,
            &self.api_key_secret,
            &self.messaging_service_sid,
        ]
        .iter()
        .all(|f| f.is_none())
            && self.provider_config.is_none()
    }
}

/// The settings an inbox update asks for (`PATCH …/inboxes/{id}` with provider fields on
/// `channel`, as Chatwoot updates a channel's attributes): what is given replaces what was
/// stored, checked like a new inbox; `None` when nothing of the provider's changes. A new bot
/// token gets a new webhook secret; WhatsApp keeps its synced templates.
pub(super) fn updated(
    state: &AppState,
    channel_type: ChannelType,
    current: &ProviderSettings,
    given: &ProviderFields,
) -> ApiResult<Option<ProviderSettings>> {
    if given.is_empty() {
        return Ok(None);
    }
    let pick = |given: &Option<String>, stored: Option<&str>| {
        given.clone().or_else(|| stored.map(str::to_owned))
    };
    let next = match current {
        ProviderSettings::Twilio(t) => ProviderSettings::Twilio(twilio_settings(&TwilioFields {
            name: None,
            account_sid: pick(&given.account_sid, Some(&t.account_sid)),
            auth_token: pick(&given.auth_token, Some(&t.auth_token)),
            api_key_sid: pick(&given.api_key_sid, t.api_key_sid.as_deref()),
            api_key_secret: pick(&given.api_key_secret, t.api_key_secret.as_deref()),
            phone_number: pick(&given.phone_number, t.phone_number.as_deref()),
            messaging_service_sid: pick(
                &given.messaging_service_sid,
                t.messaging_service_sid.as_deref(),
            ),
            medium: Some(
                match t.medium {
                    TwilioMedium::Sms => "sms",
                    TwilioMedium::Whatsapp => "whatsapp",
                }
                .to_owned(),
            ),
        })?),
        ProviderSettings::WhatsappCloud(w) => {
            let mut config = json!({
                "api_key": w.api_key,
                "phone_number_id": w.phone_number_id,
                "business_account_id": w.business_account_id,
                "webhook_verify_token": w.webhook_verify_token,
                "app_secret": w.app_secret,
            });
            match &given.provider_config {
                Some(Value::Object(changes)) => {
                    for (k, v) in changes {
                        config[k] = v.clone();
                    }
                }
                Some(_) => {
                    return Err(ApiError::invalid(
                        "channel.provider_config",
                        "invalid",
                        "provider_config must be an object",
                    ));
                }
                None => {}
            }
            let fields = ProviderFields {
                phone_number: pick(&given.phone_number, Some(&w.phone_number)),
                provider_config: Some(config),
                ..ProviderFields::default()
            };
            let mut next = settings_for(state, channel_type, &fields)?;
            if let ProviderSettings::WhatsappCloud(n) = &mut next
                && n.business_account_id == w.business_account_id
            {
                n.templates = w.templates.clone();
                n.templates_synced_at = w.templates_synced_at;
            }
            next
        }
        ProviderSettings::Telegram(t) => match &given.bot_token {
            Some(token) if token.trim() != t.bot_token => settings_for(state, channel_type, given)?,
            _ => return Ok(None),
        },
        ProviderSettings::FacebookPage(m) | ProviderSettings::Instagram(m) => {
            let fields = ProviderFields {
                page_id: pick(&given.page_id, Some(&m.page_id)),
                instagram_id: given.instagram_id.clone(),
                page_access_token: pick(&given.page_access_token, Some(&m.page_access_token)),
                app_secret: pick(&given.app_secret, m.app_secret.as_deref()),
                verify_token: pick(&given.verify_token, m.verify_token.as_deref()),
                ..ProviderFields::default()
            };
            settings_for(state, channel_type, &fields)?
        }
    };
    Ok(Some(next))
}

fn required(field: &str, v: Option<&str>, what: &str) -> ApiResult<String> {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() && s.len() <= 1024 => Ok(s.to_owned()),
        Some(s) if s.len() > 1024 => Err(ApiError::invalid(
            field,
            "too_long",
            format!("{what} is too long"),
        )),
        _ => Err(ApiError::invalid(
            field,
            "blank",
            format!("{what} is required"),
        )),
    }
}

fn optional(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn e164(field: &str, raw: &str) -> ApiResult<String> {
    throughline_core::identity::normalize_phone(raw, None).map_err(|_| {
        ApiError::invalid(
            field,
            "invalid",
            "use the number in international format, e.g. +5511987654321",
        )
    })
}

fn meta_secret(state: &AppState, given: Option<String>, field: &str) -> ApiResult<Option<String>> {
    if given.is_none() && state.clients.providers.meta_app_secret.is_none() {
        return Err(ApiError::invalid(
            field,
            "blank",
            "the Meta app's secret is needed to check Meta's webhook signatures (or set THROUGHLINE_META_APP_SECRET)",
        ));
    }
    Ok(given)
}

/// The provider settings a `POST …/inboxes` body gives for a messaging channel type.
pub(super) fn settings_for(
    state: &AppState,
    channel_type: ChannelType,
    f: &ProviderFields,
) -> ApiResult<ProviderSettings> {
    match channel_type {
        ChannelType::Whatsapp => {
            match f.provider.as_deref().unwrap_or("whatsapp_cloud") {
                "whatsapp_cloud" => {}
                other => {
                    return Err(ApiError::invalid(
                        "channel.provider",
                        "inclusion",
                        format!(
                            "the WhatsApp provider `{other}` is not served; use whatsapp_cloud (or Twilio through channels/twilio_channel)"
                        ),
                    ));
                }
            }
            let config = f.provider_config.clone().unwrap_or(Value::Null);
            let text = |k: &str| config.get(k).and_then(Value::as_str);
            Ok(ProviderSettings::WhatsappCloud(WhatsappCloudSettings {
                phone_number: e164(
                    "channel.phone_number",
                    &required(
                        "channel.phone_number",
                        f.phone_number.as_deref(),
                        "the phone number",
                    )?,
                )?,
                phone_number_id: required(
                    "channel.provider_config.phone_number_id",
                    text("phone_number_id"),
                    "phone_number_id",
                )?,
                business_account_id: required(
                    "channel.provider_config.business_account_id",
                    text("business_account_id"),
                    "business_account_id",
                )?,
                api_key: required(
                    "channel.provider_config.api_key",
                    text("api_key"),
                    "api_key",
                )?,
                webhook_verify_token: optional(text("webhook_verify_token"))
                    .unwrap_or_else(|| throughline_core::crypto::random_token(24)),
                app_secret: meta_secret(
                    state,
                    optional(text("app_secret")),
                    "channel.provider_config.app_secret",
                )?,
                templates: Vec::new(),
                templates_synced_at: None,
            }))
        }
        ChannelType::Telegram => {
            let token = required("channel.bot_token", f.bot_token.as_deref(), "the bot token")?;
            let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_digit())
                    && secret.len() >= 20
                    && secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            if !well_formed {
                return Err(ApiError::invalid(
                    "channel.bot_token",
                    "invalid",
                    "a bot token looks like 123456789:AAH… (from @BotFather)",
                ));
            }
            Ok(ProviderSettings::Telegram(TelegramSettings {
                bot_token: token,
                secret_token: throughline_core::crypto::random_token(32),
                bot_name: None,
            }))
        }
        ChannelType::FacebookPage | ChannelType::Instagram => {
            let id_field = if channel_type == ChannelType::Instagram {
                f.instagram_id.as_deref().or(f.page_id.as_deref())
            } else {
                f.page_id.as_deref()
            };
            let page_id = required("channel.page_id", id_field, "the page id")?;
            if !page_id.chars().all(|c| c.is_ascii_digit()) {
                return Err(ApiError::invalid(
                    "channel.page_id",
                    "invalid",
                    "a page id is a number",
                ));
            }
            let settings = MetaPageSettings {
                page_id,
                page_access_token: required(
                    "channel.page_access_token",
                    f.page_access_token.as_deref(),
                    "the page access token",
                )?,
                app_secret: meta_secret(
                    state,
                    optional(f.app_secret.as_deref()),
                    "channel.app_secret",
                )?,
                // Meta's handshake needs one; the instance's may not be set.
                verify_token: Some(
                    optional(f.verify_token.as_deref())
                        .unwrap_or_else(|| throughline_core::crypto::random_token(24)),
                ),
            };
            Ok(if channel_type == ChannelType::Instagram {
                ProviderSettings::Instagram(settings)
            } else {
                ProviderSettings::FacebookPage(settings)
            })
        }
        other => Err(ApiError::invalid(
            "channel.type",
            "unavailable",
            format!(
                "the {} channel is not available in this version yet",
                other.short_name()
            ),
        )),
    }
}

/// Stores the provider settings of a new inbox (in the caller's transaction).
pub(super) async fn save(
    conn: &mut throughline_store::Conn,
    state: &AppState,
    ctx: &AccountCtx,
    inbox_id: i64,
    settings: &ProviderSettings,
) -> ApiResult<providers::ProviderChannel> {
    match providers::save(conn, state.store.key(), &ctx.scope, inbox_id, settings).await {
        Ok(c) => Ok(c),
        Err(throughline_store::StoreError::Conflict { .. }) => Err(ApiError::invalid(
            "channel",
            "taken",
            "another inbox already uses this number, bot or page",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Runs what the provider needs after the inbox exists (Telegram's `setWebhook`) without
/// holding the answer; a failure is logged and shown by the credentials check.
pub(super) fn after_create(state: &AppState, inbox_id: i64, settings: ProviderSettings) {
    let clients = state.clients.clone();
    tokio::spawn(async move {
        if let Err(e) = provider_calls::register_webhook(&settings, &clients).await {
            tracing::warn!(inbox_id, error = %e, "could not register the webhook with the provider");
        }
    });
}

/// The provider's fields on the inbox view, with the URL to paste at the provider.
pub(super) fn view_fields(state: &AppState, settings: &ProviderSettings) -> Map<String, Value> {
    let mut view = match settings.public_view() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let base = state.config.public_url.trim_end_matches('/');
    let webhook = match settings {
        ProviderSettings::Twilio(_) => Some(format!("{base}/twilio/callback")),
        ProviderSettings::WhatsappCloud(w) => {
            Some(format!("{base}/webhooks/whatsapp/{}", w.phone_number))
        }
        // Registered with Telegram by us; the URL carries the bot token, so it is not shown.
        ProviderSettings::Telegram(_) => None,
        ProviderSettings::FacebookPage(_) => Some(format!("{base}/bot")),
        ProviderSettings::Instagram(_) => Some(format!("{base}/webhooks/instagram")),
    };
    view.insert("provider_webhook_url".into(), json!(webhook));
    // A Twilio number also takes calls: its Voice URL and call status callback (issue #19).
    if let ProviderSettings::Twilio(t) = settings
        && let Some(number) = &t.phone_number
        && t.medium == throughline_core::messaging::TwilioMedium::Sms
    {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        view.insert(
            "provider_voice_url".into(),
            json!(format!("{base}/twilio/voice/call/{digits}")),
        );
        view.insert(
            "provider_voice_status_url".into(),
            json!(format!("{base}/twilio/voice/status/{digits}")),
        );
    }
    view
}

/// Chatwoot's Twilio channel fields.
#[derive(Deserialize, utoipa::ToSchema)]
struct TwilioFields {
    name: Option<String>,
    account_sid: Option<String>,
    auth_token: Option<String>,
    api_key_sid: Option<String>,
    api_key_secret: Option<String>,
    phone_number: Option<String>,
    messaging_service_sid: Option<String>,
    /// `sms` (default) or `whatsapp`.
    medium: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TwilioBody {
    twilio_channel: TwilioFields,
}

fn twilio_settings(f: &TwilioFields) -> ApiResult<TwilioSettings> {
    let account_sid = required(
        "twilio_channel.account_sid",
        f.account_sid.as_deref(),
        "account_sid",
    )?;
    if !(account_sid.starts_with("AC") && account_sid.len() == 34) {
        return Err(ApiError::invalid(
            "twilio_channel.account_sid",
            "invalid",
            "an account SID is AC followed by 32 characters",
        ));
    }
    let medium = match f.medium.as_deref().unwrap_or("sms") {
        "sms" => TwilioMedium::Sms,
        "whatsapp" => TwilioMedium::Whatsapp,
        other => {
            return Err(ApiError::invalid(
                "twilio_channel.medium",
                "inclusion",
                format!("medium must be sms or whatsapp, not `{other}`"),
            ));
        }
    };
    let api_key_sid = optional(f.api_key_sid.as_deref());
    let api_key_secret = optional(f.api_key_secret.as_deref());
    if api_key_sid.is_some() != api_key_secret.is_some() {
        return Err(ApiError::invalid(
            "twilio_channel.api_key_sid",
            "invalid",
            "api_key_sid and api_key_secret go together",
        ));
    }
    let phone_number = optional(f.phone_number.as_deref())
        .map(|p| e164("twilio_channel.phone_number", &p))
        .transpose()?;
    let messaging_service_sid = optional(f.messaging_service_sid.as_deref());
    if phone_number.is_none() && messaging_service_sid.is_none() {
        return Err(ApiError::invalid(
            "twilio_channel.phone_number",
            "blank",
            "give the phone number or the messaging service SID",
        ));
    }
    Ok(TwilioSettings {
        account_sid,
        // Twilio signs its webhooks with the auth token, whatever sends.
        auth_token: required(
            "twilio_channel.auth_token",
            f.auth_token.as_deref(),
            "the auth token (Twilio signs its webhooks with it)",
        )?,
        api_key_sid,
        api_key_secret,
        phone_number,
        messaging_service_sid,
        medium,
    })
}

/// Creates an SMS or WhatsApp inbox served by Twilio (administrators), as Chatwoot does.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/channels/twilio_channel", tag = "Inboxes",
    params(("account_id" = i64, Path)), request_body = TwilioBody, security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 422, body = crate::error::ErrorBody)))]
async fn create_twilio(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: crate::audit::Audit,
    Json(body): Json<TwilioBody>,
) -> ApiResult<axum::Json<InboxView>> {
    ctx.require_admin()?;
    let f = &body.twilio_channel;
    let settings = ProviderSettings::Twilio(twilio_settings(f)?);
    let name = throughline_core::validate::required_text(
        "twilio_channel.name",
        f.name.as_deref().unwrap_or_default(),
        255,
    )?;
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::create(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        NewInbox::new(&name, settings.channel_type()),
    )
    .await?;
    save(tx.conn(), &state, &ctx, inbox.id, &settings).await?;
    let fields = super::inboxes::audited(tx.conn(), &state, &ctx, &inbox).await?;
    let change = throughline_core::audit::Change::created(
        throughline_core::audit::kind::INBOX,
        inbox.id,
        &fields,
    );
    audit
        .record(tx.conn(), &ctx.scope, change.named("name", &*inbox.name))
        .await?;
    tx.commit().await?;
    let mut view = InboxView::new(&inbox, true);
    view.provider_channel = Some(view_fields(&state, &settings));
    Ok(axum::Json(view))
}

async fn settings_of(
    state: &AppState,
    ctx: &AccountCtx,
    id: i64,
) -> ApiResult<(Inbox, ProviderSettings)> {
    let mut conn = state.store.read().await?;
    let inbox = inboxes::get(&mut conn, state.store.key(), &ctx.scope, id).await?;
    let channel = providers::get(&mut conn, state.store.key(), &ctx.scope, id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "id",
                "not_messaging",
                "this inbox has no messaging provider",
            )
        })?;
    Ok((inbox, channel.settings))
}

/// Asks the provider whether the inbox's credentials work (administrators): `ok` with what it
/// said of the account, number, bot or page, or its own error. For Telegram the webhook is
/// registered again.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/test_credentials", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn test_credentials(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Value>> {
    ctx.require_admin()?;
    let (_, settings) = settings_of(&state, &ctx, id).await?;
    let checked = provider_calls::check_credentials(&settings, &state.clients).await;
    let registered = provider_calls::register_webhook(&settings, &state.clients).await;
    Ok(axum::Json(match (checked, registered) {
        (Ok(said), Ok(())) => json!({ "ok": true, "provider": said }),
        (Ok(said), Err(e)) => json!({ "ok": false, "provider": said, "provider_error": e }),
        (Err(e), _) => json!({ "ok": false, "provider_error": e }),
    }))
}

/// Fetches a WhatsApp inbox's approved templates from Meta (administrators), as Chatwoot's
/// `sync_templates`; the inbox view then lists them in `message_templates`.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/sync_templates", tag = "Inboxes",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = InboxView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 502, body = crate::error::ErrorBody)))]
async fn sync_templates(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<InboxView>> {
    ctx.require_admin()?;
    let (inbox, _) = settings_of(&state, &ctx, id).await?;
    let synced = provider_calls::sync_templates(&state.store, &state.clients, &ctx.scope, id)
        .await
        .map_err(|e| match e {
            provider_calls::SyncError::NotWhatsapp => ApiError::invalid(
                "id",
                "not_whatsapp",
                "only WhatsApp Cloud inboxes have templates",
            ),
            provider_calls::SyncError::Provider(said) => ApiError::BadGateway(said),
            provider_calls::SyncError::Store(e) => e.into(),
        })?;
    let mut view = InboxView::new(&inbox, true);
    view.provider_channel = Some(view_fields(&state, &synced.settings));
    Ok(axum::Json(view))
}
