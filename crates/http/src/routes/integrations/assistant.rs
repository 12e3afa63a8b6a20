//! What agents ask of the AI assistant: Chatwoot's `process_event` on the `openai` hook
//! (reply suggestion, summary, rewrites; `translate` is ours) and Chatwoot's message
//! translation (`…/messages/{id}/translate`, kept on the message). Every answer says it was
//! written by a model (`ai_generated`); when the model cannot help, a 422 says why (`reason`)
//! and carries the non-AI answer: the help-center articles lexical search found.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use throughline_core::assistant::{APP_ID, Action};
use throughline_service::assistant::{self as service, Assistant, Failure};
use throughline_store::conversations;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(process_event))
        .routes(routes!(translate_message))
}

fn assistant(state: &AppState) -> Assistant<'_> {
    Assistant {
        store: &state.store,
        client: state.clients.http.client(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ArticleRef {
    id: i64,
    title: String,
    url: String,
    /// The model used it (cited `[n]` or linked it).
    cited: bool,
}

fn refs(articles: &[service::Article]) -> Vec<ArticleRef> {
    articles
        .iter()
        .map(|a| ArticleRef {
            id: a.id,
            title: a.title.clone(),
            url: a.url.clone(),
            cited: a.cited,
        })
        .collect()
}

/// 422: the model could not help. `error` and `message` say why in words (Chatwoot's clients
/// show `error`); `reason` is stable (`not_configured`, `disabled`, `customer_data_off`,
/// `timeout`, `rate_limited`, `unreachable`, `refused`, `provider_error`); `articles` is the
/// answer without AI.
#[derive(Serialize, utoipa::ToSchema)]
struct FallbackBody {
    error: String,
    message: String,
    reason: &'static str,
    articles: Vec<ArticleRef>,
}

fn failure(f: Failure) -> Response {
    match f {
        Failure::Store(e) => ApiError::from(e).into_response(),
        Failure::Invalid(e) => ApiError::Invalid(vec![e]).into_response(),
        other => {
            let message = other.to_string();
            let body = FallbackBody {
                error: message.clone(),
                message,
                reason: other.reason(),
                articles: refs(other.articles()),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EventBody {
    event: Event,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Event {
    /// reply_suggestion, summarize, rephrase, fix_spelling_grammar, shorten, expand,
    /// make_friendly, make_formal, simplify, translate.
    name: String,
    #[serde(default)]
    data: EventData,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
struct EventData {
    conversation_display_id: Option<i64>,
    /// The agent's draft (rewrites, translate).
    content: Option<String>,
    /// For rephrase: friendly, formal, …
    tone: Option<String>,
    /// For translate (default: the customer's language).
    target_language: Option<String>,
    /// The agent's language, for a summary (default English).
    locale: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EventAnswer {
    /// The model's text (Chatwoot's `message`).
    message: String,
    /// Always true: a person should read it before a customer does.
    ai_generated: bool,
    /// The language of `message`, when the assistant chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// Help-center articles the suggestion was grounded in.
    articles: Vec<ArticleRef>,
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/integrations/hooks/{hook_id}/process_event", tag = "Integrations",
    params(("account_id" = i64, Path), ("hook_id" = i64, Path)), request_body = EventBody, security(("userApiKey" = [])),
    responses((status = 200, body = EventAnswer), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = FallbackBody)))]
async fn process_event(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, hook_id)): Path<(i64, i64)>,
    Json(body): Json<EventBody>,
) -> ApiResult<Response> {
    let hook = {
        let mut conn = state.store.read().await?;
        throughline_store::assistant::get_hook(&mut conn, state.store.key(), &ctx.scope, hook_id)
            .await?
    };
    if hook.app_id != APP_ID {
        return Err(ApiError::NotFound);
    }
    if !hook.enabled {
        return Ok(failure(Failure::Disabled));
    }
    let Some(action) = Action::parse(&body.event.name) else {
        return Err(ApiError::invalid(
            "event.name",
            "invalid",
            format!(
                "event.name must be one of {}",
                Action::ALL.map(Action::name).join(", ")
            ),
        ));
    };
    let data = body.event.data;
    let request = service::Request {
        conversation_display_id: data.conversation_display_id,
        content: data.content,
        tone: data.tone,
        target_language: data.target_language,
        locale: data.locale,
    };
    Ok(
        match assistant(&state)
            .process(&ctx.scope, &hook, action, &request)
            .await
        {
            Ok(answer) => axum::Json(EventAnswer {
                message: answer.text,
                ai_generated: true,
                language: answer.language,
                articles: refs(&answer.articles),
            })
            .into_response(),
            Err(f) => failure(f),
        },
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TranslateBody {
    /// en, pt-BR, pl, …
    target_language: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Translated {
    /// The translation (Chatwoot's answer), also kept in the message's
    /// `content_attributes.translations[target_language]`.
    content: String,
    ai_generated: bool,
    language: String,
}

#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}/translate", tag = "Messages",
    params(("account_id" = i64, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    request_body = TranslateBody, security(("userApiKey" = [])),
    responses((status = 200, body = Translated), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = FallbackBody)))]
async fn translate_message(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Path((_account_id, display_id, message_id)): Path<(i64, i64, i64)>,
    Json(body): Json<TranslateBody>,
) -> ApiResult<Response> {
    let conversation = {
        let mut conn = state.store.read().await?;
        conversations::get(&mut conn, &ctx.scope, display_id).await?
    };
    let assistant = assistant(&state);
    let hook = match assistant.hook(&ctx.scope).await {
        Ok(h) => h,
        Err(f) => return Ok(failure(f)),
    };
    Ok(
        match assistant
            .translate_message(
                &ctx.scope,
                &hook,
                &conversation,
                message_id,
                &body.target_language,
            )
            .await
        {
            Ok((_message, content)) => {
                let language =
                    throughline_core::assistant::normalise_language(&body.target_language)
                        .unwrap_or_default();
                axum::Json(Translated {
                    content,
                    ai_generated: true,
                    language,
                })
                .into_response()
            }
            Err(f) => failure(f),
        },
    )
}
