//! The built-in FAQ bot at work: a customer's message in a conversation the bot holds
//! (`pending`, in an inbox whose agent bot is of the `faq` kind) is searched in the bot's help
//! center, and the bot answers, asks again, resolves or hands over as
//! `core::help_center::faq_bot` decides. It runs in the automation consumer's transaction like
//! the other touchpoints; each message is claimed first, so a redone batch answers nothing
//! twice. Its replies go out through the customer's own channel like an agent's, as the bot.

use serde_json::json;
use throughline_core::conversation::{Status, StatusRequest};
use throughline_core::event::StoredEvent;
use throughline_core::help_center::faq_bot::{self, Reading, Reason, Step};
use throughline_core::help_center::{Portal, markdown, search};
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::{AgentBot, Conversation, Inbox};
use throughline_store::help_center as hc;
use throughline_store::messages::{self, NewMessage};
use throughline_store::{AccountScope, Conn, StoreError, Tx, auth, auto_replies, conversations};

type Result<T> = std::result::Result<T, StoreError>;

/// The bot's `bot_type`.
pub const KIND: &str = "faq";

/// The inbox's FAQ bot, if its agent bot is one.
pub async fn of_inbox(conn: &mut Conn, inbox: &Inbox) -> Result<Option<AgentBot>> {
    let scope = AccountScope::system(inbox.account_id);
    Ok(auth::inbox_agent_bot(conn, &scope, inbox.id)
        .await?
        .filter(|b| b.bot_type == KIND))
}

/// Answers the customer's message `event`, when the inbox's FAQ bot holds the conversation.
pub async fn on_customer_message(
    tx: &mut Tx,
    inbox: &Inbox,
    conversation: &Conversation,
    event: &StoredEvent,
) -> Result<()> {
    if !crate::auto_replies::is_customer_message(event) || conversation.status != Status::Pending {
        return Ok(());
    }
    let Some(bot) = of_inbox(tx.conn(), inbox).await? else {
        return Ok(());
    };
    let Some(message_id) = event.payload["id"].as_i64() else {
        return Ok(());
    };
    if !auto_replies::claim(tx.conn(), conversation.id, &format!("faq:{message_id}")).await? {
        return Ok(());
    }
    let text = event.payload["content"].as_str().unwrap_or_default();
    let scope = AccountScope::agent_bot(conversation.account_id, bot.id);
    let portal = match faq_bot::Config::from_json(&bot.bot_config) {
        Ok(config) => hc::portal_by_slug(tx.conn(), &scope, &config.portal_slug)
            .await
            .ok()
            .filter(|p| !p.archived)
            .map(|p| (config, p)),
        Err(_) => None,
    };
    // A bot whose help center is gone cannot answer anyone: the team does.
    let Some((config, portal)) = portal else {
        let locale = "en".to_owned();
        return hand_over(
            tx,
            &scope,
            &bot,
            inbox,
            conversation,
            &locale,
            "unavailable",
        )
        .await;
    };
    let state = hc::faq_state(tx.conn(), conversation.id).await?;
    let earlier = match state.awaiting {
        Some(id) => hc::published_by_id(tx.conn(), &portal, id)
            .await?
            .map(|a| a.locale),
        None => None,
    };
    let locale = faq_bot::locale_for(
        text,
        &portal.allowed_locales,
        earlier.as_deref(),
        &portal.default_locale,
    );
    let reading = faq_bot::read(text);
    let best = if reading == Reading::WantsPerson {
        None
    } else {
        best_article(tx.conn(), &portal, &locale, text).await?
    };
    let (step, next) = faq_bot::decide(state, reading, best, &config);
    hc::save_faq_state(tx.conn(), conversation.account_id, conversation.id, next).await?;
    let words = faq_bot::words(&locale);
    match step {
        Step::Answer { article_id } => {
            let Some(article) = hc::published_by_id(tx.conn(), &portal, article_id).await? else {
                return hand_over(
                    tx,
                    &scope,
                    &bot,
                    inbox,
                    conversation,
                    &locale,
                    "unavailable",
                )
                .await;
            };
            let url = format!(
                "{}/hc/{}/articles/{}",
                tx.store().links().public_url().trim_end_matches('/'),
                portal.slug,
                article.slug
            );
            let summary = article
                .description
                .clone()
                .unwrap_or_else(|| markdown::excerpt(&article.content, 280));
            let body = faq_bot::answer_text(&locale, &article.title, &summary, &url);
            let attributes = json!({"faq_bot": {"article_id": article.id, "url": url}});
            reply(tx, &scope, &bot, inbox, conversation, &body, attributes).await
        }
        Step::Rephrase => {
            reply(
                tx,
                &scope,
                &bot,
                inbox,
                conversation,
                words.rephrase,
                json!({}),
            )
            .await
        }
        Step::Resolve => {
            reply(
                tx,
                &scope,
                &bot,
                inbox,
                conversation,
                words.thanks,
                json!({}),
            )
            .await?;
            let request = StatusRequest::Set {
                status: Status::Resolved,
                snoozed_until: None,
            };
            conversations::set_status(tx, &scope, conversation, request).await?;
            Ok(())
        }
        Step::HandOver(reason) => {
            hand_over(
                tx,
                &scope,
                &bot,
                inbox,
                conversation,
                &locale,
                reason.as_str(),
            )
            .await
        }
    }
}

/// The portal's article that best answers `text` in `locale`, and how sure the search is.
async fn best_article(
    conn: &mut Conn,
    portal: &Portal,
    locale: &str,
    text: &str,
) -> Result<Option<(i64, f64)>> {
    let hits = hc::search(conn, portal, locale, text, 5).await?;
    Ok(hits
        .first()
        .map(|top| (top.id, search::confidence(top, &hits))))
}

/// The bot's public reply through the customer's channel.
async fn reply(
    tx: &mut Tx,
    scope: &AccountScope,
    bot: &AgentBot,
    inbox: &Inbox,
    conversation: &Conversation,
    text: &str,
    attributes: serde_json::Value,
) -> Result<()> {
    let mut new = NewMessage::text(MessageType::Outgoing, text);
    new.inbox_id = Some(inbox.id);
    new.sender = Some((SenderType::AgentBot, bot.id));
    new.content_attributes = attributes;
    messages::create(tx, scope, conversation, new).await?;
    Ok(())
}

/// Tells the customer a person will answer, opens the conversation for routing, and says
/// why in the conversation's activity line.
async fn hand_over(
    tx: &mut Tx,
    scope: &AccountScope,
    bot: &AgentBot,
    inbox: &Inbox,
    conversation: &Conversation,
    locale: &str,
    reason: &str,
) -> Result<()> {
    let words = faq_bot::words(locale);
    reply(
        tx,
        scope,
        bot,
        inbox,
        conversation,
        words.hand_over,
        json!({}),
    )
    .await?;
    let request = StatusRequest::Set {
        status: Status::Open,
        snoozed_until: None,
    };
    let (opened, _) = conversations::set_status(tx, scope, conversation, request).await?;
    let line = match reason {
        r if r == Reason::Requested.as_str() => {
            "The FAQ bot handed the conversation over: the customer asked for a person"
        }
        r if r == Reason::SecondMiss.as_str() => {
            "The FAQ bot handed the conversation over: it could not answer twice"
        }
        r if r == Reason::LowConfidence.as_str() => {
            "The FAQ bot handed the conversation over: no article clearly answers the question"
        }
        _ => "The FAQ bot handed the conversation over: its help center is unavailable",
    };
    messages::create_activity(
        tx,
        scope,
        &opened,
        line.to_owned(),
        json!({"kind": "bot_handoff", "agent_bot_id": bot.id, "reason": reason}),
    )
    .await?;
    Ok(())
}
