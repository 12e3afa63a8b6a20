//! Journey campaigns (Throughline's; Chatwoot's `campaigns` are website and SMS broadcasts):
//! a message or survey some time after a business event, with what became of each send.
//! Administrators manage them. And each contact's opt-outs, which any member who sees the
//! contact may record (customers ask agents).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::audit::kind;
use throughline_core::journey;
use throughline_core::model::ChannelType;
use throughline_core::validate::{FieldError, required_text};
use throughline_store::audit::Change;
use throughline_store::contacts;
use throughline_store::journeys::{self, Campaign, CampaignFields};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::audit::Audit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(sends))
        .routes(routes!(opt_outs, set_opt_outs))
}

/// The fields a campaign's rules keep, as the API names them.
const RULE_KEYS: [&str; 9] = [
    "trigger_event_type",
    "delay_minutes",
    "cancel_on_event_types",
    "kind",
    "message",
    "survey_type",
    "quiet_hours",
    "frequency_cap",
    "whatsapp_template",
];

#[derive(Serialize, utoipa::ToSchema)]
struct CampaignView {
    id: i64,
    name: String,
    active: bool,
    /// trigger_event_type, delay_minutes, cancel_on_event_types, kind (message | survey),
    /// message, survey_type, quiet_hours {start, end}, frequency_cap {max, days},
    /// whatsapp_template.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    rules: Value,
    created_at: i64,
    updated_at: i64,
}

fn view(c: &Campaign) -> CampaignView {
    CampaignView {
        id: c.id,
        name: c.name.clone(),
        active: c.active,
        rules: c.rules.clone(),
        created_at: c.created_at / 1000,
        updated_at: c.updated_at / 1000,
    }
}

/// The rules of a body merged over the stored ones, checked by the core.
fn fields_of(body: &Value, base: Option<&Campaign>) -> ApiResult<(String, bool, Value, String)> {
    if !body.is_object() {
        return Err(ApiError::invalid(
            "body",
            "invalid",
            "send the campaign as a JSON object",
        ));
    }
    let body = body
        .get("journey_campaign")
        .filter(|v| v.is_object())
        .unwrap_or(body);
    let mut rules = base.map(|c| c.rules.clone()).unwrap_or_else(|| json!({}));
    for key in RULE_KEYS {
        if let Some(v) = body.get(key) {
            rules[key] = v.clone();
        }
    }
    let name = match (body.get("name"), base) {
        (Some(Value::String(n)), _) => required_text("name", n, 255)?,
        (Some(_), _) | (None, None) => required_text("name", "", 255)?,
        (None, Some(c)) => c.name.clone(),
    };
    let active = match body.get("active") {
        None => base.is_none_or(|c| c.active),
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid(
                "active",
                "invalid",
                "active must be true or false",
            ));
        }
    };
    let checked = journey::check(&rules).map_err(ApiError::Invalid)?;
    Ok((name, active, rules, checked.trigger))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/journey_campaigns", tag = "Journey campaigns",
    params(("account_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
) -> ApiResult<axum::Json<Payload<Vec<CampaignView>>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    let all = journeys::list(&mut conn, &ctx.scope).await?;
    Ok(payload(all.iter().map(view).collect()))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/journey_campaigns", tag = "Journey campaigns",
    params(("account_id" = i64, Path)), request_body = Object, security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Payload<CampaignView>>> {
    ctx.require_admin()?;
    let (name, active, rules, trigger) = fields_of(&body, None)?;
    let mut tx = state.store.begin().await?;
    let saved = journeys::create(
        tx.conn(),
        &ctx.scope,
        &CampaignFields {
            name: &name,
            active,
            trigger_event_type: &trigger,
            rules: &rules,
        },
    )
    .await?;
    let record = json!({"name": saved.name, "active": saved.active, "rules": saved.rules});
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            Change::created(kind::JOURNEY_CAMPAIGN, saved.id, &record),
        )
        .await?;
    tx.commit().await?;
    Ok(payload(view(&saved)))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/journey_campaigns/{id}", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<CampaignView>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    Ok(payload(view(
        &journeys::get(&mut conn, &ctx.scope, id).await?,
    )))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/journey_campaigns/{id}", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = Object,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Payload<CampaignView>>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let before = journeys::get(tx.conn(), &ctx.scope, id).await?;
    let (name, active, rules, trigger) = fields_of(&body, Some(&before))?;
    let saved = journeys::update(
        tx.conn(),
        &ctx.scope,
        id,
        &CampaignFields {
            name: &name,
            active,
            trigger_event_type: &trigger,
            rules: &rules,
        },
    )
    .await?;
    let old = json!({"name": before.name, "active": before.active, "rules": before.rules});
    let new = json!({"name": saved.name, "active": saved.active, "rules": saved.rules});
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            Change::updated(kind::JOURNEY_CAMPAIGN, id, &old, &new),
        )
        .await?;
    tx.commit().await?;
    Ok(payload(view(&saved)))
}

/// Deletes the campaign and its scheduled sends.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/journey_campaigns/{id}", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<()> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let before = journeys::get(tx.conn(), &ctx.scope, id).await?;
    journeys::delete(tx.conn(), &ctx.scope, id).await?;
    let record = json!({"name": before.name, "active": before.active, "rules": before.rules});
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            Change::destroyed(kind::JOURNEY_CAMPAIGN, id, &record)
                .named("name", before.name.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Serialize, utoipa::ToSchema)]
struct SendView {
    id: i64,
    contact_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_name: Option<String>,
    /// The conversation (display id) the message went to, once sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<i64>,
    business_event_id: i64,
    /// scheduled, sent, skipped or cancelled.
    status: String,
    /// When it is (or was) due, Unix seconds.
    due_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// What became of the campaign's latest 200 sends, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/journey_campaigns/{id}/sends", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn sends(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<SendView>>>> {
    ctx.require_admin()?;
    let mut conn = state.store.read().await?;
    journeys::get(&mut conn, &ctx.scope, id).await?;
    let list = journeys::sends_of(&mut conn, &ctx.scope, id, 200).await?;
    Ok(payload(
        list.into_iter()
            .map(|logged| {
                let s = logged.send;
                SendView {
                    id: s.id,
                    contact_id: s.contact_id,
                    contact_name: logged.contact_name,
                    conversation_id: logged.conversation_display_id,
                    business_event_id: s.business_event_id,
                    status: s.status,
                    due_at: s.due_at / 1000,
                    detail: s.detail,
                    inbox_id: s.inbox_id,
                    message_id: s.message_id,
                    created_at: s.created_at / 1000,
                    updated_at: s.updated_at / 1000,
                }
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct OptOuts {
    /// Channel types the contact is not to get campaign messages through (api, web_widget,
    /// email, sms, whatsapp, telegram, facebook_page, instagram), or `all`.
    channels: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/opt_outs", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
async fn opt_outs(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<OptOuts>>> {
    let mut conn = state.store.read().await?;
    let contact = contacts::get(&mut conn, &ctx.scope, id).await?;
    let channels = journeys::opt_outs(&mut conn, contact.id).await?;
    Ok(payload(OptOuts { channels }))
}

/// Replaces the contact's opt-outs (an empty list: they may be contacted again).
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/contacts/{id}/opt_outs", tag = "Journey campaigns",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = OptOuts,
    security(("userApiKey" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn set_opt_outs(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: Audit,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<OptOuts>,
) -> ApiResult<axum::Json<Payload<OptOuts>>> {
    let mut errors = Vec::new();
    let mut channels: Vec<String> = Vec::new();
    for (i, c) in body.channels.iter().enumerate() {
        let c = c.trim();
        let known = c == "all" || ChannelType::ALL.iter().any(|t| t.short_name() == c);
        if !known {
            errors.push(FieldError::new(
                &format!("channels[{i}]"),
                "inclusion",
                "a channel type (email, sms, whatsapp, telegram, …) or all",
            ));
        } else if !channels.iter().any(|have| have == c) {
            channels.push(c.to_owned());
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let mut tx = state.store.begin().await?;
    let contact = contacts::get(tx.conn(), &ctx.scope, id).await?;
    let before = journeys::opt_outs(tx.conn(), contact.id).await?;
    journeys::set_opt_outs(tx.conn(), contact.id, &channels).await?;
    audit
        .record(
            tx.conn(),
            &ctx.scope,
            Change::updated(
                kind::CONTACT,
                contact.id,
                &json!({"opt_outs": before}),
                &json!({"opt_outs": channels}),
            ),
        )
        .await?;
    tx.commit().await?;
    Ok(payload(OptOuts { channels }))
}
