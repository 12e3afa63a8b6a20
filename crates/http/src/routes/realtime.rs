//! The realtime sockets: one per agent tab (session cookie or access token) and one per widget
//! visitor (inbox identifier + the visitor's source id), and agents' typing over HTTP.
//!
//! A socket first subscribes to the hub, then replays from the outbox what the client missed
//! (`?after=<last event id seen>`), then streams; the ids of replayed frames are remembered so
//! a frame that arrives both ways is sent once. A client too far behind is told to `resync`
//! (refetch its lists) rather than replaying an unbounded history.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use throughline_realtime::frames::{self, ClientMessage, Frame, WhoKind};
use throughline_realtime::{AgentGrant, Received, Signal, Subscription, Typing, Who};
use throughline_store::scope;
use throughline_store::{AccountScope, StoreError, accounts, conversations, outbox};
use tokio::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use throughline_core::visibility::{Owner, visitor_sees};

use super::public::{self, Visitor};
use super::{Empty, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::auth::{Caller, Principal};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;
use throughline_service::web_calls::Party;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(agent_socket))
        .routes(routes!(visitor_socket))
        .routes(routes!(toggle_typing_status))
}

/// Replaying more than this is slower than a refetch.
const REPLAY_LIMIT: i64 = 500;
/// How long a closing frame may wait for a client that is not reading.
const CLOSING: Duration = Duration::from_secs(5);
/// Client frames are small commands; anything bigger is refused by the protocol layer.
const MAX_CLIENT_FRAME: usize = 16 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
struct Resume {
    /// The last event id the client saw; missed events after it are replayed first.
    after: Option<i64>,
}

/// The handshake is checked after the caller is: a stranger learns "401/404", not whether
/// the route speaks WebSocket.
type Handshake = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

fn upgrade(ws: Handshake) -> ApiResult<WebSocketUpgrade> {
    let ws = ws.map_err(|e| {
        ApiError::BadRequest(format!("this endpoint is a WebSocket: {}", e.body_text()))
    })?;
    // Small buffers: ten thousand idle sockets must fit in a few hundred megabytes.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME))
}

/// The agent's live stream: events, typing and presence of every account the user belongs to,
/// limited to the inboxes they may see.
#[utoipa::path(get, path = "/api/v1/realtime", tag = "Realtime",
    params(Resume), security(("userApiKey" = []), ("sessionCookie" = [])),
    responses((status = 101, description = "WebSocket; JSON text frames"),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn agent_socket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(resume): Query<Resume>,
    ws: Handshake,
) -> ApiResult<Response> {
    let Principal::User(user) = &caller.principal else {
        return Err(ApiError::Forbidden(
            "the realtime stream is for agents".into(),
        ));
    };
    // Browsers send the cookie on cross-site WebSocket handshakes too: only our own pages may
    // open a stream with it.
    if caller.via_session && !same_origin(&headers, &state.config.public_url) {
        return Err(ApiError::Forbidden("cross-site request refused".into()));
    }
    let mut conn = state.store.read().await?;
    let mut grants = Vec::new();
    for (account, membership) in accounts::memberships_of_user(&mut conn, user.id).await? {
        let Some(scope) = scope::for_user(&mut conn, user.id, account.id).await? else {
            continue;
        };
        grants.push(AgentGrant {
            account_id: account.id,
            inboxes: scope.inboxes().clone(),
            status: super::agents::status_of(membership.availability),
        });
    }
    drop(conn);
    let user_id = user.id;
    let name = user.available_name().to_owned();
    Ok(upgrade(ws)?.on_upgrade(move |socket| async move {
        let sub = state.hub.connect_agent(user_id, &name, grants.clone());
        let session = Session {
            state,
            who: Who {
                kind: WhoKind::User,
                id: user_id,
                name,
            },
            side: Side::Agent { grants },
        };
        // A socket's life is the profile's `realtime` stage, not the upgrade request's `http`.
        let stage = tracing::trace_span!(target: "throughline::stage", parent: None, "realtime");
        tracing::Instrument::instrument(session.run(socket, sub, resume.after), stage).await;
        session.left();
    }))
}

/// A widget visitor's live stream: their conversation's public messages, status, agents'
/// typing and presence.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/realtime", tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), Resume),
    responses((status = 101, description = "WebSocket; JSON text frames"),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn visitor_socket(
    State(state): State<AppState>,
    Path((inbox_identifier, contact_identifier)): Path<(String, String)>,
    Query(resume): Query<Resume>,
    ws: Handshake,
) -> ApiResult<Response> {
    let visitor = public::visitor(&state, &inbox_identifier, &contact_identifier).await?;
    Ok(upgrade(ws)?.on_upgrade(move |socket| async move {
        let sub =
            state
                .hub
                .connect_visitor(visitor.inbox.account_id, visitor.viewer(), visitor.inbox.id);
        let session = Session {
            state,
            who: Who {
                kind: WhoKind::Contact,
                id: visitor.contact.id,
                name: visitor.contact.name.clone(),
            },
            side: Side::Visitor(Box::new(visitor)),
        };
        // A socket's life is the profile's `realtime` stage, not the upgrade request's `http`.
        let stage = tracing::trace_span!(target: "throughline::stage", parent: None, "realtime");
        tracing::Instrument::instrument(session.run(socket, sub, resume.after), stage).await;
        session.left();
    }))
}

/// Sends a frame unless the client cannot take it within `limit`; false: the socket is done.
async fn send_within(socket: &mut WebSocket, message: Message, limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, socket.send(message)).await,
        Ok(Ok(()))
    )
}

fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        // Not a browser: browsers always send Origin on WebSocket handshakes.
        return true;
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    origin.trim_end_matches('/') == public_url.trim_end_matches('/')
        || host.is_some_and(|h| origin.ends_with(&format!("://{h}")))
}

enum Side {
    Agent { grants: Vec<AgentGrant> },
    Visitor(Box<Visitor>),
}

struct Session {
    state: AppState,
    who: Who,
    side: Side,
}

impl Session {
    async fn run(&self, mut socket: WebSocket, mut sub: Subscription, after: Option<i64>) {
        let (replay, ready) = match self.catch_up(after).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "realtime catch-up failed");
                send_within(&mut socket, close(1011, "temporarily unavailable"), CLOSING).await;
                return;
            }
        };
        // The server pings; a client that sends nothing for `idle` (no pong, no frame) is gone,
        // and so is one that cannot take a frame for as long.
        let idle = self.state.config.ws_idle_timeout;
        let every = self.state.config.ws_ping_interval;
        let replayed: HashSet<i64> = replay.iter().filter_map(|f| f.event_id).collect();
        for frame in replay.iter().chain(std::iter::once(&ready)) {
            if !send_within(&mut socket, text(frame), idle).await {
                return;
            }
        }
        let mut deadline = Instant::now() + idle;
        let mut ping = tokio::time::interval_at(Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = sub.recv() => {
                    let frame = match received {
                        // The relay may publish late what the client already has: events up
                        // to the id it resumed from, and those just replayed from the table.
                        Received::Frame(f) if f.event_id.is_some_and(|id| {
                            after.is_some_and(|a| id <= a) || replayed.contains(&id)
                        }) => continue,
                        Received::Frame(f) => f,
                        Received::Resync => frames::resync(),
                        Received::Closing => {
                            send_within(&mut socket, close(1001, "server shutting down"), CLOSING)
                                .await;
                            return;
                        }
                    };
                    if !send_within(&mut socket, text(&frame), idle).await {
                        return;
                    }
                }
                incoming = socket.recv() => {
                    deadline = Instant::now() + idle;
                    let reply = match incoming {
                        Some(Ok(Message::Text(t))) => self.handle(&sub, t.as_str()).await,
                        Some(Ok(Message::Binary(_))) => Some(error_frame("frames are JSON text")),
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                        // Pongs, and pings (answered by the protocol layer).
                        Some(Ok(_)) => None,
                    };
                    if let Some(frame) = reply
                        && !send_within(&mut socket, text(&frame), idle).await
                    {
                        return;
                    }
                }
                _ = ping.tick() => {
                    if !send_within(&mut socket, Message::Ping(Default::default()), idle).await {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    send_within(&mut socket, close(1001, "idle"), CLOSING).await;
                    return;
                }
            }
        }
    }

    /// The frames missed since `after`, and the `ready` frame that follows them.
    async fn catch_up(&self, after: Option<i64>) -> throughline_store::Result<(Vec<Frame>, Frame)> {
        let mut conn = self.state.store.read().await?;
        let last = outbox::last_id(&mut conn).await?;
        let mut replay = Vec::new();
        let mut resync = false;
        if let Some(after) = after.filter(|a| *a < last) {
            // Events after `after` were pruned (away longer than the resume window): what
            // is left would be a gap, not a catch-up.
            if outbox::oldest_id(&mut conn)
                .await?
                .is_some_and(|oldest| after + 1 < oldest)
            {
                resync = true;
            }
            match &self.side {
                Side::Agent { grants } => {
                    for g in grants {
                        let events = outbox::account_events_after(
                            &mut conn,
                            g.account_id,
                            after,
                            REPLAY_LIMIT + 1,
                        )
                        .await?;
                        resync |= events.len() as i64 > REPLAY_LIMIT;
                        // The same rule as the hub's live fan-out.
                        let user_id = self.who.id;
                        replay.extend(events.iter().filter_map(|e| {
                            frames::agent_receives(e, user_id, &g.inboxes)
                                .then(|| frames::agent_event(e))
                                .flatten()
                        }));
                    }
                    replay.sort_by_key(|f| f.event_id);
                }
                Side::Visitor(v) => {
                    let viewer = v.viewer();
                    let events = outbox::contact_events_after(
                        &mut conn,
                        v.inbox.account_id,
                        v.contact.id,
                        after,
                        REPLAY_LIMIT + 1,
                    )
                    .await?;
                    resync = events.len() as i64 > REPLAY_LIMIT;
                    // The same rule as the hub's live fan-out and the Client API's.
                    replay.extend(events.iter().filter_map(|e| {
                        let visible = Owner::from_payload(&e.payload)
                            .is_some_and(|o| visitor_sees(viewer, o));
                        visible.then(|| frames::visitor_event(e)).flatten()
                    }));
                }
            }
        }
        if resync {
            replay = vec![frames::resync()];
        }
        let ready = match &self.side {
            Side::Agent { grants } => {
                let presence: Vec<Value> = grants
                    .iter()
                    .flat_map(|g| {
                        self.state
                            .hub
                            .present_agents(g.account_id)
                            .into_iter()
                            .map(move |(id, name, status)| {
                                json!({"account_id": g.account_id, "who": {"type": "user", "id": id, "name": name}, "status": status})
                            })
                    })
                    .collect();
                json!({"type": "ready", "last_event_id": last, "presence": presence})
            }
            Side::Visitor(v) => json!({
                "type": "ready",
                "last_event_id": last,
                "agents_online": self.state.hub.agents_online(v.inbox.account_id, v.inbox.id),
            }),
        };
        Ok((replay, Frame::control(&ready)))
    }

    async fn handle(&self, sub: &Subscription, text: &str) -> Option<Frame> {
        let message = match frames::parse_client(text) {
            Ok(m) => m,
            Err(e) => return Some(error_frame(&e)),
        };
        match message {
            ClientMessage::Ping => Some(Frame::control(&json!({"type": "pong"}))),
            ClientMessage::Presence { status } => match self.side {
                Side::Agent { .. } => {
                    self.state.hub.set_status(sub, status);
                    None
                }
                Side::Visitor(_) => Some(error_frame("visitors are online while connected")),
            },
            ClientMessage::Typing {
                conversation_id,
                on,
                private,
                account_id,
            } => match self.typing(conversation_id, on, private, account_id).await {
                Ok(()) => None,
                Err(e) => Some(error_frame(&e.client_message())),
            },
            ClientMessage::CallSignal { call_id, data } => {
                let sender = match &self.side {
                    Side::Visitor(v) => super::web_calls::Sender::Visitor(v),
                    Side::Agent { grants } => super::web_calls::Sender::Agent {
                        user_id: self.who.id,
                        accounts: grants.iter().map(|g| g.account_id).collect(),
                    },
                };
                match super::web_calls::relay(&self.state, sender, call_id, &data).await {
                    Ok(()) => None,
                    Err(e) => Some(error_frame(&e.client_message())),
                }
            }
        }
    }

    /// The web calls of a party whose last socket closed end unless they come back.
    fn left(&self) {
        let (accounts, party) = match &self.side {
            Side::Visitor(v) => {
                if self
                    .state
                    .hub
                    .visitor_online(v.inbox.account_id, v.contact.id)
                {
                    return;
                }
                (
                    vec![v.inbox.account_id],
                    Party::Visitor {
                        contact_id: v.contact.id,
                    },
                )
            }
            Side::Agent { grants } => (
                grants.iter().map(|g| g.account_id).collect(),
                Party::Agent {
                    user_id: self.who.id,
                },
            ),
        };
        super::web_calls::after_disconnect(self.state.clone(), accounts, party);
    }

    async fn typing(
        &self,
        display_id: i64,
        on: bool,
        private: bool,
        account_id: Option<i64>,
    ) -> ApiResult<()> {
        let (scope, private) = match &self.side {
            Side::Visitor(v) => {
                let c = public::visitor_conversation(&self.state, v, display_id).await?;
                let scope = AccountScope::proven_contact(c.account_id, c.contact_id);
                (scope, false)
            }
            Side::Agent { grants } => {
                let account_id = match (account_id, grants.as_slice()) {
                    (Some(id), _) => id,
                    (None, [only]) => only.account_id,
                    (None, _) => {
                        return Err(ApiError::invalid(
                            "account_id",
                            "blank",
                            "name the account_id of the conversation",
                        ));
                    }
                };
                let mut conn = self.state.store.read().await?;
                let scope = scope::for_user(&mut conn, self.who.id, account_id)
                    .await?
                    .ok_or(ApiError::NotFound)?;
                (scope, private)
            }
        };
        publish_typing(
            &self.state,
            &scope,
            self.who.clone(),
            display_id,
            on,
            private,
        )
        .await
    }
}

pub(super) fn typing_on(status: &str) -> ApiResult<bool> {
    match status {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(ApiError::invalid(
            "typing_status",
            "inclusion",
            "typing_status must be on or off",
        )),
    }
}

pub(super) async fn publish_typing(
    state: &AppState,
    scope: &AccountScope,
    who: Who,
    display_id: i64,
    on: bool,
    private: bool,
) -> ApiResult<()> {
    let mut conn = state.store.read().await?;
    let c = conversations::get(&mut conn, scope, display_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound,
            other => other.into(),
        })?;
    state.bus.publish(Signal::Typing(Typing {
        account_id: c.account_id,
        conversation_id: c.display_id,
        inbox_id: c.inbox_id,
        contact_id: c.contact_id,
        identity_id: c.identity_id,
        who,
        on,
        private,
    }));
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TypingStatus {
    /// on or off
    typing_status: String,
    /// Typing a private note: only other agents see it.
    #[serde(default)]
    is_private: bool,
}

/// The agent started or stopped typing (sent live to other agents and, unless private, to the
/// customer's widget; not stored).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status", tag = "Conversations",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path)), request_body = TypingStatus,
    security(("userApiKey" = [])),
    responses((status = 200, body = Empty), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn toggle_typing_status(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, display_id)): Path<(i64, i64)>,
    Json(body): Json<TypingStatus>,
) -> ApiResult<axum::Json<Empty>> {
    let on = typing_on(&body.typing_status)?;
    let who = match &ctx.caller.principal {
        Principal::User(u) => Who {
            kind: WhoKind::User,
            id: u.id,
            name: u.available_name().to_owned(),
        },
        Principal::AgentBot(_) => {
            return Err(ApiError::Forbidden("agent bots do not type".into()));
        }
    };
    publish_typing(&state, &ctx.scope, who, display_id, on, body.is_private).await?;
    Ok(ok())
}

fn text(frame: &Frame) -> Message {
    Message::Text(frame.json.as_ref().into())
}

fn error_frame(message: &str) -> Frame {
    Frame::control(&json!({"type": "error", "message": message}))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
