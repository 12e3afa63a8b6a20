//! Satisfaction surveys (Chatwoot's CSAT; NPS is Throughline's): the answers for supervisors
//! and administrators (`csat_survey_responses` and its metrics), the customer's public API
//! (`/public/api/v1/csat_survey/{uuid}`) and the page a survey's link opens
//! (`/survey/responses/{uuid}`), which works without JavaScript in any mail client's browser.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use throughline_core::model::Conversation;
use throughline_core::survey::SurveyType;
use throughline_core::views::{AgentView, ContactView};
use throughline_service::surveys::{self, AnswerError, Via};
use throughline_store::csat::{self, ListFilter, Listed, Response as Answer};
use throughline_store::{AccountScope, Conn, Found, accounts, contacts, inboxes, now_ms};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AccountCtx, Json, Path, Query};
use crate::state::AppState;

pub(super) fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(list))
        .routes(routes!(metrics))
        .routes(routes!(public_show, public_answer))
        .routes(routes!(page, page_answer))
}

const PER_PAGE: i64 = 25;

/// Chatwoot's filters: `since` / `until` (Unix seconds), `user_ids[]`, `inbox_id`, `rating`,
/// `page`; Throughline's `survey_type` (csat, nps).
#[derive(Deserialize, Default, utoipa::IntoParams)]
struct Filters {
    since: Option<i64>,
    until: Option<i64>,
    inbox_id: Option<i64>,
    rating: Option<i64>,
    survey_type: Option<String>,
    page: Option<i64>,
    #[serde(default, rename = "user_ids[]", alias = "user_ids")]
    #[param(rename = "user_ids[]")]
    user_ids: Vec<i64>,
}

impl Filters {
    fn checked(&self) -> ApiResult<ListFilter> {
        if let Some(t) = self.survey_type.as_deref()
            && SurveyType::parse(t).is_none()
        {
            return Err(ApiError::invalid(
                "survey_type",
                "inclusion",
                "survey_type must be csat or nps",
            ));
        }
        let ms = |s: Option<i64>| s.map(|s| s.saturating_mul(1000));
        Ok(ListFilter {
            since: ms(self.since),
            until: ms(self.until),
            user_ids: self.user_ids.iter().copied().take(100).collect(),
            inbox_id: self.inbox_id,
            rating: self.rating,
            survey_type: self.survey_type.clone(),
        })
    }
}

/// An answer as Chatwoot lists it, with how it was given (Throughline's).
#[derive(Serialize, utoipa::ToSchema)]
struct ResponseView {
    id: i64,
    account_id: i64,
    rating: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    feedback_message: Option<String>,
    message_id: i64,
    /// The conversation's display id.
    conversation_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<ContactView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assigned_agent: Option<AgentView>,
    /// csat or nps.
    survey_type: String,
    /// widget, link or reply.
    answered_via: String,
    late: bool,
    created_at: i64,
    updated_at: i64,
}

async fn views(
    conn: &mut Conn,
    scope: &AccountScope,
    list: Vec<Listed>,
) -> ApiResult<Vec<ResponseView>> {
    let mut agent_ids: Vec<i64> = list
        .iter()
        .filter_map(|l| l.response.assigned_agent_id)
        .collect();
    agent_ids.sort_unstable();
    agent_ids.dedup();
    let agents: HashMap<i64, AgentView> = if agent_ids.is_empty() {
        HashMap::new()
    } else {
        accounts::agents_by_ids(&mut *conn, scope, &agent_ids)
            .await?
            .iter()
            .map(|a| (a.user.id, AgentView::from(a)))
            .collect()
    };
    let mut out = Vec::with_capacity(list.len());
    let mut contacts_seen: HashMap<i64, Option<ContactView>> = HashMap::new();
    for Listed {
        response: r,
        conversation_display_id: display_id,
    } in list
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = contacts_seen.entry(r.contact_id) {
            let c = contacts::get(&mut *conn, scope, r.contact_id)
                .await
                .found()?;
            slot.insert(c.as_ref().map(ContactView::new));
        }
        out.push(ResponseView {
            id: r.id,
            account_id: r.account_id,
            rating: r.rating,
            feedback_message: r.feedback_message,
            message_id: r.message_id,
            conversation_id: display_id,
            contact: contacts_seen.get(&r.contact_id).cloned().flatten(),
            assigned_agent: r.assigned_agent_id.and_then(|id| agents.get(&id).cloned()),
            survey_type: r.survey_type,
            answered_via: r.answered_via,
            late: r.late,
            created_at: r.created_at / 1000,
            updated_at: r.updated_at / 1000,
        });
    }
    Ok(out)
}

/// The survey answers (a bare list, as Chatwoot answers), newest first, 25 a page.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/csat_survey_responses", tag = "CSAT",
    params(("account_id" = i64, Path), Filters), security(("userApiKey" = [])),
    responses((status = 200, body = Vec<ResponseView>), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(filters): Query<Filters>,
) -> ApiResult<axum::Json<Vec<ResponseView>>> {
    ctx.require_supervisor()?;
    let f = filters.checked()?;
    let page = filters.page.unwrap_or(1).clamp(1, 10_000);
    let mut conn = state.store.read().await?;
    let rows = csat::list(&mut conn, &ctx.scope, &f, (page - 1) * PER_PAGE, PER_PAGE).await?;
    Ok(axum::Json(views(&mut conn, &ctx.scope, rows).await?))
}

/// Chatwoot's metrics: answers, answers per rating, surveys sent.
#[derive(Serialize, utoipa::ToSchema)]
struct MetricsView {
    total_count: i64,
    #[schema(value_type = Object)]
    ratings_count: Value,
    total_sent_messages_count: i64,
}

#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/csat_survey_responses/metrics", tag = "CSAT",
    params(("account_id" = i64, Path), Filters), security(("userApiKey" = [])),
    responses((status = 200, body = MetricsView), (status = 403, body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    ctx: AccountCtx,
    Query(filters): Query<Filters>,
) -> ApiResult<axum::Json<MetricsView>> {
    ctx.require_supervisor()?;
    let f = filters.checked()?;
    let mut conn = state.store.read().await?;
    let m = csat::metrics(&mut conn, &ctx.scope, &f).await?;
    let sent = csat::sent_count(&mut conn, &ctx.scope, &f).await?;
    let ratings: serde_json::Map<String, Value> = m
        .ratings_count
        .iter()
        .map(|(rating, n)| (rating.to_string(), json!(n)))
        .collect();
    Ok(axum::Json(MetricsView {
        total_count: m.total_count,
        ratings_count: Value::Object(ratings),
        total_sent_messages_count: sent,
    }))
}

/// A survey as its customer sees it.
struct Survey {
    conversation: Conversation,
    message: throughline_core::model::Message,
    inbox_name: String,
    locale: String,
    answer: Option<Answer>,
}

async fn survey_of(conn: &mut Conn, state: &AppState, uuid: &str) -> ApiResult<Survey> {
    if uuid.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let conversation = csat::conversation_by_uuid(conn, uuid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let message = csat::latest_survey(conn, conversation.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let inbox = inboxes::get_unscoped(conn, state.store.key(), message.inbox_id).await?;
    let account = accounts::get_account(conn, conversation.account_id).await?;
    let answer = csat::for_message(conn, message.id).await?;
    Ok(Survey {
        conversation,
        message,
        inbox_name: inbox.name,
        locale: account.locale,
        answer,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
struct AnswerView {
    rating: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    feedback_message: Option<String>,
    late: bool,
}

/// `GET /public/api/v1/csat_survey/{uuid}` as Chatwoot answers it, with the scale.
#[derive(Serialize, utoipa::ToSchema)]
struct PublicSurveyView {
    /// The survey message.
    id: i64,
    conversation_id: i64,
    csat_survey_response: Option<AnswerView>,
    inbox_name: String,
    locale: String,
    /// csat (1–5) or nps (0–10).
    survey_type: String,
    created_at: i64,
}

fn public_view(s: &Survey) -> PublicSurveyView {
    PublicSurveyView {
        id: s.message.id,
        conversation_id: s.conversation.display_id,
        csat_survey_response: s.answer.as_ref().map(|a| AnswerView {
            rating: a.rating,
            feedback_message: a.feedback_message.clone(),
            late: a.late,
        }),
        inbox_name: s.inbox_name.clone(),
        locale: s.locale.clone(),
        survey_type: surveys::type_of(&s.message).as_str().into(),
        created_at: s.message.created_at / 1000,
    }
}

#[utoipa::path(get, path = "/public/api/v1/csat_survey/{conversation_uuid}", tag = "CSAT",
    params(("conversation_uuid" = String, Path)),
    responses((status = 200, body = PublicSurveyView), (status = 404, body = crate::error::ErrorBody)))]
async fn public_show(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> ApiResult<axum::Json<PublicSurveyView>> {
    let mut conn = state.store.read().await?;
    let s = survey_of(&mut conn, &state, &uuid).await?;
    Ok(axum::Json(public_view(&s)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RatingBody {
    rating: Option<Value>,
    feedback_message: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SubmittedBody {
    csat_survey_response: RatingBody,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MessageBody {
    submitted_values: SubmittedBody,
}

/// Chatwoot's body: `{"message": {"submitted_values": {"csat_survey_response": {...}}}}`.
#[derive(Deserialize, utoipa::ToSchema)]
struct PublicAnswerBody {
    message: MessageBody,
}

fn rating_of(v: Option<&Value>) -> ApiResult<i64> {
    let rating = match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    rating.ok_or_else(|| ApiError::invalid("rating", "blank", "give the rating as a number"))
}

fn answer_error(e: AnswerError) -> ApiError {
    match e {
        AnswerError::Store(s) => s.into(),
        other => ApiError::invalid("rating", "invalid", other.to_string()),
    }
}

/// Records the answer (or changes it: the page sends the rating, then the comment).
async fn record(
    state: &AppState,
    uuid: &str,
    rating: i64,
    feedback: Option<&str>,
    via: Via,
) -> ApiResult<Survey> {
    let mut tx = state.store.begin().await?;
    let mut s = survey_of(tx.conn(), state, uuid).await?;
    let answer = surveys::answer(
        &mut tx,
        &s.conversation,
        &s.message,
        rating,
        feedback,
        via,
        now_ms(),
    )
    .await
    .map_err(answer_error)?;
    tx.commit().await?;
    s.answer = Some(answer);
    Ok(s)
}

#[utoipa::path(put, path = "/public/api/v1/csat_survey/{conversation_uuid}", tag = "CSAT",
    params(("conversation_uuid" = String, Path)), request_body = PublicAnswerBody,
    responses((status = 200, body = PublicSurveyView), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn public_answer(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    Json(body): Json<PublicAnswerBody>,
) -> ApiResult<axum::Json<PublicSurveyView>> {
    let r = &body.message.submitted_values.csat_survey_response;
    let rating = rating_of(r.rating.as_ref())?;
    let s = record(
        &state,
        &uuid,
        rating,
        r.feedback_message.as_deref(),
        Via::Link,
    )
    .await?;
    Ok(axum::Json(public_view(&s)))
}

/// The page's words.
struct PageText {
    lang: &'static str,
    csat_question: &'static str,
    nps_question: &'static str,
    poor: &'static str,
    great: &'static str,
    unlikely: &'static str,
    likely: &'static str,
    comment: &'static str,
    send: &'static str,
    thanks: &'static str,
    your_answer: &'static str,
    invalid: &'static str,
}

const EN: PageText = PageText {
    lang: "en",
    csat_question: "How did we do?",
    nps_question: "How likely are you to recommend us to a friend?",
    poor: "Poor",
    great: "Great",
    unlikely: "Not at all likely",
    likely: "Extremely likely",
    comment: "Anything you would like to tell us? (optional)",
    send: "Send",
    thanks: "Thank you for your answer!",
    your_answer: "Your answer",
    invalid: "Please choose a rating.",
};

const PT_BR: PageText = PageText {
    lang: "pt-BR",
    csat_question: "Como foi o nosso atendimento?",
    nps_question: "Qual a probabilidade de você nos recomendar a um amigo?",
    poor: "Ruim",
    great: "Ótimo",
    unlikely: "Nada provável",
    likely: "Muito provável",
    comment: "Quer nos contar algo mais? (opcional)",
    send: "Enviar",
    thanks: "Obrigado pela sua resposta!",
    your_answer: "Sua resposta",
    invalid: "Escolha uma nota.",
};

const PL: PageText = PageText {
    lang: "pl",
    csat_question: "Jak oceniasz naszą obsługę?",
    nps_question: "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
    poor: "Źle",
    great: "Świetnie",
    unlikely: "Zupełnie nieprawdopodobne",
    likely: "Bardzo prawdopodobne",
    comment: "Chcesz nam coś jeszcze powiedzieć? (opcjonalnie)",
    send: "Wyślij",
    thanks: "Dziękujemy za odpowiedź!",
    your_answer: "Twoja odpowiedź",
    invalid: "Wybierz ocenę.",
};

fn text_for(locale: &str) -> &'static PageText {
    match locale.to_ascii_lowercase().get(..2) {
        Some("pt") => &PT_BR,
        Some("pl") => &PL,
        _ => &EN,
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// No scripts, nothing from elsewhere: a form that posts to itself.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;\
padding:0 1rem;color:#1f2933}h1{font-size:1.4rem}.scale{display:flex;flex-wrap:wrap;gap:.4rem;\
margin:1rem 0}.scale label{display:flex;flex-direction:column;align-items:center;border:1px solid \
#cbd2d9;border-radius:.4rem;padding:.5rem .8rem;cursor:pointer}.ends{display:flex;\
justify-content:space-between;font-size:.85rem;color:#52606d}textarea{width:100%;min-height:6rem;\
margin:.5rem 0}button{background:#1f6feb;color:#fff;border:0;border-radius:.4rem;\
padding:.6rem 1.4rem;font-size:1rem}.note{padding:.8rem;border-radius:.4rem;background:#e3f9e5}\
.error{background:#ffe3e3}";

fn render_page(s: &Survey, error: bool) -> Response {
    let t = text_for(&s.locale);
    let kind = surveys::type_of(&s.message);
    let (question, low_word, high_word) = match kind {
        SurveyType::Csat => (t.csat_question, t.poor, t.great),
        SurveyType::Nps => (t.nps_question, t.unlikely, t.likely),
    };
    let (low, high) = kind.scale();
    let chosen = s.answer.as_ref().map(|a| a.rating);
    let mut scale = String::new();
    for r in low..=high {
        let checked = if chosen == Some(r) { " checked" } else { "" };
        scale.push_str(&format!(
            "<label><input type=\"radio\" name=\"rating\" value=\"{r}\" required{checked}>{r}</label>"
        ));
    }
    let note = match (&s.answer, error) {
        (_, true) => format!("<p class=\"note error\" role=\"alert\">{}</p>", t.invalid),
        (Some(_), false) => format!("<p class=\"note\" role=\"status\">{}</p>", t.thanks),
        (None, false) => String::new(),
    };
    let feedback = s
        .answer
        .as_ref()
        .and_then(|a| a.feedback_message.as_deref())
        .map(escape)
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{inbox}</title><style>{STYLE}</style></head><body><main><p>{inbox}</p><h1>{question}</h1>{note}\
<form method=\"post\"><fieldset style=\"border:0;padding:0\"><legend>{your_answer}</legend>\
<div class=\"scale\">{scale}</div><div class=\"ends\"><span>{low_word}</span><span>{high_word}</span></div>\
</fieldset><label for=\"feedback\">{comment}</label>\
<textarea id=\"feedback\" name=\"feedback_message\" maxlength=\"5000\">{feedback}</textarea>\
<button type=\"submit\">{send}</button></form></main></body></html>",
        lang = t.lang,
        inbox = escape(&s.inbox_name),
        your_answer = t.your_answer,
        comment = t.comment,
        send = t.send,
    );
    let mut response = Html(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The survey page Chatwoot links from its survey messages.
#[utoipa::path(get, path = "/survey/responses/{conversation_uuid}", tag = "CSAT Survey Page",
    params(("conversation_uuid" = String, Path)),
    responses((status = 200, description = "The survey page (HTML)"), (status = 404, body = crate::error::ErrorBody)))]
async fn page(State(state): State<AppState>, Path(uuid): Path<String>) -> ApiResult<Response> {
    let mut conn = state.store.read().await?;
    let s = survey_of(&mut conn, &state, &uuid).await?;
    Ok(render_page(&s, false))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PageForm {
    rating: Option<String>,
    feedback_message: Option<String>,
}

/// The page's form: records the answer and shows the page again, thanked.
#[utoipa::path(post, path = "/survey/responses/{conversation_uuid}", tag = "CSAT Survey Page",
    params(("conversation_uuid" = String, Path)),
    request_body(content = PageForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The survey page (HTML)"), (status = 404, body = crate::error::ErrorBody)))]
async fn page_answer(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    axum::Form(form): axum::Form<PageForm>,
) -> ApiResult<Response> {
    let rating = form
        .rating
        .as_deref()
        .and_then(|r| r.trim().parse::<i64>().ok());
    let Some(rating) = rating else {
        let mut conn = state.store.read().await?;
        let s = survey_of(&mut conn, &state, &uuid).await?;
        let mut page = render_page(&s, true);
        *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(page);
    };
    match record(
        &state,
        &uuid,
        rating,
        form.feedback_message.as_deref(),
        Via::Link,
    )
    .await
    {
        Ok(s) => Ok(render_page(&s, false)),
        Err(ApiError::Invalid(_)) => {
            let mut conn = state.store.read().await?;
            let s = survey_of(&mut conn, &state, &uuid).await?;
            let mut page = render_page(&s, true);
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(e) => Err(e),
    }
}
