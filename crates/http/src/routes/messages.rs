//! Messages of a conversation: list, create (JSON or multipart with attachments), delete.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use throughline_core::message::{ContentType, DeliveryStatus, MessageType, SenderType};
use throughline_core::model::ChannelType;
use throughline_core::reply_channel::Unavailable;
use throughline_core::views::{AgentView, ContactView, MessageView};
use throughline_store::blob::new_key;
use throughline_store::messages::{self, NewAttachment, NewMessage};
use throughline_store::{contacts, conversations, inboxes, render};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::NotFoundAs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Path, Principal, Query};
use crate::state::AppState;
use throughline_service::inbound::{self, Destination, Receive, Sender};

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(remove, update))
}

/// Who a message written by this caller is from.
pub(crate) fn sender_of(ctx: &AccountCtx) -> Option<(SenderType, i64)> {
    match &ctx.caller.principal {
        Principal::User(u) => Some((SenderType::User, u.id)),
        Principal::AgentBot(b) => Some((SenderType::AgentBot, b.id)),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct MessagesMeta {
    labels: Vec<String>,
    #[schema(value_type = Object)]
    additional_attributes: Value,
    contact: ContactView,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee: Option<AgentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_last_seen_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee_last_seen_at: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MessageList {
    meta: MessagesMeta,
    payload: Vec<MessageView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// Messages older than this message id (the 20 just before it).
    before: Option<i64>,
    /// Messages newer than this message id.
    after: Option<i64>,
}

/// Messages, oldest first: the latest 20, or 20 before/after a message id.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", tag = "Messages",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ListParams), security(("userApiKey" = [])),
    responses((status = 200, body = MessageList), (status = 404, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<MessageList>> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, &ctx.scope, id).await?;
    let list = messages::list(&mut conn, &ctx.scope, &c, p.before, p.after, 20, true).await?;
    let payload = render::messages(&mut conn, &state.store, &c, &list).await?;
    let view = render::conversation(&mut conn, &state.store, c.clone()).await?;
    Ok(axum::Json(MessageList {
        meta: MessagesMeta {
            labels: view.labels,
            additional_attributes: view.additional_attributes,
            contact: view.meta.sender,
            assignee: view.meta.assignee,
            agent_last_seen_at: view.agent_last_seen_at,
            assignee_last_seen_at: view.assignee_last_seen_at,
        },
        payload,
    }))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub(crate) struct NewMessageBody {
    pub content: Option<String>,
    /// outgoing (default) or incoming (API inboxes only: a customer message relayed by your system).
    pub message_type: Option<String>,
    #[serde(default)]
    pub private: bool,
    /// text (default), input_select, cards, form, article…
    pub content_type: Option<String>,
    #[schema(value_type = Object)]
    pub content_attributes: Option<Value>,
    /// The external id of this message; posting it again returns the first message.
    pub source_id: Option<String>,
    #[schema(value_type = Object)]
    pub template_params: Option<Value>,
    /// Echoed back in the message's additional attributes so the sender can match it.
    pub echo_id: Option<String>,
    /// Throughline extension: the inbox (channel) an outgoing reply goes through, one of the
    /// conversation's `reply_channels`. Default: the channel of the customer's latest message.
    pub inbox_id: Option<i64>,
}

pub(crate) struct Upload {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

const MAX_CONTENT: usize = 150_000;
const MAX_FILES: usize = 15;

/// Reads a JSON body or a multipart form (`content`, `message_type`, `private`,
/// `attachments[]` files), as Chatwoot clients send either.
pub(crate) async fn read_body(
    state: &AppState,
    req: Request,
) -> ApiResult<(NewMessageBody, Vec<Upload>)> {
    if !is_multipart(&req) {
        let crate::extract::Json(body) =
            crate::extract::Json::<NewMessageBody>::from_request(req, state).await?;
        return Ok((body, Vec::new()));
    }
    let req = upload_sized(req, state.config.upload_limit).await;
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
        })?;
    let mut body = NewMessageBody::default();
    let mut uploads = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments[]" || name == "attachments" {
            if uploads.len() >= MAX_FILES {
                return Err(ApiError::invalid(
                    "attachments",
                    "too_many",
                    format!("at most {MAX_FILES} files per message"),
                ));
            }
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status(), e.body_text()))?;
            uploads.push(Upload {
                file_name,
                content_type,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        if text.contains('\0') {
            return Err(ApiError::invalid(
                &name,
                "invalid",
                format!("{name} contains the NUL character, which text may not contain"),
            ));
        }
        match name.as_str() {
            "content" => body.content = Some(text),
            "message_type" => body.message_type = Some(text),
            "private" => body.private = matches!(text.as_str(), "true" | "1"),
            "content_type" => body.content_type = Some(text),
            "source_id" => body.source_id = Some(text),
            "echo_id" => body.echo_id = Some(text),
            "inbox_id" => {
                body.inbox_id = Some(text.trim().parse().map_err(|_| {
                    ApiError::invalid("inbox_id", "invalid", "inbox_id must be a number")
                })?);
            }
            "content_attributes" => {
                body.content_attributes = Some(crate::extract::json::parse(text.as_bytes())?);
            }
            _ => {}
        }
    }
    Ok((body, uploads))
}

/// Lets a multipart body grow to the upload limit: the app-wide default body limit is sized for
/// JSON and would otherwise cap every upload at it. (`DefaultBodyLimit`'s marker is private;
/// its layer is the way to set it on one request.)
pub(crate) async fn upload_sized(req: Request, limit: usize) -> Request {
    use tower::{Layer, ServiceExt};
    let pass = tower::service_fn(|r: Request| async move { Ok::<_, std::convert::Infallible>(r) });
    match axum::extract::DefaultBodyLimit::max(limit)
        .layer(pass)
        .oneshot(req)
        .await
    {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Whether the body is a multipart form.
pub(crate) fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
}

pub(crate) fn multipart_error(status: axum::http::StatusCode, text: String) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the upload is larger than the server accepts".into())
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {text}"))
    }
}

/// Creates a message from an already-read body, for both the API and the Client API.
pub(crate) async fn build(
    state: &AppState,
    account_id: i64,
    body: NewMessageBody,
    uploads: Vec<Upload>,
    default_type: MessageType,
) -> ApiResult<NewMessage> {
    // Chatwoot's MessageBuilder takes every message type (app/builders/messages/
    // message_builder.rb; incoming only in API inboxes, checked by the caller).
    let message_type = match body.message_type.as_deref() {
        None | Some("") => default_type,
        Some(t) => MessageType::parse(t).ok_or_else(|| {
            ApiError::invalid(
                "message_type",
                "inclusion",
                "message_type must be outgoing, incoming, activity or template",
            )
        })?,
    };
    let content_type = match body.content_type.as_deref() {
        None | Some("") => ContentType::Text,
        Some(c) => ContentType::parse(c).ok_or_else(|| {
            ApiError::invalid(
                "content_type",
                "inclusion",
                format!("unknown content_type `{c}`"),
            )
        })?,
    };
    let content = match body.content {
        Some(c) if c.chars().count() > MAX_CONTENT => {
            return Err(ApiError::invalid(
                "content",
                "too_long",
                format!("content is longer than {MAX_CONTENT} characters"),
            ));
        }
        Some(c) if !c.trim().is_empty() => Some(c),
        _ => None,
    };
    let content_attributes = body
        .content_attributes
        .unwrap_or_else(|| serde_json::json!({}));
    throughline_core::validate::json_object("content_attributes", &content_attributes)?;
    if content.is_none() && uploads.is_empty() && content_type == ContentType::Text {
        return Err(ApiError::invalid(
            "content",
            "blank",
            "a message needs content or an attachment",
        ));
    }
    let source_id = body
        .source_id
        .as_deref()
        .map(|s| throughline_core::validate::required_text("source_id", s, 255))
        .transpose()?;
    let mut additional = serde_json::Map::new();
    if let Some(echo) = body.echo_id {
        additional.insert(
            "echo_id".into(),
            Value::String(echo.chars().take(255).collect()),
        );
    }
    if let Some(params) = body.template_params {
        additional.insert("template_params".into(), params);
    }
    let mut attachments = Vec::with_capacity(uploads.len());
    for upload in uploads {
        if upload.bytes.is_empty() {
            return Err(ApiError::invalid(
                "attachments",
                "blank",
                "an attachment is empty",
            ));
        }
        let key = new_key(account_id);
        state.blobs.put(&key, upload.bytes.clone()).await?;
        attachments.push(NewAttachment {
            file_type: throughline_core::message::attachment_kind(
                upload.content_type.as_deref().unwrap_or_default(),
            )
            .into(),
            content_type: upload.content_type,
            file_name: upload.file_name.map(|n| n.chars().take(255).collect()),
            byte_size: i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX),
            blob_key: Some(key),
            external_url: None,
        });
    }
    Ok(NewMessage {
        inbox_id: None,
        identity_id: None,
        message_type,
        content,
        content_type,
        content_attributes,
        additional_attributes: Value::Object(additional),
        private: body.private,
        source_id,
        sender: None,
        status: throughline_core::message::DeliveryStatus::Sent,
        attachments,
        created_at: None,
    })
}

/// The contact's identity in `inbox_id`, the address a message through that inbox uses.
async fn identity_in(
    conn: &mut throughline_store::Conn,
    ctx: &AccountCtx,
    conversation: &throughline_core::model::Conversation,
    inbox_id: i64,
) -> ApiResult<Option<i64>> {
    Ok(
        contacts::identities_in_inbox(conn, &ctx.scope, conversation.contact_id, inbox_id)
            .await?
            .into_iter()
            .next()
            .map(|i| i.id),
    )
}

/// Posts a message. Agents and bots write outgoing replies or private notes; an API inbox's
/// own system may relay incoming customer messages (`message_type: incoming`).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages", tag = "Messages",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = NewMessageBody, security(("userApiKey" = [])),
    responses((status = 200, body = MessageView), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    req: Request,
) -> ApiResult<axum::Json<MessageView>> {
    let (body, uploads) = read_body(&state, req).await?;
    let reply_inbox = body.inbox_id;
    let conversation = {
        let mut conn = state.store.read().await?;
        conversations::get(&mut conn, &ctx.scope, id).await?
    };
    let mut new = build(
        &state,
        ctx.account_id(),
        body,
        uploads,
        MessageType::Outgoing,
    )
    .await?;
    if new.message_type == MessageType::Incoming {
        // The relay names the inbox the customer wrote through (default: where the
        // conversation started); the customer must have an identity there.
        let relay_inbox = reply_inbox.unwrap_or(conversation.inbox_id);
        let (inbox, identity_id) = {
            let mut conn = state.store.read().await?;
            let inbox = inboxes::get(&mut conn, state.store.key(), &ctx.scope, relay_inbox)
                .await
                .not_found_as("inbox_id", "no such inbox")?;
            if inbox.channel_type != ChannelType::Api || new.private {
                return Err(ApiError::invalid(
                    "message_type",
                    "not_allowed",
                    "incoming messages can be relayed only into API inboxes, and never as private notes",
                ));
            }
            contacts::get(&mut conn, &ctx.scope, conversation.contact_id).await?;
            let identity_id = if inbox.id == conversation.inbox_id {
                conversation.identity_id
            } else {
                let identity = identity_in(&mut conn, &ctx, &conversation, inbox.id).await?;
                Some(identity.ok_or_else(|| {
                    ApiError::invalid(
                        "inbox_id",
                        "no_address",
                        "the contact has no identity in this inbox",
                    )
                })?)
            };
            (inbox, identity_id)
        };
        // A customer's message relayed by the business's system: the API channel's inbound.
        let received = inbound::receive(
            &state.store,
            Receive {
                sender: Sender::Known {
                    contact_id: conversation.contact_id,
                    identity_id,
                },
                destination: Destination::Conversation(Box::new(conversation)),
                message: new,
                thread_key: None,
                raw_blob_key: None,
                pending_media: Vec::new(),
                inbox,
                scope: ctx.scope.clone(),
            },
        )
        .await?;
        return render_created(&state, &received.created).await;
    }
    if new.message_type == MessageType::Activity {
        // An integration's activity line (WAHA posts its session's events as one): shown in
        // the timeline, sent through no channel, from nobody — like Throughline's own lines.
        let created = create_grouped(&state, ctx.scope.clone(), conversation, new).await?;
        return render_created(&state, &created).await;
    }
    new.sender = sender_of(&ctx);
    if !new.private {
        let mut conn = state.store.read().await?;
        let options = super::journey::reply_options(&state, &ctx, &mut conn, &conversation).await?;
        // Without a choice the reply takes the channel of the customer's latest message.
        let target = match reply_inbox {
            Some(chosen) => chosen,
            None => messages::reply_route(&mut conn, &conversation).await?.0,
        };
        let found = options.iter().find(|(i, _)| i.id == target);
        let Some((inbox, option)) = found else {
            if reply_inbox.is_some() {
                return Err(ApiError::invalid(
                    "inbox_id",
                    "invalid",
                    "no such inbox among this conversation's reply channels",
                ));
            }
            return render_created(
                &state,
                &create_grouped(&state, ctx.scope.clone(), conversation, new).await?,
            )
            .await;
        };
        let template = new.additional_attributes.get("template_params");
        if let Some(params) = template {
            check_template(&state, &ctx, &mut conn, inbox, params).await?;
        }
        // Outside WhatsApp's window only a template may go; the provider's own windows are
        // enforced even when the agent did not pick the inbox (it would refuse the send).
        let window_only = matches!(
            option.reason,
            Some(Unavailable::WhatsappWindowClosed | Unavailable::MessagingWindowClosed)
        );
        let allowed = option.available
            || (option.reason == Some(Unavailable::WhatsappWindowClosed) && template.is_some());
        if !allowed && (reply_inbox.is_some() || window_only) {
            return Err(super::journey::refuse_unavailable(option.reason));
        }
        if reply_inbox.is_some() {
            new.inbox_id = Some(inbox.id);
            new.identity_id = identity_in(&mut conn, &ctx, &conversation, inbox.id).await?;
        }
    }
    let created = create_grouped(&state, ctx.scope.clone(), conversation, new).await?;
    render_created(&state, &created).await
}

/// Whether a windowed channel (WhatsApp, Messenger, Instagram) takes a free-form message now,
/// given when the customer last wrote through it; outside WhatsApp's window only a template.
pub(crate) fn check_window(
    inbox: &throughline_core::model::Inbox,
    last_incoming_at: Option<i64>,
    is_template: bool,
) -> ApiResult<()> {
    use throughline_core::reply_channel::ReplyRules;
    let open = ReplyRules::for_channel(inbox.channel_type)
        .window_open(last_incoming_at, throughline_store::now_ms());
    let whatsapp = inbox.channel_type == throughline_core::model::ChannelType::Whatsapp;
    if open || (whatsapp && is_template) {
        return Ok(());
    }
    Err(super::journey::refuse_unavailable(Some(
        ReplyRules::window_closed(inbox.channel_type),
    )))
}

/// A WhatsApp template must name one of the inbox's approved templates (when they were
/// synced) and give each of its body parameters.
pub(crate) async fn check_template(
    state: &AppState,
    ctx: &AccountCtx,
    conn: &mut throughline_store::Conn,
    inbox: &throughline_core::model::Inbox,
    params: &Value,
) -> ApiResult<()> {
    let settings = throughline_store::providers::get(conn, state.store.key(), &ctx.scope, inbox.id)
        .await?
        .map(|c| c.settings);
    let templates = match settings {
        Some(throughline_core::messaging::ProviderSettings::WhatsappCloud(w)) => w.templates,
        _ => Vec::new(),
    };
    throughline_core::messaging::check_template(&templates, params)
        .map_err(|(field, code, why)| ApiError::invalid(field, code, why))
}

async fn render_created(
    state: &AppState,
    created: &messages::Created,
) -> ApiResult<axum::Json<MessageView>> {
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::message(
            &mut conn,
            &state.store,
            &created.conversation,
            &created.message,
        )
        .await?,
    ))
}

/// Deletes a message's content and attachments (the line stays, marked deleted). Agents may
/// delete their own messages; administrators any.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}", tag = "Messages",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = MessageView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id, message_id)): Path<(i64, i64, i64)>,
) -> ApiResult<axum::Json<MessageView>> {
    let mut tx = state.store.begin().await?;
    let conversation = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let message = messages::get(tx.conn(), &ctx.scope, &conversation, message_id).await?;
    let own = sender_of(&ctx) == message.sender_type.zip(message.sender_id);
    if !own && ctx.require_admin().is_err() {
        return Err(ApiError::Forbidden(
            "agents can delete only their own messages".into(),
        ));
    }
    let files = messages::attachments_of(tx.conn(), &ctx.scope, message_id).await?;
    let deleted = messages::delete(&mut tx, &ctx.scope, &conversation, message_id).await?;
    tx.commit().await?;
    // The rows are gone; now the bytes. A failure here leaves an orphan file, never a
    // dangling row.
    for key in files.iter().filter_map(|a| a.blob_key.as_deref()) {
        if let Err(e) = state.blobs.delete(key).await {
            tracing::warn!(%key, error = %e, "could not delete an attachment file");
        }
    }
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::message(&mut conn, &state.store, &conversation, &deleted).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MessageStatusBody {
    /// sent, delivered, read or failed.
    status: Option<String>,
    /// Why the integration could not deliver it (kept only with `failed`).
    external_error: Option<String>,
}

/// An API inbox's integration reports how far its message got (Chatwoot's
/// `MessagesController#update` → `Messages::StatusUpdateService`). The status only moves
/// forward, as every provider receipt does: a late `delivered` never undoes `read`.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}", tag = "Messages",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    request_body = MessageStatusBody, security(("userApiKey" = [])),
    responses((status = 200, body = MessageView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id, message_id)): Path<(i64, i64, i64)>,
    crate::extract::Json(body): crate::extract::Json<MessageStatusBody>,
) -> ApiResult<axum::Json<MessageView>> {
    let mut tx = state.store.begin().await?;
    let conversation = conversations::get(tx.conn(), &ctx.scope, id).await?;
    let message = messages::get(tx.conn(), &ctx.scope, &conversation, message_id).await?;
    // Chatwoot's `ensure_api_inbox`: other channels' statuses come from their providers.
    let inbox = inboxes::get(
        tx.conn(),
        state.store.key(),
        &ctx.scope,
        conversation.inbox_id,
    )
    .await?;
    if inbox.channel_type != ChannelType::Api {
        return Err(ApiError::Forbidden(
            "Message status update is only allowed for API inboxes".into(),
        ));
    }
    let reported = body
        .status
        .as_deref()
        .and_then(DeliveryStatus::parse)
        .filter(|s| *s != DeliveryStatus::Queued)
        .ok_or_else(|| {
            ApiError::invalid(
                "status",
                "inclusion",
                "status must be sent, delivered, read or failed",
            )
        })?;
    let error = body
        .external_error
        .as_deref()
        .map(|e| throughline_core::validate::optional_text("external_error", e, 1_000))
        .transpose()?
        .flatten();
    let updated =
        messages::record_delivery(&mut tx, &ctx.scope, message.id, reported, error.as_deref())
            .await?;
    tx.commit().await?;
    let message = updated.unwrap_or(message);
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::message(&mut conn, &state.store, &conversation, &message).await?,
    ))
}

/// Stores a message through group commit: concurrent messages share one durable transaction,
/// each answered once it is on disk.
pub(crate) async fn create_grouped(
    state: &AppState,
    scope: throughline_store::AccountScope,
    conversation: throughline_core::model::Conversation,
    new: NewMessage,
) -> ApiResult<messages::Created> {
    Ok(state
        .store
        .write_grouped(conversation.contact_id.unsigned_abs(), move |tx| {
            Box::pin(async move { messages::create(tx, &scope, &conversation, new).await })
        })
        .await?)
}
