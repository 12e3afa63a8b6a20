//! Conversations: the list with Chatwoot's filters and counts, creation, status, priority,
//! assignment, labels, attributes and read marks.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_core::conversation::{Priority, Status, StatusRequest};
use throughline_core::message::MessageType;
use throughline_core::model::ChannelType;
use throughline_core::views::{AgentView, ConversationView, TeamView};
use throughline_store::contacts::{self, NewIdentity};
use throughline_store::conversations::{
    self, AssigneeFilter, ConversationCounts, ConversationQuery, ConversationSort, NewConversation,
    Seer,
};
use throughline_store::filters::{self, Target};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{accounts, inboxes, providers, render, reply_channels, teams};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{LabelList, clean_labels};
use super::{Empty, Payload, double_option, ok, payload};
use crate::error::NotFoundAs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;
use throughline_service::conversations::{Start, StartedBy, start};

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(meta))
        .routes(routes!(filter))
        .routes(routes!(show, update, remove))
        .routes(routes!(toggle_status))
        .routes(routes!(toggle_priority))
        .routes(routes!(custom_attributes))
        .routes(routes!(assignments))
        .routes(routes!(labels, set_labels))
        .routes(routes!(update_last_seen))
}

#[derive(Serialize, utoipa::ToSchema, Clone, Copy)]
struct Counts {
    mine_count: i64,
    unassigned_count: i64,
    assigned_count: i64,
    all_count: i64,
}

impl From<ConversationCounts> for Counts {
    fn from(c: ConversationCounts) -> Self {
        Self {
            mine_count: c.mine,
            unassigned_count: c.unassigned,
            assigned_count: c.assigned,
            all_count: c.all,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ListData {
    meta: Counts,
    payload: Vec<ConversationView>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConversationList {
    data: ListData,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MetaOnly {
    meta: Counts,
}

/// The filter's answer: `meta` and `payload` at the top, without the list's `data` envelope
/// (app/views/api/v1/accounts/conversations/filter.json.jbuilder); clients read `payload`.
#[derive(Serialize, utoipa::ToSchema)]
struct FilteredConversations {
    meta: Counts,
    payload: Vec<ConversationView>,
}

#[derive(Deserialize, utoipa::IntoParams, Default)]
struct ListParams {
    /// me, unassigned, assigned or all (default all).
    assignee_type: Option<String>,
    /// open (default), resolved, pending, snoozed or all.
    status: Option<String>,
    inbox_id: Option<i64>,
    team_id: Option<i64>,
    #[serde(default, rename = "labels[]", alias = "labels")]
    labels: Vec<String>,
    q: Option<String>,
    page: Option<i64>,
    /// latest (default), sort_on_created_at, created_at_desc, sort_on_priority, sort_on_waiting_since.
    sort_by: Option<String>,
    /// Throughline: only conversations that started in inboxes of this channel type (api, email…).
    channel: Option<String>,
    /// Throughline: only this contact's conversations.
    contact_id: Option<i64>,
}

fn query_from(p: &ListParams) -> ApiResult<ConversationQuery> {
    let mut q = ConversationQuery::default();
    if let Some(a) = p.assignee_type.as_deref().filter(|s| !s.is_empty()) {
        q.assignee = AssigneeFilter::parse(a)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown assignee_type `{a}`")))?;
    }
    match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some("all") => q.status = None,
        Some(s) => {
            q.status = Some(
                Status::parse(s)
                    .ok_or_else(|| ApiError::BadRequest(format!("unknown status `{s}`")))?,
            )
        }
    }
    if let Some(s) = p.sort_by.as_deref().filter(|s| !s.is_empty()) {
        q.sort = ConversationSort::parse(s)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown sort_by `{s}`")))?;
    }
    if let Some(c) = p.channel.as_deref().filter(|s| !s.is_empty()) {
        q.channel = Some(
            ChannelType::parse(c)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown channel `{c}`")))?,
        );
    }
    q.inbox_id = p.inbox_id;
    q.team_id = p.team_id;
    q.contact_id = p.contact_id;
    q.labels = p
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    q.search = p.q.clone();
    q.page = p.page.unwrap_or(1).clamp(1, 100_000);
    Ok(q)
}

async fn run_list(
    state: &AppState,
    ctx: &AccountCtx,
    query: &ConversationQuery,
) -> ApiResult<ConversationList> {
    let mut conn = state.store.read().await?;
    let (list, counts) = conversations::list(&mut conn, &ctx.scope, query).await?;
    let payload = render::conversations(&mut conn, &state.store, list).await?;
    Ok(ConversationList {
        data: ListData {
            meta: counts.into(),
            payload,
        },
    })
}

/// Conversations, 25 per page, with the counts of each assignee tab for the same filters.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations", tag = "Conversations",
    params(("account_id" = i64, Path), ListParams), security(("userApiKey" = [])),
    responses((status = 200, body = ConversationList), (status = 400, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<ConversationList>> {
    Ok(axum::Json(run_list(&state, &ctx, &query_from(&p)?).await?))
}

/// Only the counts.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/meta", tag = "Conversations",
    params(("account_id" = i64, Path), ListParams), security(("userApiKey" = [])),
    responses((status = 200, body = MetaOnly)))]
async fn meta(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<MetaOnly>> {
    let mut query = query_from(&p)?;
    query.per_page = 0;
    let mut conn = state.store.read().await?;
    let (_, counts) = conversations::list(&mut conn, &ctx.scope, &query).await?;
    Ok(axum::Json(MetaOnly {
        meta: counts.into(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PageParam {
    page: Option<i64>,
}

/// Conversations matching Chatwoot filter conditions (every status unless filtered).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/filter", tag = "Conversations",
    params(("account_id" = i64, Path), PageParam), request_body = Object, security(("userApiKey" = [])),
    responses((status = 200, body = FilteredConversations), (status = 422, body = crate::error::ErrorBody)))]
async fn filter(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<PageParam>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<FilteredConversations>> {
    let catalog = {
        let mut conn = state.store.read().await?;
        filters::catalog(&mut conn, &ctx.scope, Target::Conversations).await?
    };
    let conditions = throughline_core::filter::parse(&body, &catalog)?;
    let query = ConversationQuery {
        status: None,
        conditions,
        page: p.page.unwrap_or(1).clamp(1, 100_000),
        ..Default::default()
    };
    let ConversationList { data } = run_list(&state, &ctx, &query).await?;
    Ok(axum::Json(FilteredConversations {
        meta: data.meta,
        payload: data.payload,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct FirstMessage {
    content: String,
    /// A WhatsApp template (Chatwoot's `template_params`: name, language, category,
    /// processed_params), required when the customer has not written within 24 hours.
    #[schema(value_type = Option<Object>)]
    template_params: Option<Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewConversationBody {
    /// The contact's identity in the inbox (Chatwoot's contact_inbox source_id). With
    /// contact_id it is created for that contact when new; alone, it names an existing one.
    source_id: Option<String>,
    inbox_id: Option<i64>,
    contact_id: Option<i64>,
    #[schema(value_type = Object)]
    additional_attributes: Option<Value>,
    #[schema(value_type = Object)]
    custom_attributes: Option<Value>,
    /// open (default), pending, snoozed or resolved.
    status: Option<String>,
    /// With status snoozed: when it reopens (an ISO 8601 date-time, or Unix seconds); without
    /// it the conversation sleeps until the customer writes. Ignored with any other status, as
    /// Chatwoot resets it.
    #[schema(value_type = Option<String>)]
    snoozed_until: Option<Value>,
    assignee_id: Option<i64>,
    team_id: Option<i64>,
    /// A first outgoing message.
    message: Option<FirstMessage>,
    /// Throughline: `true` when an integration relays the customer (their open conversation
    /// continues across channels by the account's continuity rules), `false` for a new
    /// conversation an agent starts. When absent, a request that names the customer by
    /// `source_id` without assignee, team, message or status is taken as a relay — as
    /// Chatwoot's bridges send it.
    continue_conversation: Option<bool>,
}

/// Checks an assignee is an agent of the account and a team exists in it.
pub(super) async fn check_assignment(
    state: &AppState,
    ctx: &AccountCtx,
    assignee: Option<i64>,
    team: Option<i64>,
) -> ApiResult<()> {
    let mut conn = state.store.read().await?;
    if let Some(id) = assignee {
        accounts::get_agent(&mut conn, &ctx.scope, id)
            .await
            .not_found_as(
                "assignee_id",
                "the assignee must be an agent of this account",
            )?;
    }
    if let Some(id) = team {
        teams::get(&mut conn, &ctx.scope, id)
            .await
            .not_found_as("team_id", "no such team in this account")?;
    }
    Ok(())
}

/// The snooze end a new conversation takes, in milliseconds: only with status snoozed (Chatwoot
/// resets it otherwise: `ensure_snooze_until_reset` in app/models/conversation.rb), and never
/// in the past (as `toggle_status` refuses it).
fn snooze_end(status: Status, raw: Option<&Value>) -> ApiResult<Option<i64>> {
    if status != Status::Snoozed {
        return Ok(None);
    }
    let until = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(v) => throughline_core::filter::time_value(v)
            .ok_or_else(|| {
                ApiError::invalid(
                    "snoozed_until",
                    "invalid",
                    "snoozed_until must be an ISO 8601 date-time or Unix seconds",
                )
            })?
            .saturating_mul(1000),
    };
    throughline_core::conversation::apply_status_request(
        Status::Open,
        None,
        StatusRequest::Set {
            status,
            snoozed_until: Some(until),
        },
        throughline_store::now_ms(),
    )
    .map_err(|e| ApiError::invalid("snoozed_until", "invalid", e.to_string()))?;
    Ok(Some(until))
}

/// Chatwoot's `ConversationsController#contact_inbox` with contact_id and inbox_id
/// (`ContactInboxBuilder`, app/builders/contact_inbox_builder.rb): the contact's identity in
/// the inbox under the given source_id, created for the contact when new (a bridge names its
/// customer by its own id). Without a source_id, the identity the contact already has there,
/// else a new one with the address its channel reaches.
async fn contact_inbox(
    state: &AppState,
    tx: &mut throughline_store::Tx,
    ctx: &AccountCtx,
    inbox: &throughline_core::model::Inbox,
    contact_id: i64,
    source_id: Option<&str>,
) -> ApiResult<throughline_core::model::Identity> {
    let contact = contacts::get(tx.conn(), &ctx.scope, contact_id)
        .await
        .not_found_as("contact_id", "no such contact")?;
    let provider = providers::get(tx.conn(), state.store.key(), &ctx.scope, inbox.id)
        .await?
        .map(|c| c.settings.provider());
    let Some(source_id) = source_id else {
        let existing = contacts::identities_in_inbox(tx.conn(), &ctx.scope, contact_id, inbox.id)
            .await?
            .into_iter()
            .next();
        if let Some(identity) = existing {
            return Ok(identity);
        }
        let (source_id, address) = first_address(inbox, &contact, provider)?;
        return Ok(contacts::create_identity(
            tx,
            &ctx.scope,
            NewIdentity {
                contact_id,
                inbox,
                source_id,
                address,
                hmac_verified: false,
                address_proven: false,
            },
        )
        .await?);
    };
    let source_id = throughline_core::validate::required_text("source_id", source_id, 255)?;
    match contacts::identity_by_source(tx.conn(), &ctx.scope, inbox.id, &source_id).await {
        Ok(identity) if identity.contact_id == contact_id => return Ok(identity),
        // Another contact's id in this inbox: Chatwoot's API inbox answers 422.
        Ok(_) => {
            return Err(ApiError::invalid(
                "source_id",
                "taken",
                "source_id should be unique",
            ));
        }
        Err(throughline_store::StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    // The address the channel reaches, when the contact has one; else the given id is it.
    let address = first_address(inbox, &contact, provider)
        .ok()
        .and_then(|(_, address)| address);
    Ok(contacts::create_identity(
        tx,
        &ctx.scope,
        NewIdentity {
            contact_id,
            inbox,
            source_id: Some(source_id),
            address,
            hmac_verified: false,
            address_proven: false,
        },
    )
    .await?)
}

/// Starts a conversation with a contact in an inbox, optionally with a first message.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations", tag = "Conversations",
    params(("account_id" = i64, Path)), request_body = NewConversationBody, security(("userApiKey" = [])),
    responses((status = 200, body = ConversationView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<NewConversationBody>,
) -> ApiResult<axum::Json<ConversationView>> {
    // Chatwoot's ConversationBuilder (app/builders/conversation_builder.rb): status, the
    // snooze end, assignee, team and both attribute sets as given.
    let status = match body.status.as_deref() {
        None | Some("") => Status::Open,
        Some(s) => Status::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "inclusion",
                "status must be open, pending, snoozed or resolved",
            )
        })?,
    };
    let snoozed_until = snooze_end(status, body.snoozed_until.as_ref())?;
    for (field, v) in [
        ("additional_attributes", &body.additional_attributes),
        ("custom_attributes", &body.custom_attributes),
    ] {
        if let Some(v) = v {
            throughline_core::validate::json_object(field, v)?;
        }
    }
    check_assignment(&state, &ctx, body.assignee_id, body.team_id).await?;
    let mut tx = state.store.begin().await?;
    let inbox_id = body
        .inbox_id
        .ok_or_else(|| ApiError::invalid("inbox_id", "blank", "inbox_id is required"))?;
    let inbox = inboxes::get(tx.conn(), state.store.key(), &ctx.scope, inbox_id)
        .await
        .not_found_as("inbox_id", "no such inbox")?;
    let identity = match (body.contact_id, body.source_id.as_deref()) {
        (Some(contact_id), source_id) => {
            contact_inbox(&state, &mut tx, &ctx, &inbox, contact_id, source_id).await?
        }
        // Chatwoot falls back to looking the source_id up (`ContactInbox.find_by!`): 404.
        (None, Some(source_id)) => {
            contacts::identity_by_source(tx.conn(), &ctx.scope, inbox.id, source_id).await?
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "source_id",
                "blank",
                "give source_id, or contact_id with inbox_id",
            ));
        }
    };
    let relayed = body.continue_conversation.unwrap_or(
        body.source_id.is_some()
            && body.assignee_id.is_none()
            && body.team_id.is_none()
            && body.message.is_none()
            && status == Status::Open,
    );
    // An inbox locked to one conversation per contact answers the identity's first one
    // (ConversationBuilder#look_up_exising_conversation).
    let locked = if inbox.lock_to_single_conversation && !relayed {
        conversations::of_contact(tx.conn(), &ctx.scope, identity.contact_id)
            .await?
            .into_iter()
            .filter(|c| c.identity_id == Some(identity.id))
            .min_by_key(|c| c.id)
    } else {
        None
    };
    let custom_attributes = body
        .custom_attributes
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let additional_attributes = body
        .additional_attributes
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let started_by = if relayed {
        StartedBy::Integration
    } else {
        StartedBy::Agent(Box::new(NewConversation {
            contact_id: identity.contact_id,
            inbox_id: inbox.id,
            identity_id: Some(identity.id),
            status,
            snoozed_until,
            assignee_id: body.assignee_id,
            team_id: body.team_id,
            custom_attributes: custom_attributes.clone(),
            additional_attributes: additional_attributes.clone(),
            previous_conversation_id: None,
            created_at: None,
        }))
    };
    let mut conversation = match locked {
        Some(c) => c,
        // A relayed customer's continued conversation learns the attributes given.
        None => {
            start(
                &mut tx,
                &ctx.scope,
                Start {
                    inbox: &inbox,
                    contact_id: identity.contact_id,
                    identity_id: Some(identity.id),
                    started_by,
                    custom_attributes: custom_attributes.as_object().cloned(),
                    additional_attributes: additional_attributes.as_object().cloned(),
                },
            )
            .await?
        }
    };
    if let Some(first) = body.message {
        let content =
            throughline_core::validate::required_text("message.content", &first.content, 150_000)?;
        let mut m = NewMessage::text(MessageType::Outgoing, content);
        m.sender = super::messages::sender_of(&ctx);
        // A channel with a window (WhatsApp, Messenger, Instagram) takes a first message only
        // while the customer's last one is recent enough, else (WhatsApp) only a template.
        let last =
            reply_channels::last_incoming_at(tx.conn(), &ctx.scope, identity.contact_id, inbox.id)
                .await?;
        super::messages::check_window(&inbox, last, first.template_params.is_some())?;
        if let Some(params) = first.template_params {
            let mut conn = state.store.read().await?;
            super::messages::check_template(&state, &ctx, &mut conn, &inbox, &params).await?;
            m.additional_attributes = serde_json::json!({ "template_params": params });
        }
        conversation = messages::create(&mut tx, &ctx.scope, &conversation, m)
            .await?
            .conversation;
    }
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::conversation(&mut conn, &state.store, conversation).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<ConversationView>> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, &ctx.scope, id).await?;
    Ok(axum::Json(
        render::conversation(&mut conn, &state.store, c).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ConversationPatch {
    /// urgent, high, medium, low or none.
    #[serde(default, deserialize_with = "double_option")]
    priority: Option<Option<String>>,
}

fn parse_priority(p: Option<&str>) -> ApiResult<Option<Priority>> {
    match p {
        None => Ok(None),
        Some(s) => Priority::parse_optional(s)
            .map_err(|e| ApiError::invalid("priority", "inclusion", e.to_string())),
    }
}

/// Updates the conversation's priority.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = ConversationPatch, security(("userApiKey" = [])),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<ConversationPatch>,
) -> ApiResult<axum::Json<ConversationView>> {
    let mut tx = state.store.begin().await?;
    let mut c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    if let Some(p) = body.priority {
        let priority = parse_priority(p.as_deref())?;
        c = conversations::set_priority(&mut tx, &ctx.scope, &c, priority).await?;
    }
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::conversation(&mut conn, &state.store, c).await?,
    ))
}

/// Deletes a conversation and its messages (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    conversations::delete(&mut tx, &ctx.scope, &c).await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct ToggleStatus {
    /// open, resolved, pending or snoozed; without it open and resolved swap.
    status: Option<String>,
    /// With snoozed: when to reopen (Unix seconds). Without it the conversation sleeps until
    /// the customer writes.
    snoozed_until: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ToggleAnswer {
    success: bool,
    current_status: String,
    conversation_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    snoozed_until: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ToggleResponse {
    #[schema(value_type = Object)]
    meta: Value,
    payload: ToggleAnswer,
}

/// Changes the status (Chatwoot's toggle_status).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = ToggleStatus, security(("userApiKey" = [])),
    responses((status = 200, body = ToggleResponse), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn toggle_status(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<ToggleStatus>,
) -> ApiResult<axum::Json<ToggleResponse>> {
    let request = match body.status.as_deref() {
        None | Some("") => {
            if body.snoozed_until.is_some() {
                return Err(ApiError::invalid(
                    "snoozed_until",
                    "invalid",
                    "snoozed_until needs status snoozed",
                ));
            }
            StatusRequest::Toggle
        }
        Some(s) => StatusRequest::Set {
            status: Status::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "inclusion",
                    format!("unknown status `{s}`: use open, resolved, pending or snoozed"),
                )
            })?,
            snoozed_until: body.snoozed_until.map(|secs| secs.saturating_mul(1000)),
        },
    };
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let (updated, _) = conversations::set_status(&mut tx, &ctx.scope, &c, request)
        .await
        .map_err(|e| match e {
            throughline_store::StoreError::Refused(m) => ApiError::invalid("status", "invalid", m),
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(axum::Json(ToggleResponse {
        meta: serde_json::json!({}),
        payload: ToggleAnswer {
            success: true,
            current_status: updated.status.as_str().into(),
            conversation_id: updated.display_id,
            snoozed_until: updated.snoozed_until.map(throughline_core::to_unix_seconds),
        },
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TogglePriority {
    priority: String,
}

/// Sets the priority (urgent, high, medium, low or none).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_priority", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = TogglePriority, security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn toggle_priority(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<TogglePriority>,
) -> ApiResult<axum::Json<Empty>> {
    let priority = parse_priority(Some(&body.priority))?;
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    conversations::set_priority(&mut tx, &ctx.scope, &c, priority).await?;
    tx.commit().await?;
    Ok(ok())
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
struct CustomAttributes {
    #[schema(value_type = Object)]
    custom_attributes: Value,
}

/// Replaces the conversation's custom attributes.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/custom_attributes", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = CustomAttributes, security(("userApiKey" = [])),
    responses((status = 200, body = CustomAttributes), (status = 422, body = crate::error::ErrorBody)))]
async fn custom_attributes(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<CustomAttributes>,
) -> ApiResult<axum::Json<CustomAttributes>> {
    throughline_core::validate::json_object("custom_attributes", &body.custom_attributes)?;
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let updated = conversations::set_custom_attributes(&mut tx, &c, body.custom_attributes).await?;
    tx.commit().await?;
    Ok(axum::Json(CustomAttributes {
        custom_attributes: updated.custom_attributes,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AssignmentBody {
    /// The agent to assign; null unassigns.
    #[serde(default, deserialize_with = "double_option")]
    assignee_id: Option<Option<i64>>,
    /// The team to assign when no assignee_id is given; null removes the team.
    #[serde(default, deserialize_with = "double_option")]
    team_id: Option<Option<i64>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum Assigned {
    Agent(AgentView),
    Team(TeamView),
    Nobody(Empty),
}

/// Assigns an agent, or (without assignee_id) a team. Answers with who was assigned.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/assignments", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = AssignmentBody, security(("userApiKey" = [])),
    responses((status = 200, body = Assigned), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn assignments(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<AssignmentBody>,
) -> ApiResult<axum::Json<Assigned>> {
    let (assignee, team) = match (body.assignee_id, body.team_id) {
        (Some(a), _) => (Some(a), None),
        (None, Some(t)) => (None, Some(t)),
        (None, None) => {
            return Err(ApiError::invalid(
                "assignee_id",
                "blank",
                "give assignee_id or team_id",
            ));
        }
    };
    check_assignment(&state, &ctx, assignee.flatten(), team.flatten()).await?;
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    if let Some(Some(agent)) = assignee {
        check_capacity(&state, &ctx, tx.conn(), &c, agent).await?;
    }
    let updated = conversations::assign(&mut tx, &ctx.scope, &c, assignee, team).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let view = render::conversation(&mut conn, &state.store, updated).await?;
    Ok(axum::Json(
        match (assignee, view.meta.assignee, view.meta.team) {
            (Some(_), Some(user), _) => Assigned::Agent(user),
            (None, _, Some(team)) => Assigned::Team(team),
            _ => Assigned::Nobody(Empty {}),
        },
    ))
}

/// An agent picking from the queue or transferring respects the receiver's capacity;
/// supervisors and administrators may override it, and integrations (bots) are not held.
pub(super) async fn check_capacity(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut throughline_store::Conn,
    c: &throughline_core::model::Conversation,
    agent: i64,
) -> ApiResult<()> {
    let plain_agent = ctx.role.is_some_and(|r| !r.supervises());
    let adds_load = throughline_core::routing::counts_as_load(c.status);
    if !plain_agent || !adds_load || c.assignee_id == Some(agent) {
        return Ok(());
    }
    let inbox =
        throughline_store::inboxes::get(&mut *conn, state.store.key(), &ctx.scope, c.inbox_id)
            .await?;
    let full = throughline_service::routing::no_room(
        &mut *conn,
        ctx.account_id(),
        agent,
        inbox.channel_type,
    )
    .await?;
    match full {
        None => Ok(()),
        Some((kind, load, capacity)) => Err(ApiError::invalid(
            "assignee_id",
            "at_capacity",
            format!(
                "this agent has no room for another {kind} conversation ({load} of {capacity}, \
                 or another kind blocks it); a supervisor can assign it anyway"
            ),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<String>>), (status = 404, body = crate::error::ErrorBody)))]
async fn labels(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<String>>>> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, &ctx.scope, id).await?;
    Ok(payload(conversations::labels_of(&mut conn, &c).await?))
}

/// Sets the conversation's labels to exactly the given list.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = LabelList, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<String>>), (status = 422, body = crate::error::ErrorBody)))]
async fn set_labels(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<LabelList>,
) -> ApiResult<axum::Json<Payload<Vec<String>>>> {
    let titles = clean_labels(&body.labels)?;
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let result = conversations::set_labels(&mut tx, &ctx.scope, &c, &titles).await?;
    tx.commit().await?;
    Ok(payload(result))
}

/// Marks the conversation read by the calling agent (its unread count drops to zero).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/update_last_seen", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn update_last_seen(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    let Some(user_id) = ctx.scope.user_id() else {
        return Ok(ok());
    };
    let mut tx = state.store.begin().await?;
    let c = conversations::get(tx.conn(), &ctx.scope, id).await?;
    conversations::mark_seen(&mut tx, &c, Seer::Agent { user_id }).await?;
    // What the agent has now read needs no more telling.
    throughline_store::notifications::read_all(tx.conn(), &ctx.scope, Some(c.id)).await?;
    tx.commit().await?;
    Ok(ok())
}

/// An identity's address: its kind and normalised value.
type Address = (throughline_core::identity::AddressKind, String);

/// The identity a new conversation writes to when the contact has none in the inbox: the
/// address its channel reaches (an email, a phone in the form the provider names it). Telegram,
/// Messenger and Instagram let a business write only to someone who wrote first.
fn first_address(
    inbox: &throughline_core::model::Inbox,
    contact: &throughline_core::model::Contact,
    provider: Option<throughline_core::messaging::Provider>,
) -> ApiResult<(Option<String>, Option<Address>)> {
    use throughline_core::identity::AddressKind;
    use throughline_core::model::ChannelType;
    let kind = inbox.channel_type.address_kind();
    match inbox.channel_type {
        ChannelType::Email => {
            let email = contact.email.clone().ok_or_else(|| {
                ApiError::invalid(
                    "contact_id",
                    "invalid",
                    "the contact has no email address to write to",
                )
            })?;
            Ok((Some(email.clone()), Some((AddressKind::Email, email))))
        }
        ChannelType::Sms | ChannelType::Whatsapp | ChannelType::Voice => {
            let phone = contact.phone_number.clone().ok_or_else(|| {
                ApiError::invalid(
                    "contact_id",
                    "invalid",
                    "the contact has no phone number to write to",
                )
            })?;
            let source = throughline_core::messaging::phone_source_id(provider, &phone);
            Ok((Some(source), Some((kind, phone))))
        }
        ChannelType::Telegram | ChannelType::FacebookPage | ChannelType::Instagram => {
            Err(ApiError::invalid(
                "contact_id",
                "never_wrote",
                "the contact has never written to this inbox; this channel lets a business write only to someone who wrote first",
            ))
        }
        ChannelType::Api | ChannelType::WebWidget => Ok((None, None)),
    }
}
