//! Calls from the website widget (WebRTC): the visitor calls (`POST /public/…/calls`), one
//! agent's app rings at a time (`call_incoming` on their socket, for the inbox's ring time),
//! the agent accepts or declines (`POST …/calls/{id}/accept|decline`), the two browsers
//! exchange their offer, answer and ICE candidates through the sockets (`call_signal`, relayed
//! only between the call's two parties), and either hangs up (`…/hang_up`). Media flows
//! browser to browser; the server keeps the call's record.
//!
//! A party whose every tab closed and did not come back within a grace period has left: their
//! call ends, so nobody is held "on a call" by a browser that crashed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_core::model::{ChannelType, Inbox};
use throughline_core::visibility::{Owner, visitor_sees};
use throughline_core::voice::call::Call;
use throughline_core::voice::web_call::{self, EndedBy, WebCallSettings};
use throughline_realtime::{CallNotice, CallParty, Signal};
use throughline_service::web_calls::{self, Dial, Party, TakeError, WebRing};
use throughline_store::{AccountScope, StoreError, calls, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::calls::{CallView, view};
use crate::error::{ApiError, ApiResult};
use crate::extract::auth::Principal;
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(visitor_calls))
        .routes(routes!(visitor_hang_up))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(agent_hang_up))
}

/// How long a party's tabs may be gone (a reload, a network change) before their call ends.
const RETURN_GRACE: Duration = Duration::from_secs(15);

/// A call from the widget and the STUN/TURN servers its browsers use.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct WebCallView {
    call: CallView,
    /// `RTCIceServer`s (urls, username, credential) for the browser's `RTCPeerConnection`.
    #[schema(value_type = Vec<Object>)]
    ice_servers: Value,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct VisitorCallBody {
    /// The visitor's conversation the call belongs to (its display id).
    conversation_id: i64,
    /// Ask for video (the inbox must allow it); voice only otherwise.
    #[serde(default)]
    video: bool,
}

fn ice_servers(settings: &WebCallSettings) -> Value {
    serde_json::to_value(&settings.ice_servers).unwrap_or_else(|_| json!([]))
}

fn publish(state: &AppState, account_id: i64, to: CallParty, body: Value) {
    state.bus.publish(Signal::Call(CallNotice {
        account_id,
        to,
        body: Arc::new(body),
    }));
}

/// The widgets that see the call's conversation.
async fn visitor_party(state: &AppState, call: &Call) -> ApiResult<Option<CallParty>> {
    let (Some(conversation_id), Some(contact_id)) = (call.conversation_id, call.contact_id) else {
        return Ok(None);
    };
    let mut conn = state.store.read().await?;
    let system = AccountScope::system(call.account_id);
    let c = conversations::by_internal_id(&mut conn, &system, conversation_id).await?;
    Ok(Some(CallParty::Visitor(Owner {
        contact_id,
        identity_id: c.identity_id,
    })))
}

/// Tells both ends (and every agent rung for it) that the call is over.
async fn tell_ended(state: &AppState, call: &Call) -> ApiResult<()> {
    let body = json!({
        "type": "call_ended",
        "account_id": call.account_id,
        "call_id": call.id,
        "outcome": call.outcome.map(|o| o.as_str()),
        "duration": call.duration_seconds,
    });
    if let Some(visitor) = visitor_party(state, call).await? {
        publish(state, call.account_id, visitor, body.clone());
    }
    let mut conn = state.store.read().await?;
    let legs = calls::legs(&mut conn, &AccountScope::system(call.account_id), call.id).await?;
    let agents: HashSet<i64> = legs.iter().filter_map(|l| l.agent_id).collect();
    for agent in agents {
        publish(
            state,
            call.account_id,
            CallParty::Agent(agent),
            body.clone(),
        );
    }
    Ok(())
}

/// Rings the next agent for the call (and starts their ring time), or ends it missed when
/// nobody is free; the ends are told.
/// (Boxed: a ring time that runs out rings the next agent, from a task this spawns.)
fn ring_and_tell<'a>(
    state: &'a AppState,
    call_id: i64,
    inbox: &'a Inbox,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<()>> + Send + 'a>> {
    Box::pin(async move {
        let account_id = inbox.account_id;
        let settings = WebCallSettings::of(inbox);
        let presence = super::voice::presence(state, account_id).await?;
        // Only agents with an app open here can answer in it.
        let reachable = state.hub.agents_connected(account_id);
        let now = throughline_store::now_ms();
        let ring = web_calls::ring_next(
            &state.store,
            call_id,
            account_id,
            &presence,
            &reachable,
            now,
        )
        .await?;
        match ring {
            WebRing::Rang { agent_id, leg_id } => {
                let call = calls::get(
                    &mut *state.store.read().await?,
                    &AccountScope::system(account_id),
                    call_id,
                )
                .await?;
                let display_id = conversation_display_id(state, &call).await?;
                let ring_ms = i64::from(settings.ring_seconds) * 1000;
                publish(
                    state,
                    account_id,
                    CallParty::Agent(agent_id),
                    json!({
                        "type": "call_incoming",
                        "account_id": account_id,
                        "call": {
                            "id": call.id,
                            "inbox_id": call.inbox_id,
                            "conversation_id": display_id,
                            "medium": call.medium.as_str(),
                            "contact_name": call.from,
                            "inbox_name": call.to,
                            "expires_at": (now + ring_ms) / 1000,
                        },
                        "ice_servers": ice_servers(&settings),
                    }),
                );
                let state = state.clone();
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ring_ms as u64)).await;
                    if let Err(e) = rang_out(&state, &inbox, call_id, agent_id, leg_id).await {
                        tracing::warn!(call_id, error = ?e, "a web call's ring time could not be settled");
                    }
                });
            }
            WebRing::NobodyFree(call) => tell_ended(state, &call).await?,
            WebRing::AlreadyRinging | WebRing::Over => {}
        }
        Ok(())
    })
}

/// The agent's app rang for the whole ring time: it stops, and the next agent's rings.
async fn rang_out(
    state: &AppState,
    inbox: &Inbox,
    call_id: i64,
    agent_id: i64,
    leg_id: i64,
) -> ApiResult<()> {
    let passed = web_calls::pass(
        &state.store,
        inbox.account_id,
        call_id,
        agent_id,
        Some(leg_id),
    )
    .await?;
    if passed {
        withdraw(state, inbox.account_id, call_id, agent_id);
        ring_and_tell(state, call_id, inbox).await?;
    }
    Ok(())
}

fn withdraw(state: &AppState, account_id: i64, call_id: i64, agent_id: i64) {
    publish(
        state,
        account_id,
        CallParty::Agent(agent_id),
        json!({"type": "call_withdrawn", "account_id": account_id, "call_id": call_id}),
    );
}

async fn conversation_display_id(state: &AppState, call: &Call) -> ApiResult<Option<i64>> {
    let Some(id) = call.conversation_id else {
        return Ok(None);
    };
    let mut conn = state.store.read().await?;
    let c = conversations::by_internal_id(&mut conn, &AccountScope::system(call.account_id), id)
        .await?;
    Ok(Some(c.display_id))
}

async fn call_view(state: &AppState, call: &Call, inbox: &Inbox) -> ApiResult<WebCallView> {
    Ok(WebCallView {
        call: view(call, conversation_display_id(state, call).await?),
        ice_servers: ice_servers(&WebCallSettings::of(inbox)),
    })
}

/// The visitor calls from the widget, on one of their conversations: one agent's app rings
/// (then the next's); with nobody free the call ends at once, missed (the answer says so).
/// A call of theirs still open ends first.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/calls", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = VisitorCallBody,
    responses((status = 200, body = WebCallView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn visitor_calls(
    State(state): State<AppState>,
    Path((inbox_id, contact_id)): Path<(String, String)>,
    Json(body): Json<VisitorCallBody>,
) -> ApiResult<axum::Json<WebCallView>> {
    let v = super::public::visitor(&state, &inbox_id, &contact_id).await?;
    if v.inbox.channel_type != ChannelType::WebWidget {
        return Err(ApiError::Unprocessable(
            "calls are made from a website inbox's widget".into(),
        ));
    }
    let settings = WebCallSettings::of(&v.inbox);
    let medium = settings
        .medium_for(body.video)
        .map_err(|m| ApiError::invalid("video", "inclusion", m))?;
    let conversation =
        super::public::visitor_conversation(&state, &v, body.conversation_id).await?;
    let visitor_name = v.contact.name.clone();
    let dial = Dial {
        inbox_id: v.inbox.id,
        conversation_id: conversation.id,
        contact_id: v.contact.id,
        medium,
        visitor_name: &visitor_name,
        inbox_name: &v.inbox.name,
    };
    let now = throughline_store::now_ms();
    let (call, replaced) = web_calls::start(&state.store, v.inbox.account_id, &dial, now).await?;
    if let Some(old) = replaced {
        tell_ended(&state, &old).await?;
    }
    ring_and_tell(&state, call.id, &v.inbox).await?;
    let call = calls::get(
        &mut *state.store.read().await?,
        &AccountScope::system(call.account_id),
        call.id,
    )
    .await?;
    Ok(axum::Json(call_view(&state, &call, &v.inbox).await?))
}

/// The visitor hangs up (or stops ringing) their call.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/calls/{call_id}/hang_up", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("call_id" = i64, Path)),
    responses((status = 200, body = WebCallView), (status = 404, body = crate::error::ErrorBody)))]
async fn visitor_hang_up(
    State(state): State<AppState>,
    Path((inbox_id, contact_id, call_id)): Path<(String, String, i64)>,
) -> ApiResult<axum::Json<WebCallView>> {
    let v = super::public::visitor(&state, &inbox_id, &contact_id).await?;
    let call = visitors_call(&state, &v, call_id).await?;
    let call = end(&state, call, EndedBy::Visitor).await?;
    Ok(axum::Json(call_view(&state, &call, &v.inbox).await?))
}

/// The visitor's web call `call_id`, on a conversation they see; 404 for anyone else's.
async fn visitors_call(
    state: &AppState,
    v: &super::public::Visitor,
    call_id: i64,
) -> ApiResult<Call> {
    let mut conn = state.store.read().await?;
    let system = AccountScope::system(v.inbox.account_id);
    let call = match calls::get(&mut conn, &system, call_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let Some(conversation_id) = call.conversation_id else {
        return Err(ApiError::NotFound);
    };
    let c = conversations::by_internal_id(&mut conn, &system, conversation_id).await?;
    let owner = Owner {
        contact_id: c.contact_id,
        identity_id: c.identity_id,
    };
    if !call.medium.is_web()
        || call.inbox_id != v.inbox.id
        || call.contact_id != Some(v.contact.id)
        || !visitor_sees(v.viewer(), owner)
    {
        return Err(ApiError::NotFound);
    }
    Ok(call)
}

/// Ends the call (if it had not) and tells its ends; the call as it is now.
async fn end(state: &AppState, call: Call, by: EndedBy) -> ApiResult<Call> {
    let now = throughline_store::now_ms();
    match web_calls::hang_up(&state.store, &call, by, now).await? {
        Some((ended, _ringing)) => {
            tell_ended(state, &ended).await?;
            Ok(ended)
        }
        // Hung up at both ends at once: the first one counted.
        None => Ok(calls::get(
            &mut *state.store.read().await?,
            &AccountScope::system(call.account_id),
            call.id,
        )
        .await?),
    }
}

fn agent_id(ctx: &AccountCtx) -> ApiResult<i64> {
    match &ctx.caller.principal {
        Principal::User(u) => Ok(u.id),
        Principal::AgentBot(_) => Err(ApiError::Forbidden(
            "calls from the widget are answered by people".into(),
        )),
    }
}

/// A web call of the account the agent's inboxes include.
async fn agents_call(state: &AppState, ctx: &AccountCtx, call_id: i64) -> ApiResult<(Call, Inbox)> {
    let mut conn = state.store.read().await?;
    let call = match calls::get(&mut conn, &ctx.scope, call_id).await {
        Ok(c) if c.medium.is_web() => c,
        Ok(_) | Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let inbox =
        throughline_store::inboxes::get(&mut conn, state.store.key(), &ctx.scope, call.inbox_id)
            .await?;
    Ok((call, inbox))
}

/// The agent takes the web call ringing in their app: theirs (and the conversation, when
/// nobody had it); the visitor's browser then sends its offer. 409 when it no longer rings for
/// them (taken, hung up, rang out).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/calls/{call_id}/accept", tag = "Calls",
    params(("account_id" = i64, Path), ("call_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = WebCallView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, call_id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<WebCallView>> {
    let user_id = agent_id(&ctx)?;
    let (_, inbox) = agents_call(&state, &ctx, call_id).await?;
    let now = throughline_store::now_ms();
    let call = match web_calls::accept(&state.store, &ctx.scope, call_id, user_id, now).await {
        Ok(c) => c,
        Err(TakeError::NotRinging) => {
            return Err(ApiError::Stale("this call no longer rings for you".into()));
        }
        Err(TakeError::Store(e)) => return Err(e.into()),
    };
    let name = ctx
        .caller
        .user()
        .map(|u| u.available_name().to_owned())
        .unwrap_or_default();
    if let Some(visitor) = visitor_party(&state, &call).await? {
        publish(
            &state,
            call.account_id,
            visitor,
            json!({"type": "call_accepted", "call_id": call.id, "agent": {"name": name}}),
        );
    }
    // The agent's other tabs stop ringing.
    withdraw(&state, call.account_id, call.id, user_id);
    Ok(axum::Json(call_view(&state, &call, &inbox).await?))
}

/// The agent declines the web call ringing in their app: the next agent's rings.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/calls/{call_id}/decline", tag = "Calls",
    params(("account_id" = i64, Path), ("call_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = WebCallView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, call_id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<WebCallView>> {
    let user_id = agent_id(&ctx)?;
    let (call, inbox) = agents_call(&state, &ctx, call_id).await?;
    if !web_calls::pass(&state.store, call.account_id, call.id, user_id, None).await? {
        return Err(ApiError::Stale("this call no longer rings for you".into()));
    }
    withdraw(&state, call.account_id, call.id, user_id);
    ring_and_tell(&state, call.id, &inbox).await?;
    let call = calls::get(&mut *state.store.read().await?, &ctx.scope, call.id).await?;
    Ok(axum::Json(call_view(&state, &call, &inbox).await?))
}

/// The agent hangs up the web call they are on.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/calls/{call_id}/hang_up", tag = "Calls",
    params(("account_id" = i64, Path), ("call_id" = i64, Path)), security(("userApiKey" = [])),
    responses((status = 200, body = WebCallView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
async fn agent_hang_up(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, call_id)): Path<(i64, i64)>,
) -> ApiResult<axum::Json<WebCallView>> {
    let user_id = agent_id(&ctx)?;
    let (call, inbox) = agents_call(&state, &ctx, call_id).await?;
    if call.agent_id != Some(user_id) {
        return Err(ApiError::Stale("you are not on this call".into()));
    }
    let call = end(&state, call, EndedBy::Agent).await?;
    Ok(axum::Json(call_view(&state, &call, &inbox).await?))
}

/// Who sent a signalling frame on a socket.
pub(super) enum Sender<'a> {
    Visitor(&'a super::public::Visitor),
    /// The agent and the accounts of their socket.
    Agent {
        user_id: i64,
        accounts: Vec<i64>,
    },
}

/// Passes a WebRTC signal from one party of an answered web call to the other. Anyone else —
/// another visitor, an agent not on the call, a call not yet answered or over — is refused
/// as if the call did not exist.
pub(super) async fn relay(
    state: &AppState,
    sender: Sender<'_>,
    call_id: i64,
    data: &Value,
) -> ApiResult<()> {
    let data =
        web_call::relayed_signal(data).map_err(|m| ApiError::invalid("data", "invalid", m))?;
    let unknown = || ApiError::NotFound;
    let mut conn = state.store.read().await?;
    let (call, to) = match sender {
        Sender::Visitor(v) => {
            drop(conn);
            let call = visitors_call(state, v, call_id).await?;
            let party = Party::Visitor {
                contact_id: v.contact.id,
            };
            if !party.is_in(&call) {
                return Err(unknown());
            }
            let agent = call.agent_id.ok_or_else(unknown)?;
            (call, CallParty::Agent(agent))
        }
        Sender::Agent { user_id, accounts } => {
            let mut found = None;
            for account_id in accounts {
                let Some(scope) =
                    throughline_store::scope::for_user(&mut conn, user_id, account_id).await?
                else {
                    continue;
                };
                match calls::get(&mut conn, &scope, call_id).await {
                    Ok(c) => {
                        found = Some(c);
                        break;
                    }
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            drop(conn);
            let call = found
                .filter(|c| Party::Agent { user_id }.is_in(c))
                .ok_or_else(unknown)?;
            let to = visitor_party(state, &call).await?.ok_or_else(unknown)?;
            (call, to)
        }
    };
    publish(
        state,
        call.account_id,
        to,
        json!({"type": "call_signal", "call_id": call.id, "data": data}),
    );
    Ok(())
}

/// A party's last socket closed: if they have not come back after the grace period, the web
/// calls they were in end.
pub(super) fn after_disconnect(state: AppState, account_ids: Vec<i64>, party: Party) {
    tokio::spawn(async move {
        tokio::time::sleep(RETURN_GRACE).await;
        for account_id in account_ids {
            let back = match party {
                Party::Visitor { contact_id } => state.hub.visitor_online(account_id, contact_id),
                Party::Agent { user_id } => {
                    state.hub.agents_connected(account_id).contains(&user_id)
                }
            };
            if back {
                continue;
            }
            let left = match web_calls::left_behind(&state.store, account_id, party).await {
                Ok(calls) => calls,
                Err(e) => {
                    tracing::warn!(error = %e, "web calls of a party who left could not be read");
                    continue;
                }
            };
            for call in left {
                if let Err(e) = end(&state, call, EndedBy::Lost).await {
                    tracing::warn!(error = ?e, "a web call of a party who left could not be ended");
                }
            }
        }
    });
}
