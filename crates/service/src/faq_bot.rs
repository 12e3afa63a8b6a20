//! The built-in FAQ bot at work: a customer's message in a conversation the bot holds
//! (`pending`, in an inbox whose agent bot is of the `faq` kind) is searched in the bot's help
//! center, and the bot answers, asks again, resolves or hands over as
//! `core::help_center::faq_bot` decides. It runs in the automation consumer's transaction like
//! the other touchpoints; each message is claimed first, so a redone batch answers nothing
//! twice. Its replies go out through the customer's own channel like an agent's, as the bot.

use serde_json::json;
use throughline_channels::OutboundClient;
use throughline_channels::model_api::{self, ModelEndpoint};
use throughline_core::assistant::{APP_ID, language_name, prompts};
use throughline_core::conversation::{Status, StatusRequest};
use throughline_core::event::StoredEvent;
use throughline_core::help_center::faq_bot::{self, Reading, Reason, Step};
use throughline_core::help_center::{Portal, markdown, search};
use throughline_core::message::{MessageType, SenderType};
use throughline_core::model::{AgentBot, Conversation, Inbox};
use throughline_store::assistant::{self as assistant_store, Phrasing};
use throughline_store::help_center as hc;
use throughline_store::messages::{self, NewMessage};
use throughline_store::{
    AccountScope, Conn, Found, Store, StoreError, Tx, auth, auto_replies, conversations,
};

type Result<T> = std::result::Result<T, StoreError>;

/// Answers phrased per round of the timer.
const PHRASE_BATCH: i64 = 8;

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
    // A voicemail is for people: the team gets the conversation at once (the bot would search
    // the help center for "Voicemail (0:42)").
    if event.payload["content_attributes"]["voice_call"]["kind"] == "voicemail" {
        return hand_over(
            tx,
            &scope,
            &bot,
            inbox,
            conversation,
            &portal.default_locale,
            Reason::Voicemail.as_str(),
        )
        .await;
    }
    // A bot for after hours leaves the conversation to the team while the inbox is open.
    if config.only_outside_hours {
        let hours = throughline_core::hours::Schedule::from_settings(&inbox.settings)
            .unwrap_or_else(|_| throughline_core::hours::Schedule::always());
        if hours.is_open(throughline_store::now_ms()) {
            let locale =
                faq_bot::locale_for(text, &portal.allowed_locales, None, &portal.default_locale);
            return hand_over(
                tx,
                &scope,
                &bot,
                inbox,
                conversation,
                &locale,
                Reason::BusinessHours.as_str(),
            )
            .await;
        }
    }
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
            if phrased_by_model(tx, inbox, conversation).await? {
                // The model is asked after this transaction; the timer sends its answer.
                let waiting = Phrasing {
                    id: 0,
                    account_id: conversation.account_id,
                    conversation_id: conversation.id,
                    agent_bot_id: bot.id,
                    inbox_id: inbox.id,
                    article_id: article.id,
                    locale: locale.clone(),
                    question: text.chars().take(prompts::MAX_INPUT_CHARS).collect(),
                    url,
                    fallback: body,
                    attributes,
                    created_at: 0,
                };
                return assistant_store::queue_phrasing(tx.conn(), &waiting).await;
            }
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

/// Whether the account's AI assistant phrases the bot's answers here: it is on, and the
/// inbox's conversations may be sent to it.
async fn phrased_by_model(tx: &mut Tx, inbox: &Inbox, conversation: &Conversation) -> Result<bool> {
    let key = tx.store().key().clone();
    let scope = AccountScope::system(conversation.account_id);
    Ok(
        assistant_store::hook_of_app(tx.conn(), &key, &scope, APP_ID)
            .await?
            .is_some_and(|h| h.enabled && h.settings.may_send_conversation(inbox.id)),
    )
}

/// Sends the answers waiting for the model: each article's answer in the model's words (from
/// that article only, in the customer's language), then the link and the bot's question; the
/// plain answer when the model fails or the assistant was turned off meanwhile. An answer is
/// dropped when a person took the conversation meanwhile. How many were sent.
pub async fn phrase_waiting(store: &Store, client: &OutboundClient) -> Result<usize> {
    let waiting = {
        let mut conn = store.read().await?;
        assistant_store::waiting_phrasings_unscoped(&mut conn, PHRASE_BATCH).await?
    };
    let mut sent = 0;
    for p in waiting {
        let scope = AccountScope::system(p.account_id);
        let (hook, article) = {
            let mut conn = store.read().await?;
            let hook = assistant_store::hook_of_app(&mut conn, store.key(), &scope, APP_ID)
                .await?
                .filter(|h| h.enabled && h.settings.may_send_conversation(p.inbox_id));
            let article =
                assistant_store::published_article(&mut conn, &scope, p.article_id).await?;
            (hook, article)
        };
        let mut body = p.fallback.clone();
        let mut attributes = p.attributes.clone();
        if let (Some(hook), Some(article)) = (&hook, &article) {
            let language = language_name(&p.locale).unwrap_or("English");
            let messages = prompts::faq_answer(
                &p.question,
                &article.title,
                &markdown::plain_text(&article.content),
                language,
            );
            let endpoint = ModelEndpoint {
                base_url: &hook.settings.base_url,
                api_key: hook.api_key.as_deref(),
                model: &hook.settings.model,
                timeout: std::time::Duration::from_secs(u64::from(hook.settings.timeout_seconds)),
            };
            match model_api::chat(client, &endpoint, &messages).await {
                Ok(answer) => {
                    let ask = faq_bot::words(&p.locale).ask;
                    body = format!("{answer}\n{}\n\n{ask}", p.url);
                    attributes["ai_generated"] = json!(true);
                }
                Err(error) => {
                    tracing::warn!(account_id = p.account_id, %error, "the FAQ bot's model failed; plain answer sent");
                }
            }
        }
        let mut tx = store.begin().await?;
        if !assistant_store::take_phrasing(tx.conn(), p.id).await? {
            continue;
        }
        // Gone since (deleted) is no answer to send; a database failure rolls back, so the
        // waiting answer is kept for the next round.
        let conversation = conversations::by_internal_id(tx.conn(), &scope, p.conversation_id)
            .await
            .found()?;
        let bot = auth::list_agent_bots(tx.conn(), &scope)
            .await?
            .into_iter()
            .find(|b| b.id == p.agent_bot_id);
        let inbox = throughline_store::inboxes::get(tx.conn(), store.key(), &scope, p.inbox_id)
            .await
            .found()?;
        if let (Some(conversation), Some(bot), Some(inbox)) = (conversation, bot, inbox)
            && conversation.status == Status::Pending
        {
            reply(
                &mut tx,
                &scope,
                &bot,
                &inbox,
                &conversation,
                &body,
                attributes,
            )
            .await?;
            sent += 1;
        }
        tx.commit().await?;
    }
    Ok(sent)
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
        r if r == Reason::BusinessHours.as_str() => {
            "The FAQ bot handed the conversation over: it answers only outside business hours"
        }
        r if r == Reason::Voicemail.as_str() => {
            "The FAQ bot handed the conversation over: the customer left a voicemail"
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
