//! Phone calls as the team and reports read them: `GET /api/v1/accounts/{id}/calls`
//! (newest first; `conversation_id` for one conversation's), each with its direction, numbers,
//! times, wait, duration, outcome (answered, missed, abandoned, voicemail), the menu's team and
//! the voicemail message. Agents see the calls of the inboxes they work.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use throughline_core::voice::call::Call;
use throughline_store::{calls, conversations};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Payload, payload};
use crate::error::ApiResult;
use crate::extract::{AccountCtx, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list))
}

/// A call (times in Unix seconds, as Chatwoot's views give them).
#[derive(Serialize, utoipa::ToSchema)]
struct CallView {
    id: i64,
    inbox_id: i64,
    /// The conversation's display id (the caller's conversation, once known).
    conversation_id: Option<i64>,
    contact_id: Option<i64>,
    /// The provider's id (Twilio's `CallSid`).
    call_sid: String,
    /// inbound or outbound.
    direction: &'static str,
    from_number: String,
    to_number: String,
    /// ringing, in_progress, completed, busy, no_answer, failed, canceled.
    status: &'static str,
    /// answered, missed, abandoned, voicemail (once the call ended).
    outcome: Option<&'static str>,
    team_id: Option<i64>,
    agent_id: Option<i64>,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    /// Seconds, as the provider counts them.
    duration: Option<i64>,
    /// Seconds before an agent answered, or until the end.
    wait_seconds: Option<i64>,
    voicemail_message_id: Option<i64>,
}

fn view(c: &Call, conversation_display_id: Option<i64>) -> CallView {
    let secs = throughline_core::to_unix_seconds;
    CallView {
        id: c.id,
        inbox_id: c.inbox_id,
        conversation_id: conversation_display_id,
        contact_id: c.contact_id,
        call_sid: c.provider_id.clone(),
        direction: c.direction.as_str(),
        from_number: c.from.clone(),
        to_number: c.to.clone(),
        status: c.state.as_str(),
        outcome: c.outcome.map(|o| o.as_str()),
        team_id: c.team_id,
        agent_id: c.agent_id,
        started_at: secs(c.started_at),
        answered_at: c.answered_at.map(secs),
        ended_at: c.ended_at.map(secs),
        duration: c.duration_seconds,
        wait_seconds: c.wait_seconds(),
        voicemail_message_id: c.voicemail_message_id,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct CallQuery {
    /// One conversation's calls (its display id).
    conversation_id: Option<i64>,
    /// At most this many (default 50, at most 200).
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/calls", tag = "Calls",
    params(("account_id" = i64, Path), CallQuery), security(("userApiKey" = [])),
    responses((status = 200, body = Payload<Vec<CallView>>), (status = 404, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(query): Query<CallQuery>,
) -> ApiResult<axum::Json<Payload<Vec<CallView>>>> {
    let mut conn = state.store.read().await?;
    let conversation = match query.conversation_id {
        Some(display_id) => Some(
            conversations::get(&mut conn, &ctx.scope, display_id)
                .await?
                .id,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let list = calls::list(&mut conn, &ctx.scope, conversation, limit).await?;
    Ok(payload(list.iter().map(|(c, d)| view(c, *d)).collect()))
}
