//! Satisfaction surveys: sent when a conversation is resolved, through the channel the
//! customer used last; answered in the widget, on the link page, or by replying with a number
//! on channels without buttons. One answer per survey (a second one changes it); answers after
//! the answer period are kept and marked late.

use serde_json::json;
use throughline_core::event::{EventKind, StoredEvent};
use throughline_core::message::{ContentType, MessageType};
use throughline_core::model::{ChannelType, Conversation, Inbox, Message};
use throughline_core::reply_channel::ReplyRules;
use throughline_core::survey::{self, SurveyType};
use throughline_store::csat::{self, Answer, Response};
use throughline_store::messages::{self, NewMessage};
use throughline_store::{
    AccountScope, StoreError, Tx, accounts, auto_replies, inboxes, reply_channels,
};

type Result<T> = std::result::Result<T, StoreError>;

/// How the customer answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Widget,
    Link,
    Reply,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Widget => "widget",
            Self::Link => "link",
            Self::Reply => "reply",
        }
    }
}

/// The survey an inbox sends, if it sends one (`csat_survey_enabled`; Throughline's
/// `csat_survey_type`: csat or nps).
pub fn survey_of(inbox: &Inbox) -> Option<SurveyType> {
    if inbox.settings["csat_survey_enabled"] != json!(true) {
        return None;
    }
    Some(
        inbox.settings["csat_survey_type"]
            .as_str()
            .and_then(SurveyType::parse)
            .unwrap_or(SurveyType::Csat),
    )
}

pub fn type_of(survey: &Message) -> SurveyType {
    survey.content_attributes["survey_type"]
        .as_str()
        .and_then(SurveyType::parse)
        .unwrap_or(SurveyType::Csat)
}

/// The public page where a survey is answered.
pub fn link(public_url: &str, conversation: &Conversation) -> String {
    format!(
        "{}/survey/responses/{}",
        public_url.trim_end_matches('/'),
        conversation.uuid
    )
}

/// A conversation resolved: the moment a survey may go out.
pub fn is_resolution(event: &StoredEvent) -> bool {
    event.kind == EventKind::ConversationStatusChanged && event.payload["status"] == "resolved"
}

/// On `conversation_status_changed` to resolved: the survey, once per resolution that
/// followed a reply (a conversation resolved again with nothing said since its last survey
/// gets no second one).
pub async fn on_resolved(
    tx: &mut Tx,
    conversation: &Conversation,
    event: &StoredEvent,
) -> Result<()> {
    if !is_resolution(event) {
        return Ok(());
    }
    let scope = AccountScope::system(conversation.account_id);
    let (inbox_id, _) = messages::reply_route(tx.conn(), conversation).await?;
    let key = tx.store().key().clone();
    let inbox = inboxes::get(tx.conn(), &key, &scope, inbox_id).await?;
    let Some(kind) = survey_of(&inbox) else {
        return Ok(());
    };
    if inbox.channel_type == ChannelType::Voice {
        return Ok(());
    }
    let last_reply = messages::last_public_reply_at(tx.conn(), conversation.id).await?;
    if let Some(previous) = csat::latest_survey(tx.conn(), conversation.id).await? {
        let replied_since =
            messages::replied_after(tx.conn(), conversation.id, previous.id).await?;
        if !replied_since {
            return Ok(());
        }
    } else if last_reply.is_none() {
        // Nobody ever answered: there is nothing to rate.
        return Ok(());
    }
    // A windowed channel (WhatsApp, Messenger) closed since the customer's last message
    // would refuse the survey.
    let rules = ReplyRules::for_channel(inbox.channel_type);
    if rules.window_ms.is_some() {
        let last_in =
            reply_channels::last_incoming_at(tx.conn(), &scope, conversation.contact_id, inbox.id)
                .await?;
        if !rules.window_open(last_in, event.created_at) {
            return Ok(());
        }
    }
    if !auto_replies::claim(tx.conn(), conversation.id, &format!("survey:{}", event.id)).await? {
        return Ok(());
    }
    send(tx, conversation, inbox.id, kind, json!({})).await?;
    Ok(())
}

/// Sends a survey through `inbox_id` in the conversation; `extra` joins its
/// `content_attributes` (a journey campaign's ids). Returns the message's id.
pub async fn send(
    tx: &mut Tx,
    conversation: &Conversation,
    inbox_id: i64,
    kind: SurveyType,
    extra: serde_json::Value,
) -> Result<i64> {
    let scope = AccountScope::system(conversation.account_id);
    let account = accounts::get_account(tx.conn(), conversation.account_id).await?;
    let url = link(tx.store().links().public_url(), conversation);
    let mut new = NewMessage::text(
        MessageType::Template,
        survey::question(kind, &account.locale, &url),
    );
    new.inbox_id = Some(inbox_id);
    new.content_type = ContentType::InputCsat;
    let mut attributes = json!({
        "auto_reply": "survey",
        "survey_type": kind.as_str(),
        "survey_url": url,
    });
    if let (Some(map), serde_json::Value::Object(more)) = (attributes.as_object_mut(), extra) {
        map.extend(more);
    }
    new.content_attributes = attributes;
    Ok(messages::create(tx, &scope, conversation, new)
        .await?
        .message
        .id)
}

/// A customer's reply right after a survey, read as its answer when it starts with a rating
/// ("5", "5 - ótimo", "nota 4"). The reply that is only a rating leaves the conversation
/// resolved; one with words keeps it open for an agent to read.
pub async fn on_customer_message(
    tx: &mut Tx,
    conversation: &Conversation,
    event: &StoredEvent,
) -> Result<()> {
    if !crate::auto_replies::is_customer_message(event) {
        return Ok(());
    }
    let (Some(message_id), Some(text)) = (
        event.payload["id"].as_i64(),
        event.payload["content"].as_str(),
    ) else {
        return Ok(());
    };
    let Some(survey) = csat::latest_survey(tx.conn(), conversation.id).await? else {
        return Ok(());
    };
    if survey.id > message_id
        || csat::for_message(tx.conn(), survey.id).await?.is_some()
        || messages::incoming_between(tx.conn(), conversation.id, survey.id, message_id).await? > 0
    {
        return Ok(());
    }
    let kind = type_of(&survey);
    let Some(reply) = survey::parse_reply(text, kind) else {
        return Ok(());
    };
    match answer(
        tx,
        conversation,
        &survey,
        reply.rating,
        reply.comment.as_deref(),
        Via::Reply,
        event.created_at,
    )
    .await
    {
        Ok(_) => {}
        Err(AnswerError::Store(e)) => return Err(e),
        // A comment too long to keep: the reply stays a message like any other.
        Err(_) => return Ok(()),
    }
    // Only the survey after a resolution puts the conversation back: a journey campaign's
    // survey may arrive in a conversation the customer is still having.
    let after_resolution = survey.content_attributes["journey_campaign_id"].is_null();
    if reply.comment.is_none() && after_resolution && conversation.resolved_at.is_some() {
        let scope = AccountScope::system(conversation.account_id);
        let current =
            throughline_store::conversations::by_internal_id(tx.conn(), &scope, conversation.id)
                .await?;
        if current.status != throughline_core::conversation::Status::Resolved
            && survey.created_at >= conversation.resolved_at.unwrap_or(i64::MAX)
        {
            throughline_store::conversations::set_status(
                tx,
                &scope,
                &current,
                throughline_core::conversation::StatusRequest::Set {
                    status: throughline_core::conversation::Status::Resolved,
                    snoozed_until: None,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Why an answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the rating must be between {low} and {high}")]
    OutOfScale { low: i64, high: i64 },
    #[error("the feedback is longer than 5000 characters")]
    FeedbackTooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records an answer to `survey` and shows it on the survey message (the agent's timeline).
pub async fn answer(
    tx: &mut Tx,
    conversation: &Conversation,
    survey: &Message,
    rating: i64,
    feedback: Option<&str>,
    via: Via,
    at: i64,
) -> std::result::Result<Response, AnswerError> {
    let kind = type_of(survey);
    if !kind.accepts(rating) {
        let (low, high) = kind.scale();
        return Err(AnswerError::OutOfScale { low, high });
    }
    let feedback = feedback.map(str::trim).filter(|f| !f.is_empty());
    if feedback.is_some_and(|f| f.chars().count() > 5_000) {
        return Err(AnswerError::FeedbackTooLong);
    }
    let response = csat::answer(
        tx.conn(),
        conversation,
        survey,
        &Answer {
            survey_type: kind.as_str(),
            rating,
            feedback_message: feedback,
            answered_via: via.as_str(),
            late: survey::is_late(survey.created_at, at),
        },
    )
    .await?;
    let scope = AccountScope::system(conversation.account_id);
    let mut values = csat::submitted_values(&response);
    values["csat_survey_response"]["late"] = json!(response.late);
    values["csat_survey_response"]["answered_via"] = json!(response.answered_via);
    messages::set_submitted_values(tx, &scope, conversation, survey.id, values).await?;
    Ok(response)
}
