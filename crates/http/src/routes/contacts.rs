//! Contacts, their identities, labels, notes, filters and merges.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};
use throughline_core::identity::{ContactPhone, normalize_email};
use throughline_core::validate::{json_object, label_title, optional_text, required_text};
use throughline_core::views::{ContactView, ConversationView, InboxSummary, NoteView};
use throughline_store::contacts::{
    self, ContactChanges, ContactQuery, ContactSort, NewContact, NewIdentity,
};
use throughline_store::filters::{self, Target};
use throughline_store::{conversations, inboxes, render};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, double_option, payload};
use crate::error::NotFoundAs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list, create))
        .routes(routes!(search))
        .routes(routes!(filter))
        .routes(routes!(show, update, patch, remove))
        .routes(routes!(conversations_of))
        .routes(routes!(labels, set_labels))
        .routes(routes!(create_contact_inbox))
        .routes(routes!(contactable_inboxes))
        .routes(routes!(notes, create_note))
        .routes(routes!(update_note, delete_note))
        .routes(routes!(merge))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ListMeta {
    count: i64,
    /// A string, as the contract types it (and as Chatwoot echoes a `page` parameter).
    current_page: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ContactList {
    meta: ListMeta,
    payload: Vec<ContactView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListParams {
    page: Option<i64>,
    /// name, email, phone_number, last_activity_at or created_at; `-` in front for descending.
    sort: Option<String>,
    #[serde(default, rename = "labels[]", alias = "labels")]
    labels: Vec<String>,
    q: Option<String>,
    /// Throughline: only contacts with an identity in this inbox.
    #[serde(default, deserialize_with = "super::blank_as_none")]
    inbox_id: Option<i64>,
}

fn query_from(p: &ListParams) -> ApiResult<ContactQuery> {
    let mut query = ContactQuery {
        page: p.page.unwrap_or(1).clamp(1, 100_000),
        ..Default::default()
    };
    if let Some(sort) = p.sort.as_deref().filter(|s| !s.is_empty()) {
        let (s, desc) = ContactSort::parse(sort)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown sort `{sort}`")))?;
        query.sort = s;
        query.descending = desc;
    }
    query.inbox_id = p.inbox_id;
    query.labels = p
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    Ok(query)
}

async fn contact_list(
    state: &AppState,
    ctx: &AccountCtx,
    query: ContactQuery,
) -> ApiResult<axum::Json<ContactList>> {
    let mut conn = state.store.read().await?;
    let (list, count) = contacts::list(&mut conn, &ctx.scope, &query).await?;
    let payload = render::contacts(&mut conn, &state.store, &list, true).await?;
    Ok(axum::Json(ContactList {
        meta: ListMeta {
            count,
            current_page: query.page.to_string(),
        },
        payload,
    }))
}

/// Contacts, 15 per page.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts", tag = "Contacts",
    params(("account_id" = i64, Path), ListParams), security(("userApiKey" = [])),
    responses((status = 200, body = ContactList)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<ContactList>> {
    contact_list(&state, &ctx, query_from(&p)?).await
}

/// Contacts whose name, email, phone number or identifier contains `q`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/search", tag = "Contacts",
    params(("account_id" = i64, Path), ListParams), security(("userApiKey" = [])),
    responses((status = 200, body = ContactList)))]
async fn search(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<ContactList>> {
    let mut query = query_from(&p)?;
    let q = p.q.clone().unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::invalid("q", "blank", "give a search term in q"));
    }
    query.search = Some(q);
    contact_list(&state, &ctx, query).await
}

/// Contacts matching Chatwoot filter conditions; like the list, `sort` orders them and `q`
/// narrows them to a name, email, phone or identifier (Throughline's additions).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/filter", tag = "Contacts",
    params(("account_id" = i64, Path), ListParams), request_body = Object, security(("userApiKey" = [])),
    responses((status = 200, body = ContactList), (status = 422, body = crate::error::ErrorBody)))]
async fn filter(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(p): Query<ListParams>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<ContactList>> {
    let catalog = {
        let mut conn = state.store.read().await?;
        filters::catalog(&mut conn, &ctx.scope, Target::Contacts).await?
    };
    let mut query = query_from(&p)?;
    query.conditions = throughline_core::filter::parse(&body, &catalog)?;
    query.search = p.q.clone().filter(|q| !q.trim().is_empty());
    contact_list(&state, &ctx, query).await
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct ContactFields {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    identifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    avatar_url: Option<Option<String>>,
    blocked: Option<bool>,
    #[schema(value_type = Object)]
    custom_attributes: Option<Value>,
    #[schema(value_type = Object)]
    additional_attributes: Option<Value>,
    /// Create: also give the contact an identity in this inbox.
    #[serde(default, deserialize_with = "super::blank_as_none")]
    inbox_id: Option<i64>,
    /// With inbox_id: the identity's id in that inbox (generated when absent or blank).
    source_id: Option<String>,
}

fn opt_email(v: Option<Option<String>>) -> ApiResult<Option<Option<String>>> {
    v.map(|inner| match inner.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(e) => normalize_email(&e)
            .map(Some)
            .map_err(|err| ApiError::invalid("email", "invalid", err.to_string())),
    })
    .transpose()
}

/// Contact phones follow Chatwoot's rule (app/models/contact.rb: `+` and up to 15 digits):
/// a number we parse is normalised to E.164, one only Chatwoot's rule accepts (`+123456`) is
/// kept as given, anything else — a number without its `+` too — is refused with Chatwoot's
/// words (`{"message": "Phone number should be in e164 format", "attributes": ["phone_number"]}`).
fn opt_phone(v: &Option<Option<String>>) -> ApiResult<Option<Option<ContactPhone>>> {
    v.as_ref()
        .map(
            |inner| match inner.as_deref().filter(|s| !s.trim().is_empty()) {
                None => Ok(None),
                Some(p) => ContactPhone::parse(p).map(Some).map_err(|_| {
                    ApiError::invalid(
                        "phone_number",
                        "invalid",
                        "Phone number should be in e164 format",
                    )
                }),
            },
        )
        .transpose()
}

fn opt_object(field: &str, v: &Option<Value>) -> ApiResult<Option<Map<String, Value>>> {
    match v {
        None => Ok(None),
        Some(value) => {
            json_object(field, value)?;
            Ok(value.as_object().cloned())
        }
    }
}

fn changes_from(f: &ContactFields) -> ApiResult<ContactChanges> {
    Ok(ContactChanges {
        name: f
            .name
            .as_deref()
            .map(|n| optional_text("name", n, 255).map(Option::unwrap_or_default))
            .transpose()?,
        email: opt_email(f.email.clone())?,
        phone_number: opt_phone(&f.phone_number)?.map(|p| p.map(ContactPhone::into_string)),
        identifier: f
            .identifier
            .clone()
            .map(|i| {
                i.map(|s| optional_text("identifier", &s, 255))
                    .transpose()
                    .map(Option::flatten)
            })
            .transpose()?,
        avatar_url: f.avatar_url.clone(),
        blocked: f.blocked,
        custom_attributes: opt_object("custom_attributes", &f.custom_attributes)?,
        additional_attributes: opt_object("additional_attributes", &f.additional_attributes)?,
        last_activity_at: None,
        unproven: false,
    })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ContactInboxRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox: Option<InboxSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_id: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct CreatedContact {
    contact: ContactView,
    contact_inbox: ContactInboxRef,
}

/// A sender arriving through an inbox, posted by an authenticated integration: its email and
/// phone are proven, so it joins the contact that already has them (Brazilian numbers with or
/// without the ninth digit alike) instead of duplicating the person.
async fn create_through_inbox(
    state: &AppState,
    ctx: &AccountCtx,
    body: &ContactFields,
    c: ContactChanges,
    inbox_id: i64,
) -> ApiResult<axum::Json<Payload<CreatedContact>>> {
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::get(tx.conn(), state.store.key(), &ctx.scope, inbox_id)
        .await
        .not_found_as("inbox_id", "no such inbox")?;
    // Only a number that parsed is proof; one kept as given is stored, never compared.
    let phone = opt_phone(&body.phone_number)?.flatten();
    let resolved = throughline_store::resolve::sender(
        &mut tx,
        &ctx.scope,
        throughline_store::resolve::Arriving {
            inbox: &inbox,
            source_id: source_id(&body.source_id)?,
            name: c.name.filter(|n| !n.is_empty()),
            email: c.email.flatten(),
            phone: phone.as_ref().and_then(|p| p.proof().map(str::to_owned)),
            phone_as_given: match phone {
                Some(ContactPhone::AsGiven(p)) => Some(p),
                _ => None,
            },
            external_id: c.identifier.flatten(),
            evidence: throughline_core::linking::Evidence::Proven,
            hmac_verified: false,
            custom_attributes: c.custom_attributes.map(Value::Object),
            avatar_url: c.avatar_url.flatten(),
        },
    )
    .await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let view = render::contact(&mut conn, &state.store, &resolved.contact, true).await?;
    Ok(payload(CreatedContact {
        contact: view,
        contact_inbox: ContactInboxRef {
            inbox: Some(InboxSummary::from(&inbox)),
            source_id: Some(resolved.identity.source_id),
        },
    }))
}

/// Creates a contact, optionally with an identity in an inbox (then an existing contact with
/// the same proven email, phone or identifier is joined instead).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts", tag = "Contacts",
    params(("account_id" = i64, Path)), request_body = ContactFields, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<CreatedContact>), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Json(body): Json<ContactFields>,
) -> ApiResult<axum::Json<Payload<CreatedContact>>> {
    let c = changes_from(&body)?;
    if let Some(inbox_id) = body.inbox_id {
        return create_through_inbox(&state, &ctx, &body, c, inbox_id).await;
    }
    let new = NewContact {
        name: c.name.unwrap_or_default(),
        email: c.email.flatten(),
        phone_number: c.phone_number.flatten(),
        identifier: c.identifier.flatten(),
        avatar_url: c.avatar_url.flatten(),
        blocked: c.blocked.unwrap_or(false),
        custom_attributes: Value::Object(c.custom_attributes.unwrap_or_default()),
        additional_attributes: Value::Object(c.additional_attributes.unwrap_or_default()),
    };
    let mut tx = state.store.begin().await?;
    let contact = contacts::create(&mut tx, &ctx.scope, new).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    let view = render::contact(&mut conn, &state.store, &contact, true).await?;
    Ok(payload(CreatedContact {
        contact: view,
        contact_inbox: ContactInboxRef {
            inbox: None,
            source_id: None,
        },
    }))
}

fn source_id(s: &Option<String>) -> ApiResult<Option<String>> {
    s.as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(|v| required_text("source_id", v, 255))
        .transpose()
        .map_err(Into::into)
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<ContactView>), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<ContactView>>> {
    let mut conn = state.store.read().await?;
    let contact = contacts::get(&mut conn, &ctx.scope, id).await?;
    Ok(payload(
        render::contact(&mut conn, &state.store, &contact, true).await?,
    ))
}

async fn do_update(
    state: &AppState,
    ctx: &AccountCtx,
    id: i64,
    body: &ContactFields,
) -> ApiResult<axum::Json<Payload<ContactView>>> {
    let changes = changes_from(body)?;
    let mut tx = state.store.begin().await?;
    let contact = contacts::update(&mut tx, &ctx.scope, id, changes).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(payload(
        render::contact(&mut conn, &state.store, &contact, true).await?,
    ))
}

/// Updates a contact; custom and additional attributes merge key by key.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = ContactFields, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<ContactView>), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<ContactFields>,
) -> ApiResult<axum::Json<Payload<ContactView>>> {
    do_update(&state, &ctx, id, &body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = ContactFields, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<ContactView>), (status = 404, body = crate::error::ErrorBody)))]
async fn patch(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<ContactFields>,
) -> ApiResult<axum::Json<Payload<ContactView>>> {
    do_update(&state, &ctx, id, &body).await
}

/// Deletes a contact with its conversations (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<super::Empty>> {
    ctx.require_admin()?;
    let mut tx = state.store.begin().await?;
    contacts::delete(&mut tx, &ctx.scope, id).await?;
    tx.commit().await?;
    Ok(super::ok())
}

/// The contact's conversations on every channel, newest activity first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/conversations", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<ConversationView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn conversations_of(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<ConversationView>>>> {
    let mut conn = state.store.read().await?;
    contacts::get(&mut conn, &ctx.scope, id).await?;
    let list = conversations::of_contact(&mut conn, &ctx.scope, id).await?;
    Ok(payload(
        render::conversations(&mut conn, &state.store, list).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/labels", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<String>>), (status = 404, body = crate::error::ErrorBody)))]
async fn labels(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<String>>>> {
    let mut conn = state.store.read().await?;
    Ok(payload(
        contacts::labels_of(&mut conn, &ctx.scope, id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LabelList {
    pub labels: Vec<String>,
}

pub(crate) fn clean_labels(labels: &[String]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let t = label_title(&format!("labels[{i}]"), l)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 100 {
        return Err(ApiError::invalid(
            "labels",
            "too_long",
            "at most 100 labels",
        ));
    }
    Ok(out)
}

/// Sets the contact's labels to exactly the given list.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/labels", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = LabelList, security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<String>>), (status = 422, body = crate::error::ErrorBody)))]
async fn set_labels(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<LabelList>,
) -> ApiResult<axum::Json<Payload<Vec<String>>>> {
    let titles = clean_labels(&body.labels)?;
    let mut tx = state.store.begin().await?;
    let result = contacts::set_labels(&mut tx, &ctx.scope, id, &titles).await?;
    tx.commit().await?;
    Ok(payload(result))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewContactInbox {
    inbox_id: i64,
    source_id: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ContactInboxView {
    source_id: String,
    inbox: InboxSummary,
    contact_id: i64,
    hmac_verified: bool,
}

/// Gives a contact an identity in an inbox.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = NewContactInbox, security(("userApiKey" = [])),
    responses((status = 200, body = ContactInboxView), (status = 422, body = crate::error::ErrorBody)))]
async fn create_contact_inbox(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<NewContactInbox>,
) -> ApiResult<axum::Json<ContactInboxView>> {
    let mut tx = state.store.begin().await?;
    let inbox = inboxes::get(tx.conn(), state.store.key(), &ctx.scope, body.inbox_id)
        .await
        .not_found_as("inbox_id", "no such inbox")?;
    let identity = contacts::create_identity(
        &mut tx,
        &ctx.scope,
        NewIdentity {
            contact_id: id,
            inbox: &inbox,
            source_id: source_id(&body.source_id)?,
            address: None,
            hmac_verified: false,
            address_proven: false,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(ContactInboxView {
        source_id: identity.source_id,
        inbox: InboxSummary::from(&inbox),
        contact_id: id,
        hmac_verified: identity.hmac_verified,
    }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Contactable {
    source_id: String,
    inbox: InboxSummary,
}

/// Inboxes a conversation with this contact can be started in (API inboxes today), with the
/// identity to use.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/contactable_inboxes", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<Contactable>>), (status = 404, body = crate::error::ErrorBody)))]
async fn contactable_inboxes(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Payload<Vec<Contactable>>>> {
    let mut conn = state.store.read().await?;
    let identities = contacts::identities(&mut conn, &state.store, &ctx.scope, id).await?;
    let all = inboxes::list(&mut conn, state.store.key(), &ctx.scope).await?;
    let out = all
        .iter()
        .filter(|i| i.channel_type == throughline_core::model::ChannelType::Api)
        .map(|inbox| Contactable {
            source_id: identities
                .iter()
                .find(|(_, i)| i.id == inbox.id)
                .map(|(identity, _)| identity.source_id.clone())
                .unwrap_or_default(),
            inbox: InboxSummary::from(inbox),
        })
        .collect();
    Ok(payload(out))
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/notes", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<NoteView>), (status = 404, body = crate::error::ErrorBody)))]
async fn notes(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<Vec<NoteView>>> {
    let mut conn = state.store.read().await?;
    let list = contacts::notes(&mut conn, &ctx.scope, id).await?;
    let mut ids: Vec<i64> = list.iter().filter_map(|n| n.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let users = render::users(&mut conn, ctx.account_id(), &ids).await?;
    Ok(axum::Json(
        list.iter()
            .map(|n| NoteView::new(n, n.user_id.and_then(|u| users.get(&u).cloned())))
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NoteBody {
    content: String,
}

async fn note_view(
    state: &AppState,
    ctx: &AccountCtx,
    note: &throughline_core::model::ContactNote,
) -> ApiResult<NoteView> {
    let mut conn = state.store.read().await?;
    let users = render::users(
        &mut conn,
        ctx.account_id(),
        &note.user_id.into_iter().collect::<Vec<_>>(),
    )
    .await?;
    Ok(NoteView::new(
        note,
        note.user_id.and_then(|u| users.get(&u).cloned()),
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/notes", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path)), request_body = NoteBody, security(("userApiKey" = [])),
    responses((status = 200, body = NoteView), (status = 422, body = crate::error::ErrorBody)))]
async fn create_note(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id)): Path<(i64, i64)>,
    Json(body): Json<NoteBody>,
) -> ApiResult<axum::Json<NoteView>> {
    let content = required_text("content", &body.content, 20_000)?;
    let mut tx = state.store.begin().await?;
    let note = contacts::create_note(&mut tx, &ctx.scope, id, &content).await?;
    tx.commit().await?;
    Ok(axum::Json(note_view(&state, &ctx, &note).await?))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/contacts/{id}/notes/{note_id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path), ("note_id" = i64, Path)), request_body = NoteBody, security(("userApiKey" = [])),
    responses((status = 200, body = NoteView), (status = 404, body = crate::error::ErrorBody)))]
async fn update_note(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id, note_id)): Path<(i64, i64, i64)>,
    Json(body): Json<NoteBody>,
) -> ApiResult<axum::Json<NoteView>> {
    let content = required_text("content", &body.content, 20_000)?;
    let mut tx = state.store.begin().await?;
    let note = contacts::update_note(&mut tx, &ctx.scope, id, note_id, &content).await?;
    tx.commit().await?;
    Ok(axum::Json(note_view(&state, &ctx, &note).await?))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/contacts/{id}/notes/{note_id}", tag = "Contacts",
    params(("account_id" = i64, Path), ("id" = i64, Path), ("note_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = super::Empty), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_note(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, id, note_id)): Path<(i64, i64, i64)>,
) -> ApiResult<axum::Json<super::Empty>> {
    let mut tx = state.store.begin().await?;
    contacts::delete_note(&mut tx, &ctx.scope, id, note_id).await?;
    tx.commit().await?;
    Ok(super::ok())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MergeBody {
    /// Missing: 404, as Chatwoot's `contacts.find(nil)` answers.
    base_contact_id: Option<i64>,
    mergee_contact_id: Option<i64>,
}

/// Merges one contact into another: identities, conversations, notes and labels move to the
/// base contact; the merge is recorded.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/actions/contact_merge", tag = "Contacts",
    params(("account_id" = i64, Path)), request_body = MergeBody, security(("userApiKey" = [])),
    responses((status = 200, body = ContactView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn merge(
    State(state): State<AppState>,
    ctx: AccountCtx,
    audit: crate::audit::Audit,
    Json(body): Json<MergeBody>,
) -> ApiResult<axum::Json<ContactView>> {
    let (Some(base_id), Some(mergee_id)) = (body.base_contact_id, body.mergee_contact_id) else {
        return Err(ApiError::NotFound);
    };
    if base_id == mergee_id {
        // Chatwoot answers the base contact unchanged (app/actions/contact_merge_action.rb:
        // `return @base_contact if base_contact.id == mergee_contact.id`); Evolution API asks
        // this when its two look-ups found the same contact.
        let mut conn = state.store.read().await?;
        let contact = contacts::get(&mut conn, &ctx.scope, base_id).await?;
        return Ok(axum::Json(
            render::contact(&mut conn, &state.store, &contact, true).await?,
        ));
    }
    let mut tx = state.store.begin().await?;
    let merged = contacts::merge(&mut tx, &ctx.scope, base_id, mergee_id).await?;
    // Ids only: a customer's details never go into the audit log.
    let change = throughline_core::audit::Change::new(
        throughline_core::audit::kind::CONTACT,
        base_id,
        throughline_core::audit::action::MERGE,
    )
    .with("mergee_contact_id", mergee_id);
    audit.record(tx.conn(), &ctx.scope, change).await?;
    tx.commit().await?;
    let mut conn = state.store.read().await?;
    Ok(axum::Json(
        render::contact(&mut conn, &state.store, &merged, true).await?,
    ))
}
