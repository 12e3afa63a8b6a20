//! Chatwoot's Client API: what an API inbox's own front end (or an SDK) calls on behalf of a
//! customer, authenticated by the inbox identifier and the contact's source id.
//!
//! A visitor sees only conversations started through their own identity, and only public
//! messages. With identity verification on (`hmac_mandatory`), a contact must present
//! `identifier_hash` = HMAC-SHA256(identifier) under the inbox's secret.

use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::crypto::verify_identifier_hash;
use throughline_core::identity::{normalize_email, normalize_phone};
use throughline_core::linking::Evidence;
use throughline_core::message::MessageType;
use throughline_core::model::{ChannelType, Conversation, Inbox};
use throughline_core::validate::{json_object, optional_text};
use throughline_core::views::{
    PublicContactView, PublicConversationView, PublicInboxView, PublicMessageView,
};
use throughline_realtime::Who;
use throughline_realtime::frames::WhoKind;
use throughline_service::conversations::{self, Start, StartedBy};
use throughline_service::inbound::{self, Destination, Receive, Sender};
use throughline_store::contacts::{self, ContactChanges, ContactKey};
use throughline_store::conversations::{self as stored_conversations, Seer};
use throughline_store::messages;
use throughline_store::resolve::{self, Arriving};
use throughline_store::{AccountScope, Conn, StoreError, inboxes, render};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Empty, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(inbox))
        .routes(routes!(create_contact))
        .routes(routes!(show_contact, update_contact))
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(show_conversation))
        .routes(routes!(toggle_status))
        .routes(routes!(toggle_typing))
        .routes(routes!(update_last_seen))
        .routes(routes!(list_messages, create_message))
        .routes(routes!(update_message))
        .routes(routes!(widget_event))
}

pub(super) async fn find_inbox(state: &AppState, identifier: &str) -> ApiResult<Inbox> {
    let mut conn = state.store.read().await?;
    inbox_on(&mut conn, state, identifier).await
}

async fn inbox_on(conn: &mut Conn, state: &AppState, identifier: &str) -> ApiResult<Inbox> {
    inboxes::by_identifier_unscoped(conn, state.store.key(), identifier)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            other => other.into(),
        })
}

pub(super) use throughline_service::visitor::Visitor;

/// The visitor of an inbox by the source id it gave them, checking identity verification
/// when the inbox requires it.
pub(super) async fn visitor(
    state: &AppState,
    inbox_identifier: &str,
    contact_identifier: &str,
) -> ApiResult<Visitor> {
    let mut conn = state.store.read().await?;
    visitor_on(&mut conn, state, inbox_identifier, contact_identifier).await
}

/// [`visitor`] on a connection the caller goes on reading with (each checkout from the pool
/// costs about what a statement does).
async fn visitor_on(
    conn: &mut Conn,
    state: &AppState,
    inbox_identifier: &str,
    contact_identifier: &str,
) -> ApiResult<Visitor> {
    let stage = tracing::trace_span!(target: "throughline::stage", "lookup");
    let v = tracing::Instrument::instrument(
        async {
            let inbox = inbox_on(conn, state, inbox_identifier).await?;
            ApiResult::Ok(Visitor::find(conn, inbox, contact_identifier).await?)
        },
        stage,
    )
    .await?;
    if v.inbox.hmac_mandatory && !v.identity.hmac_verified {
        return Err(ApiError::Unauthorized(
            "this inbox requires identity verification (identifier_hash)".into(),
        ));
    }
    Ok(v)
}

/// A conversation of this visitor, by display id (see `Visitor::conversation`).
pub(super) async fn visitor_conversation(
    state: &AppState,
    v: &Visitor,
    display_id: i64,
) -> ApiResult<Conversation> {
    let mut conn = state.store.read().await?;
    Ok(v.conversation(&mut conn, display_id).await?)
}

#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}", tag = "Client API",
    params(("inbox_identifier" = String, Path)),
    responses((status = 200, body = PublicInboxView), (status = 404, body = crate::error::ErrorBody)))]
async fn inbox(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
) -> ApiResult<axum::Json<PublicInboxView>> {
    let inbox = find_inbox(&state, &identifier).await?;
    let mut view = PublicInboxView::from(&inbox);
    view.agents_online = state.hub.agents_online(inbox.account_id, inbox.id);
    // Unreadable hours (saved before they were checked) read as always open.
    let hours = throughline_core::hours::Schedule::from_settings(&inbox.settings)
        .unwrap_or_else(|_| throughline_core::hours::Schedule::always());
    let now = throughline_store::now_ms();
    view.open_now = hours.is_open(now);
    if !view.open_now {
        view.opens_at = hours.next_open(now).map(throughline_core::to_unix_seconds);
    }
    if inbox.channel_type == ChannelType::WebWidget {
        view.widget = Some(super::widget::config(&state, &inbox).await?);
    }
    Ok(axum::Json(view))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub(crate) struct PublicContactBody {
    /// Your system's id for this person.
    identifier: Option<String>,
    /// HMAC-SHA256 of `identifier` under the inbox's secret (hex).
    identifier_hash: Option<String>,
    email: Option<String>,
    name: Option<String>,
    phone_number: Option<String>,
    avatar_url: Option<String>,
    #[schema(value_type = Object)]
    custom_attributes: Option<Value>,
    /// Create: the contact's id in this inbox (`contact_identifier` afterwards); made up when
    /// absent or blank. An id already in the inbox returns its contact, as Chatwoot's
    /// `ContactInboxWithContactBuilder` does.
    source_id: Option<String>,
}

fn verified(inbox: &Inbox, body: &PublicContactBody) -> ApiResult<bool> {
    let ok = match (&body.identifier, &body.identifier_hash) {
        (Some(id), Some(hash)) => verify_identifier_hash(&inbox.hmac_token, id, hash),
        _ => false,
    };
    if body.identifier_hash.is_some() && !ok {
        return Err(ApiError::Unauthorized(
            "identifier_hash does not match the identifier".into(),
        ));
    }
    if inbox.hmac_mandatory && !ok {
        return Err(ApiError::Unauthorized(
            "this inbox requires identity verification (identifier_hash)".into(),
        ));
    }
    Ok(ok)
}

fn clean_email(e: &Option<String>) -> ApiResult<Option<String>> {
    e.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            normalize_email(s).map_err(|err| ApiError::invalid("email", "invalid", err.to_string()))
        })
        .transpose()
}

fn clean_phone(p: &Option<String>, inbox: &Inbox) -> ApiResult<Option<String>> {
    p.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            normalize_phone(s, inbox.default_country.as_deref())
                .map_err(|err| ApiError::invalid("phone_number", "invalid", err.to_string()))
        })
        .transpose()
}

/// Creates a contact for this inbox and answers with its `source_id` (the contact identifier
/// of every further call). A verified identifier joins the existing contact that has it.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts", tag = "Client API",
    params(("inbox_identifier" = String, Path)), request_body = PublicContactBody,
    responses((status = 200, body = PublicContactView), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_contact(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    Json(body): Json<PublicContactBody>,
) -> ApiResult<axum::Json<PublicContactView>> {
    let inbox = find_inbox(&state, &identifier).await?;
    let hmac_verified = verified(&inbox, &body)?;
    let email = clean_email(&body.email)?;
    let phone = clean_phone(&body.phone_number, &inbox)?;
    let name = body
        .name
        .as_deref()
        .map(|n| optional_text("name", n, 255))
        .transpose()?
        .flatten();
    let external = body
        .identifier
        .as_deref()
        .map(|i| optional_text("identifier", i, 255))
        .transpose()?
        .flatten();
    if let Some(attrs) = &body.custom_attributes {
        json_object("custom_attributes", attrs)?;
    }
    let source_id = body
        .source_id
        .as_deref()
        .map(|s| optional_text("source_id", s, 255))
        .transpose()?
        .flatten();
    let scope = AccountScope::system(inbox.account_id);
    let mut tx = state.store.begin().await?;
    // Only a verified identifier proves who this is: the business's server signed it, and the
    // email and phone that come with it. Anything else starts a new contact, with merge
    // suggestions where it shares an address with someone.
    let resolved = resolve::sender(
        &mut tx,
        &scope,
        Arriving {
            inbox: &inbox,
            source_id,
            name,
            email,
            phone,
            phone_as_given: None,
            external_id: external,
            evidence: if hmac_verified {
                Evidence::Proven
            } else {
                Evidence::Claimed
            },
            hmac_verified,
            custom_attributes: body.custom_attributes.clone(),
            avatar_url: body.avatar_url.clone(),
        },
    )
    .await?;
    let (contact, identity) = (resolved.contact, resolved.identity);
    tx.commit().await?;
    Ok(axum::Json(PublicContactView::new(&contact, &identity)))
}

#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    responses((status = 200, body = PublicContactView), (status = 404, body = crate::error::ErrorBody)))]
async fn show_contact(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<PublicContactView>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    Ok(axum::Json(PublicContactView::new(&v.contact, &v.identity)))
}

/// Updates the visitor's name, email, phone or attributes.
#[utoipa::path(patch, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)), request_body = PublicContactBody,
    responses((status = 200, body = PublicContactView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
    Json(body): Json<PublicContactBody>,
) -> ApiResult<axum::Json<PublicContactView>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let hmac_verified = verified(&v.inbox, &body)?;
    let mut changes = ContactChanges {
        name: body
            .name
            .as_deref()
            .map(|n| optional_text("name", n, 255).map(Option::unwrap_or_default))
            .transpose()?,
        custom_attributes: match &body.custom_attributes {
            Some(a) => {
                json_object("custom_attributes", a)?;
                a.as_object().cloned()
            }
            None => None,
        },
        // Without a signed identifier, the addresses are only the visitor's word.
        unproven: !(hmac_verified || v.proven()),
        ..Default::default()
    };
    let mut additional = serde_json::Map::new();
    let mut tx = state.store.begin().await?;
    let system = AccountScope::system(v.inbox.account_id);
    if let Some(e) = clean_email(&body.email)? {
        match contacts::find_by(tx.conn(), &system, ContactKey::Email(&e)).await? {
            Some(other) if other.id != v.contact.id => {
                additional.insert("claimed_email".into(), json!(e));
            }
            _ => changes.email = Some(Some(e)),
        }
    }
    if let Some(p) = clean_phone(&body.phone_number, &v.inbox)? {
        match contacts::find_by(tx.conn(), &system, ContactKey::Phone(&p)).await? {
            Some(other) if other.id != v.contact.id => {
                additional.insert("claimed_phone_number".into(), json!(p));
            }
            _ => changes.phone_number = Some(Some(p)),
        }
    }
    if !additional.is_empty() {
        changes.additional_attributes = Some(additional);
    }
    let contact = contacts::update(&mut tx, &v.scope, v.contact.id, changes).await?;
    if hmac_verified && !v.identity.hmac_verified {
        contacts::set_identity_verified(&mut tx, &v.scope, v.identity.id, true).await?;
    }
    tx.commit().await?;
    Ok(axum::Json(PublicContactView::new(&contact, &v.identity)))
}

async fn conversation_view(
    state: &AppState,
    v: &Visitor,
    c: &Conversation,
) -> ApiResult<PublicConversationView> {
    let mut conn = state.store.read().await?;
    let list = messages::list(&mut conn, &v.scope, c, None, None, 100, false).await?;
    let msgs = render::public_messages(&mut conn, &state.store, c, &list).await?;
    Ok(PublicConversationView::new(c, &v.contact, msgs))
}

#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    responses((status = 200, body = Vec<PublicConversationView>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Vec<PublicConversationView>>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let list = {
        let mut conn = state.store.read().await?;
        v.conversations(&mut conn).await?
    };
    let mut out = Vec::with_capacity(list.len());
    for c in &list {
        out.push(conversation_view(&state, &v, c).await?);
    }
    Ok(axum::Json(out))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub(crate) struct PublicConversationBody {
    #[schema(value_type = Object)]
    custom_attributes: Option<Value>,
    /// Website inboxes: the visitor's page and language (recorded in the conversation's
    /// `additional_attributes` with the browser read from User-Agent).
    #[serde(flatten)]
    browser: super::widget::BrowserFields,
}

/// Starts a conversation for the visitor.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)), request_body = PublicConversationBody,
    responses((status = 200, body = PublicConversationView), (status = 404, body = crate::error::ErrorBody)))]
async fn create_conversation(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<PublicConversationBody>,
) -> ApiResult<axum::Json<PublicConversationView>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    if let Some(attrs) = &body.custom_attributes {
        json_object("custom_attributes", attrs)?;
    }
    // Chatwoot records where and in what a website visitor started the chat.
    let context = (v.inbox.channel_type == ChannelType::WebWidget)
        .then(|| super::widget::visitor_context(&headers, &body.browser).attributes());
    let mut tx = state.store.begin().await?;
    let c = conversations::start(
        &mut tx,
        &v.scope,
        Start {
            inbox: &v.inbox,
            contact_id: v.contact.id,
            identity_id: Some(v.identity.id),
            started_by: StartedBy::Customer { proven: v.proven() },
            custom_attributes: match body.custom_attributes {
                Some(Value::Object(attrs)) => Some(attrs),
                _ => None,
            },
            additional_attributes: context,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(conversation_view(&state, &v, &c).await?))
}

#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = PublicConversationView), (status = 404, body = crate::error::ErrorBody)))]
async fn show_conversation(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
) -> ApiResult<axum::Json<PublicConversationView>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    Ok(axum::Json(conversation_view(&state, &v, &c).await?))
}

/// The customer resolves their conversation.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/toggle_status", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = PublicConversationView), (status = 404, body = crate::error::ErrorBody)))]
async fn toggle_status(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
) -> ApiResult<axum::Json<PublicConversationView>> {
    use throughline_core::conversation::{Status, StatusRequest};
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    let mut tx = state.store.begin().await?;
    let (updated, _) = stored_conversations::set_status(
        &mut tx,
        &v.scope,
        &c,
        StatusRequest::Set {
            status: Status::Resolved,
            snoozed_until: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(conversation_view(&state, &v, &updated).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Typing {
    /// on or off
    typing_status: String,
}

/// The customer started or stopped typing (sent live to agents; not stored).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/toggle_typing", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)), request_body = Typing,
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn toggle_typing(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
    Json(body): Json<Typing>,
) -> ApiResult<axum::Json<Empty>> {
    let on = super::realtime::typing_on(&body.typing_status)?;
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    let who = Who {
        kind: WhoKind::Contact,
        id: v.contact.id,
        name: v.contact.name.clone(),
    };
    super::realtime::publish_typing(&state, &v.scope, who, c.display_id, on, false).await?;
    Ok(ok())
}

/// The customer has read the conversation.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/update_last_seen", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn update_last_seen(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
) -> ApiResult<axum::Json<Empty>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    let mut tx = state.store.begin().await?;
    let seen = stored_conversations::mark_seen(&mut tx, &c, Seer::Contact).await?;
    if let Some(at) = seen.contact_last_seen_at {
        messages::mark_read_until(&mut tx, &v.scope, c.id, at).await?;
    }
    tx.commit().await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = Vec<PublicMessageView>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
) -> ApiResult<axum::Json<Vec<PublicMessageView>>> {
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    let mut conn = state.store.read().await?;
    let list = messages::list(&mut conn, &v.scope, &c, None, None, 100, false).await?;
    Ok(axum::Json(
        render::public_messages(&mut conn, &state.store, &c, &list).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct PublicMessageBody {
    content: Option<String>,
    /// Echoed back in additional_attributes so the client can match its optimistic copy.
    echo_id: Option<String>,
    /// The provider's or app's id for this message; a repeat returns the first message.
    source_id: Option<String>,
}

/// The customer writes: JSON, or `multipart/form-data` with `content` and `attachments[]`
/// files (the inbox's size and type limits apply: 413, 415).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)), request_body = PublicMessageBody,
    responses((status = 200, body = PublicMessageView), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn create_message(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id)): Path<(String, String, i64)>,
    req: Request,
) -> ApiResult<axum::Json<PublicMessageView>> {
    // Who writes, and where it goes, on one connection given back before the body is read.
    let (v, c) = {
        let mut conn = state.store.read().await?;
        let v = visitor_on(&mut conn, &state, &inbox_id, &contact_id).await?;
        if v.contact.blocked {
            return Err(ApiError::Forbidden("this contact is blocked".into()));
        }
        // What the visitor writes reaches the conversation an agent merged this one into.
        let lookup = tracing::trace_span!(target: "throughline::stage", "lookup");
        let c =
            tracing::Instrument::instrument(v.conversation_to_write(&mut conn, id), lookup).await?;
        (v, c)
    };
    // JSON, or a multipart form with files (`attachments[]`) as the widget sends them. Only
    // the text, the echo id and the source id are the visitor's to choose.
    let (body, uploads) = if super::messages::is_multipart(&req) {
        let (b, uploads) = super::messages::read_body(&state, req).await?;
        let body = PublicMessageBody {
            content: b.content,
            echo_id: b.echo_id,
            source_id: b.source_id,
        };
        (body, uploads)
    } else {
        let Json(body) = Json::<PublicMessageBody>::from_request(req, &state).await?;
        (body, Vec::new())
    };
    super::widget::check_uploads(&state, &v.inbox, &uploads)?;
    if c.status == throughline_core::conversation::Status::Resolved
        && !v.inbox.allow_messages_after_resolved
    {
        return Err(ApiError::Unprocessable(
            "this conversation is resolved; start a new one".into(),
        ));
    }
    let request = super::messages::NewMessageBody {
        content: body.content,
        message_type: Some("incoming".into()),
        echo_id: body.echo_id,
        source_id: body.source_id,
        ..Default::default()
    };
    let message = super::messages::build(
        &state,
        v.inbox.account_id,
        request,
        uploads,
        MessageType::Incoming,
    )
    .await?;
    let received = inbound::receive(
        &state.store,
        Receive {
            sender: Sender::Known {
                contact_id: v.contact.id,
                identity_id: Some(v.identity.id),
            },
            destination: Destination::Conversation(Box::new(c)),
            message,
            thread_key: None,
            raw_blob_key: None,
            pending_media: Vec::new(),
            inbox: v.inbox,
            scope: v.scope,
        },
    )
    .await?;
    let created = received.created;
    let stage = tracing::trace_span!(target: "throughline::stage", "render");
    let view = match created.written() {
        // Just written: its sender is this visitor and its files are in hand, nothing to read.
        Some(written) => stage.in_scope(|| {
            render::public_message_written(&state.store, &created.conversation, written, &v.contact)
        }),
        None => {
            tracing::Instrument::instrument(
                async {
                    let mut conn = state.store.read().await?;
                    ApiResult::Ok(
                        render::public_messages(
                            &mut conn,
                            &state.store,
                            &created.conversation,
                            std::slice::from_ref(&created.message),
                        )
                        .await?
                        .pop(),
                    )
                },
                stage,
            )
            .await?
        }
    };
    view.map(axum::Json).ok_or(ApiError::NotFound)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SubmittedValues {
    #[schema(value_type = Object)]
    submitted_values: Value,
}

/// The customer answers an interactive message (options, form, rating).
#[utoipa::path(patch, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages/{message_id}", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    request_body = SubmittedValues,
    responses((status = 200, body = PublicMessageView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_message(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, id, message_id)): Path<(String, String, i64, i64)>,
    Json(body): Json<SubmittedValues>,
) -> ApiResult<axum::Json<PublicMessageView>> {
    if body.submitted_values.to_string().len() > 16 * 1024 {
        return Err(ApiError::invalid(
            "submitted_values",
            "too_long",
            "submitted_values is larger than 16 KiB",
        ));
    }
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    let c = visitor_conversation(&state, &v, id).await?;
    let mut tx = state.store.begin().await?;
    let existing = messages::get(tx.conn(), &v.scope, &c, message_id).await?;
    if existing.private || existing.message_type == MessageType::Activity {
        return Err(ApiError::NotFound);
    }
    let updated = if existing.content_type == throughline_core::message::ContentType::InputCsat {
        // A survey's answer: recorded as such (one per survey), and shown on the message.
        let answer = &body.submitted_values["csat_survey_response"];
        let rating = match &answer["rating"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::invalid(
                "submitted_values.csat_survey_response.rating",
                "blank",
                "give the rating as a number",
            )
        })?;
        throughline_service::surveys::answer(
            &mut tx,
            &c,
            &existing,
            rating,
            answer["feedback_message"].as_str(),
            throughline_service::surveys::Via::Widget,
            throughline_store::now_ms(),
        )
        .await
        .map_err(|e| match e {
            throughline_service::surveys::AnswerError::Store(s) => ApiError::from(s),
            other => ApiError::invalid(
                "submitted_values.csat_survey_response.rating",
                "invalid",
                other.to_string(),
            ),
        })?;
        messages::get(tx.conn(), &v.scope, &c, message_id).await?
    } else {
        messages::set_submitted_values(&mut tx, &v.scope, &c, message_id, body.submitted_values)
            .await?
    };
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let mut views =
        render::public_messages(&mut conn, &state.store, &c, std::slice::from_ref(&updated))
            .await?;
    views.pop().map(axum::Json).ok_or(ApiError::NotFound)
}

/// What the website widget reports (Chatwoot's widget `events` body).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct WidgetEventBody {
    /// `webwidget.triggered`: the visitor opened the chat.
    name: String,
    /// What the widget knows of the moment (page, languages, when), kept as sent.
    #[schema(value_type = Option<Object>)]
    event_info: Option<Value>,
}

/// The largest `event_info` kept (it is forwarded to bots and webhooks).
const MAX_EVENT_INFO: usize = 2_048;

/// The visitor opened the website chat: agent bots and account webhooks hear
/// `webwidget_triggered` (a bot may greet before the visitor writes).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/events", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = WidgetEventBody,
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn widget_event(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
    Json(body): Json<WidgetEventBody>,
) -> ApiResult<axum::Json<Empty>> {
    if body.name != "webwidget.triggered" {
        return Err(ApiError::invalid(
            "name",
            "invalid",
            "name must be webwidget.triggered",
        ));
    }
    let info = body.event_info.unwrap_or_else(|| json!({}));
    json_object("event_info", &info).map_err(|e| ApiError::Invalid(vec![e]))?;
    if info.to_string().len() > MAX_EVENT_INFO {
        return Err(ApiError::invalid(
            "event_info",
            "too_long",
            format!("event_info is at most {MAX_EVENT_INFO} bytes"),
        ));
    }
    let v = visitor(&state, &inbox_id, &contact_id).await?;
    if v.inbox.channel_type != ChannelType::WebWidget {
        return Err(ApiError::invalid(
            "name",
            "invalid",
            "only a website inbox's widget is triggered",
        ));
    }
    let current = {
        let mut conn = state.store.read().await?;
        v.conversations(&mut conn)
            .await?
            .into_iter()
            .max_by_key(|c| c.id)
    };
    let mut tx = state.store.begin().await?;
    throughline_store::webwidget_triggered(
        &mut tx,
        &v.inbox,
        &v.identity,
        &v.contact,
        current.as_ref(),
        info,
    )
    .await?;
    tx.commit().await?;
    Ok(ok())
}
