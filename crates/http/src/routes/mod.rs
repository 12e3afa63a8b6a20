//! One module per resource; each exposes `routes()` adding its paths.

mod accounts;
mod agent_bots;
mod agents;
mod attachments;
mod attributes;
mod audit_logs;
mod auth;
mod automation_rules;
mod bulk_actions;
mod calls;
mod canned;
mod channel_webhooks;
mod contact_files;
mod contacts;
mod conversation_moves;
mod conversations;
mod custom_filters;
mod email;
mod health;
pub(crate) mod help_center;
mod inboxes;
mod integrations;
mod invitations;
mod journey;
mod journey_campaigns;
mod labels;
mod macros;
pub(crate) mod messages;
mod metrics;
mod notification_settings;
mod notifications;
mod participants;
mod passwords;
mod platform;
mod privacy;
mod provider_inboxes;
pub(crate) mod public;
mod realtime;
mod routing;
mod search;
mod sla_policies;
mod surveys;
mod teams;
mod timeline;
mod two_factor;
pub(crate) mod uploads;
mod voice;
mod web_calls;
mod webhooks;
mod widget;

pub(crate) use auth::client_ip;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn all(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = health::routes(router);
    let router = metrics::routes(router);
    let router = auth::routes(router);
    let router = passwords::routes(router);
    let router = invitations::routes(router);
    let router = two_factor::routes(router);
    let router = accounts::routes(router);
    let router = agents::routes(router);
    let router = inboxes::routes(router);
    let router = provider_inboxes::routes(router);
    let router = email::routes(router);
    let router = contact_files::routes(router);
    let router = contacts::routes(router);
    let router = timeline::routes(router);
    let router = conversations::routes(router);
    let router = conversation_moves::routes(router);
    let router = bulk_actions::routes(router);
    let router = messages::routes(router);
    let router = teams::routes(router);
    let router = labels::routes(router);
    let router = canned::routes(router);
    let router = attributes::routes(router);
    let router = webhooks::routes(router);
    let router = agent_bots::routes(router);
    let router = custom_filters::routes(router);
    let router = notifications::routes(router);
    let router = notification_settings::routes(router);
    let router = participants::routes(router);
    let router = search::routes(router);
    let router = automation_rules::routes(router);
    let router = macros::routes(router);
    let router = sla_policies::routes(router);
    let router = surveys::routes(router);
    let router = routing::routes(router);
    let router = attachments::routes(router);
    let router = help_center::routes(router);
    let router = uploads::routes(router);
    let router = integrations::routes(router);
    let router = journey::routes(router);
    let router = journey_campaigns::routes(router);
    let router = privacy::routes(router);
    let router = audit_logs::routes(router);
    let router = public::routes(router);
    let router = realtime::routes(router);
    let router = channel_webhooks::routes(router);
    let router = voice::routes(router);
    let router = calls::routes(router);
    let router = web_calls::routes(router);
    platform::routes(router)
}

/// `{"payload": …}`, Chatwoot's envelope for many answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Payload<T> {
    pub payload: T,
}

pub(crate) fn payload<T>(payload: T) -> axum::Json<Payload<T>> {
    axum::Json(Payload { payload })
}

/// An empty JSON object, for endpoints Chatwoot answers with `head :ok`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Empty {}

pub(crate) fn ok() -> axum::Json<Empty> {
    axum::Json(Empty {})
}

/// Distinguishes "absent" from "null" in PATCH bodies: `Option<Option<T>>` with this.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// An optional id where a blank string means absent, as ActiveRecord casts `""` to nil for an
/// integer: form-builders (n8n's Chatwoot node) send every unset field as `""`.
pub(crate) fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let raw: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
    match raw {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => {
            // Digits in a string, as the Rails cast reads them.
            let v = serde_json::Value::Number(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| {
                        serde::de::Error::invalid_type(
                            serde::de::Unexpected::Str(&s),
                            &"a whole number",
                        )
                    })?
                    .into(),
            );
            T::deserialize(v)
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Who joined (`create`) and who left (`destroy`) a team or an inbox, from its member ids
/// before and after a change, for the audit log.
pub(crate) fn membership_changes(before: &[i64], after: &[i64]) -> Vec<(i64, &'static str)> {
    use throughline_core::audit::action;
    let joined = after
        .iter()
        .filter(|id| !before.contains(id))
        .map(|id| (*id, action::CREATE));
    let left = before
        .iter()
        .filter(|id| !after.contains(id))
        .map(|id| (*id, action::DESTROY));
    joined.chain(left).collect()
}

/// Checks that every user id is an agent of the caller's account.
pub(crate) async fn agents_only(
    state: &AppState,
    ctx: &crate::extract::AccountCtx,
    user_ids: &[i64],
) -> Result<(), ApiError> {
    let mut conn = state.store.read().await?;
    let found = throughline_store::accounts::agents_by_ids(&mut conn, &ctx.scope, user_ids).await?;
    let mut unique = user_ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if found.len() != unique.len() {
        return Err(ApiError::invalid(
            "user_ids",
            "invalid",
            "every user must be an agent of this account",
        ));
    }
    Ok(())
}
