//! The AI assistant at work: what an agent asks of it (`process_event`, a message's
//! translation) is answered from the account's `openai` hook. Everything the model needs is
//! read first on a read connection, the model is called with no connection held, and what is
//! kept (a translation) is written after, in its own short transaction. When the model cannot
//! help (not configured, the inbox's conversations may not be sent, a timeout, a rate limit, a
//! provider error) the caller gets a [`Failure`] carrying the non-AI answer: the help-center
//! articles lexical search found.

use std::time::Duration;

use throughline_channels::OutboundClient;
use throughline_channels::model_api::{self, ModelEndpoint, ModelError};
use throughline_core::assistant::grounding::{self, Cited};
use throughline_core::assistant::prompts::{self, ChatMessage, Source, Turn};
use throughline_core::assistant::{self as core_assistant, APP_ID, Action};
use throughline_core::help_center::{Portal, faq_bot, markdown};
use throughline_core::message::MessageType;
use throughline_core::model::{Conversation, Message};
use throughline_store::assistant::{self as store, Hook};
use throughline_store::help_center as hc;
use throughline_store::{
    AccountScope, Conn, Found, Store, StoreError, contacts, conversations, inboxes,
};

/// Articles behind one suggestion.
const SOURCES: usize = 3;
/// Messages of a conversation read for a suggestion or a summary (the prompt keeps the newest
/// that fit its budget).
const TRANSCRIPT_MESSAGES: i64 = 60;
/// Articles embedded per account per round of the embedding timer.
pub const EMBED_BATCH: i64 = 16;
/// The longest text of an article sent to be embedded.
const EMBED_CHARS: usize = 6_000;

/// What an agent asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub conversation_display_id: Option<i64>,
    pub content: Option<String>,
    pub tone: Option<String>,
    pub target_language: Option<String>,
    /// The agent's language, for a summary.
    pub locale: Option<String>,
}

/// A model's answer, marked as such wherever it is shown.
#[derive(Clone, Debug)]
pub struct Answer {
    pub text: String,
    /// The articles offered to the model; `cited` ones it used.
    pub articles: Vec<Article>,
    /// The language the text is in, when the assistant chose it (a translation, a reply).
    pub language: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    pub id: i64,
    pub title: String,
    pub url: String,
    pub cited: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the AI assistant is not set up: an administrator configures it under Integrations")]
    NotConfigured,
    #[error("the AI assistant is turned off")]
    Disabled,
    #[error("{0}")]
    Invalid(throughline_core::validate::FieldError),
    #[error(
        "this inbox's conversations may not be sent to the AI model (an administrator allows it \
         per inbox)"
    )]
    CustomerDataOff { articles: Vec<Article> },
    #[error("{error}")]
    Model {
        error: ModelError,
        articles: Vec<Article>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Failure {
    /// A stable word for clients.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::NotConfigured => "not_configured",
            Failure::Disabled => "disabled",
            Failure::Invalid(_) => "invalid",
            Failure::CustomerDataOff { .. } => "customer_data_off",
            Failure::Model { error, .. } => error.reason(),
            Failure::Store(_) => "store",
        }
    }

    /// The non-AI answer: articles that may help.
    pub fn articles(&self) -> &[Article] {
        match self {
            Failure::CustomerDataOff { articles } | Failure::Model { articles, .. } => articles,
            _ => &[],
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Failure {
    Failure::Invalid(throughline_core::validate::FieldError::new(
        field, "invalid", message,
    ))
}

/// Where the assistant's parts are.
pub struct Assistant<'a> {
    pub store: &'a Store,
    pub client: &'a OutboundClient,
}

fn endpoint<'h>(hook: &'h Hook, model: &'h str) -> ModelEndpoint<'h> {
    ModelEndpoint {
        base_url: &hook.settings.base_url,
        api_key: hook.api_key.as_deref(),
        model,
        timeout: Duration::from_secs(u64::from(hook.settings.timeout_seconds)),
    }
}

/// What a suggestion or summary reads of a conversation.
struct Reading {
    turns: Vec<Turn>,
    portal: Option<Portal>,
    /// The portal's locale the customer writes in.
    locale: Option<String>,
    /// What the customer asked last (the search's query).
    question: String,
    may_send: bool,
}

impl Assistant<'_> {
    /// The account's assistant, enabled.
    pub async fn hook(&self, scope: &AccountScope) -> Result<Hook, Failure> {
        let mut conn = self.store.read().await?;
        let hook = store::hook_of_app(&mut conn, self.store.key(), scope, APP_ID)
            .await?
            .ok_or(Failure::NotConfigured)?;
        if hook.enabled {
            Ok(hook)
        } else {
            Err(Failure::Disabled)
        }
    }

    /// One of Chatwoot's `process_event` actions (or our `translate`).
    pub async fn process(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        action: Action,
        request: &Request,
    ) -> Result<Answer, Failure> {
        match action {
            Action::ReplySuggestion => self.suggest(scope, hook, request).await,
            Action::Summarize => self.summarize(scope, hook, request).await,
            Action::Translate => {
                let text = draft(request)?;
                let language = match &request.target_language {
                    Some(l) => l.clone(),
                    None => self.customer_language(scope, request).await?,
                };
                let (code, name) = language_of("target_language", &language)?;
                let text = self
                    .chat(hook, &prompts::translate(&text, name), Vec::new())
                    .await?;
                Ok(Answer {
                    text,
                    articles: Vec::new(),
                    language: Some(code),
                })
            }
            _ => {
                let text = draft(request)?;
                let messages = prompts::rewrite(action, &text, request.tone.as_deref());
                let text = self.chat(hook, &messages, Vec::new()).await?;
                Ok(Answer {
                    text,
                    articles: Vec::new(),
                    language: None,
                })
            }
        }
    }

    /// A message's text in `target_language`, kept on the message (Chatwoot's
    /// `content_attributes.translations`); a translation already kept is not asked again.
    pub async fn translate_message(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        conversation: &Conversation,
        message_id: i64,
        target_language: &str,
    ) -> Result<(Message, String), Failure> {
        let (code, name) = language_of("target_language", target_language)?;
        let message = {
            let mut conn = self.store.read().await?;
            throughline_store::messages::get(&mut conn, scope, conversation, message_id).await?
        };
        if let Some(kept) = message.content_attributes["translations"][&code].as_str() {
            return Ok((message.clone(), kept.to_owned()));
        }
        if !hook.settings.may_send_conversation(conversation.inbox_id) {
            return Err(Failure::CustomerDataOff {
                articles: Vec::new(),
            });
        }
        let content = message.content.clone().unwrap_or_default();
        if content.trim().is_empty() {
            return Err(invalid("message", "the message has no text to translate"));
        }
        let content: String = content.chars().take(prompts::MAX_INPUT_CHARS).collect();
        let text = self
            .chat(hook, &prompts::translate(&content, name), Vec::new())
            .await?;
        let mut tx = self.store.begin().await?;
        let message = throughline_store::messages::set_translation(
            &mut tx,
            scope,
            conversation,
            message_id,
            &code,
            &text,
        )
        .await?;
        tx.commit().await?;
        Ok((message, text))
    }

    async fn suggest(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        request: &Request,
    ) -> Result<Answer, Failure> {
        let reading = self.read(scope, hook, request).await?;
        let lexical = self.lexical_sources(&reading).await?;
        if !reading.may_send {
            return Err(Failure::CustomerDataOff {
                articles: unused(&lexical),
            });
        }
        let sources = self.grounding(scope, hook, &reading, lexical).await?;
        let language = reading
            .locale
            .as_deref()
            .and_then(core_assistant::language_name);
        let messages = prompts::reply_suggestion(&reading.turns, &sources, language);
        let answer = self.chat(hook, &messages, unused(&sources)).await?;
        let Cited { text, cited } = grounding::cite(&answer, &sources);
        Ok(Answer {
            text,
            articles: sources
                .iter()
                .map(|s| Article {
                    id: s.article_id,
                    title: s.title.clone(),
                    url: s.url.clone(),
                    cited: cited.contains(&s.number),
                })
                .collect(),
            language: reading
                .locale
                .as_deref()
                .and_then(core_assistant::normalise_language),
        })
    }

    async fn summarize(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        request: &Request,
    ) -> Result<Answer, Failure> {
        let reading = self.read(scope, hook, request).await?;
        if !reading.may_send {
            return Err(Failure::CustomerDataOff {
                articles: Vec::new(),
            });
        }
        if reading.turns.is_empty() {
            return Err(invalid(
                "conversation_display_id",
                "the conversation has no messages to summarize",
            ));
        }
        let language = request
            .locale
            .as_deref()
            .and_then(core_assistant::language_name)
            .unwrap_or("English");
        let text = self
            .chat(
                hook,
                &prompts::summary(&reading.turns, language),
                Vec::new(),
            )
            .await?;
        Ok(Answer {
            text,
            articles: Vec::new(),
            language: None,
        })
    }

    async fn chat(
        &self,
        hook: &Hook,
        messages: &[ChatMessage],
        fallback: Vec<Article>,
    ) -> Result<String, Failure> {
        model_api::chat(self.client, &endpoint(hook, &hook.settings.model), messages)
            .await
            .map_err(|error| {
                tracing::warn!(account_id = hook.account_id, %error, "AI model failed");
                Failure::Model {
                    error,
                    articles: fallback,
                }
            })
    }

    /// The conversation named by the request, as the prompt sees it.
    async fn read(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        request: &Request,
    ) -> Result<Reading, Failure> {
        let display_id = request.conversation_display_id.ok_or_else(|| {
            invalid(
                "conversation_display_id",
                "conversation_display_id names the conversation",
            )
        })?;
        let mut conn = self.store.read().await?;
        let conversation = conversations::get(&mut conn, scope, display_id).await?;
        // A contact gone is "Customer"; a database failure is an error, not a nameless prompt.
        let customer = contacts::get(&mut conn, scope, conversation.contact_id)
            .await
            .found()?
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Customer".into());
        let messages = throughline_store::messages::list(
            &mut conn,
            scope,
            &conversation,
            None,
            None,
            TRANSCRIPT_MESSAGES,
            false,
        )
        .await?;
        let turns: Vec<Turn> = messages
            .iter()
            .filter(|m| {
                matches!(
                    m.message_type,
                    MessageType::Incoming | MessageType::Outgoing
                )
            })
            .filter_map(|m| {
                let text = m.content.as_deref()?.trim();
                (!text.is_empty()).then(|| Turn {
                    from_customer: m.message_type == MessageType::Incoming,
                    author: if m.message_type == MessageType::Incoming {
                        customer.clone()
                    } else {
                        "Agent".into()
                    },
                    text: text.to_owned(),
                })
            })
            .collect();
        let question = turns
            .iter()
            .rev()
            .filter(|t| t.from_customer)
            .take(2)
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let portal = portal_for(&mut conn, self.store, scope, &conversation).await?;
        let locale = portal
            .as_ref()
            .map(|p| faq_bot::locale_for(&question, &p.allowed_locales, None, &p.default_locale));
        let may_send = hook.settings.may_send_conversation(conversation.inbox_id);
        Ok(Reading {
            turns,
            portal,
            locale,
            question,
            may_send,
        })
    }

    /// The customer's language, from what they wrote.
    async fn customer_language(
        &self,
        scope: &AccountScope,
        request: &Request,
    ) -> Result<String, Failure> {
        let missing = || {
            invalid(
                "target_language",
                "target_language is needed: the customer's language is not known",
            )
        };
        let display_id = request.conversation_display_id.ok_or_else(missing)?;
        let mut conn = self.store.read().await?;
        let conversation = conversations::get(&mut conn, scope, display_id).await?;
        let messages = throughline_store::messages::list(
            &mut conn,
            scope,
            &conversation,
            None,
            None,
            TRANSCRIPT_MESSAGES,
            false,
        )
        .await?;
        let said: String = messages
            .iter()
            .filter(|m| m.message_type == MessageType::Incoming)
            .filter_map(|m| m.content.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        throughline_core::routing::detect_language_with(&said, 0.2)
            .map(str::to_owned)
            .ok_or_else(missing)
    }

    /// The articles lexical search finds for the customer's last question.
    async fn lexical_sources(&self, reading: &Reading) -> Result<Vec<Source>, Failure> {
        let (Some(portal), Some(locale)) = (&reading.portal, &reading.locale) else {
            return Ok(Vec::new());
        };
        if reading.question.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.store.read().await?;
        let hits = hc::search(&mut conn, portal, locale, &reading.question, SOURCES).await?;
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        sources(&mut conn, self.store, portal, &ids).await
    }

    /// Lexical sources, fused with the nearest articles by embedding when the hook has an
    /// embeddings model (a failure of that model only loses the semantic half).
    async fn grounding(
        &self,
        scope: &AccountScope,
        hook: &Hook,
        reading: &Reading,
        lexical: Vec<Source>,
    ) -> Result<Vec<Source>, Failure> {
        let (Some(model), Some(portal), Some(locale)) = (
            hook.settings.embedding_model.as_deref(),
            &reading.portal,
            &reading.locale,
        ) else {
            return Ok(lexical);
        };
        if reading.question.trim().is_empty() {
            return Ok(lexical);
        }
        let stored = {
            let mut conn = self.store.read().await?;
            store::embeddings(&mut conn, scope, portal.id, locale, model).await?
        };
        if stored.is_empty() {
            return Ok(lexical);
        }
        let query = match model_api::embed(
            self.client,
            &endpoint(hook, model),
            std::slice::from_ref(&reading.question),
        )
        .await
        {
            Ok(mut v) => v.remove(0),
            Err(error) => {
                tracing::warn!(account_id = hook.account_id, %error, "embedding the question failed");
                return Ok(lexical);
            }
        };
        let semantic: Vec<(i64, f32)> = stored
            .iter()
            .map(|(id, v)| (*id, grounding::cosine(&query, v)))
            .collect();
        let lexical_ids: Vec<i64> = lexical.iter().map(|s| s.article_id).collect();
        let ids = grounding::fuse(&lexical_ids, &semantic, SOURCES);
        let mut conn = self.store.read().await?;
        sources(&mut conn, self.store, portal, &ids).await
    }

    /// One round of the embedding timer over every account whose assistant has an embeddings
    /// model: how many articles were embedded. One account's failing model does not stop the
    /// others'.
    pub async fn embed_all(&self) -> Result<usize, StoreError> {
        let hooks = {
            let mut conn = self.store.read().await?;
            store::embedding_hooks_unscoped(&mut conn, self.store.key()).await?
        };
        let mut done = 0;
        for hook in &hooks {
            match self.embed_articles(hook).await {
                Ok(n) => done += n,
                Err(Failure::Store(e)) => return Err(e),
                Err(e) => tracing::warn!(
                    account_id = hook.account_id, error = %e, "embedding articles failed"
                ),
            }
        }
        Ok(done)
    }

    /// Embeds the account's published articles that changed since their embedding (or have
    /// none), at most [`EMBED_BATCH`]; how many were embedded.
    pub async fn embed_articles(&self, hook: &Hook) -> Result<usize, Failure> {
        let Some(model) = hook.settings.embedding_model.as_deref() else {
            return Ok(0);
        };
        let scope = AccountScope::system(hook.account_id);
        let articles = {
            let mut conn = self.store.read().await?;
            store::articles_to_embed(&mut conn, &scope, model, EMBED_BATCH).await?
        };
        if articles.is_empty() {
            return Ok(0);
        }
        let texts: Vec<String> = articles.iter().map(embedding_text).collect();
        let vectors = model_api::embed(self.client, &endpoint(hook, model), &texts)
            .await
            .map_err(|error| Failure::Model {
                error,
                articles: Vec::new(),
            })?;
        let mut tx = self.store.begin().await?;
        for (article, vector) in articles.iter().zip(&vectors) {
            store::save_embedding(tx.conn(), article, model, vector).await?;
        }
        tx.commit().await?;
        Ok(articles.len())
    }
}

/// What of an article is embedded: its title, description and text.
fn embedding_text(article: &throughline_core::help_center::Article) -> String {
    let mut text = article.title.clone();
    if let Some(d) = &article.description {
        text.push('\n');
        text.push_str(d);
    }
    text.push('\n');
    text.push_str(&markdown::plain_text(&article.content));
    text.chars().take(EMBED_CHARS).collect()
}

/// The help center a conversation's suggestions come from: the portal whose widget inbox is
/// the conversation's, else the account's first portal that is not archived.
async fn portal_for(
    conn: &mut Conn,
    store: &Store,
    scope: &AccountScope,
    conversation: &Conversation,
) -> Result<Option<Portal>, Failure> {
    if let Ok(inbox) = inboxes::get(conn, store.key(), scope, conversation.inbox_id).await
        && let Some(p) = hc::portal_of_inbox(conn, &inbox).await?
    {
        return Ok(Some(p));
    }
    Ok(hc::list_portals(conn, scope)
        .await?
        .into_iter()
        .find(|p| !p.archived))
}

/// The published articles `ids` as numbered sources, in that order.
async fn sources(
    conn: &mut Conn,
    store: &Store,
    portal: &Portal,
    ids: &[i64],
) -> Result<Vec<Source>, Failure> {
    let base = store.links().public_url().trim_end_matches('/').to_owned();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(a) = hc::published_by_id(conn, portal, *id).await? {
            out.push(Source {
                number: out.len() + 1,
                article_id: a.id,
                url: format!("{base}/hc/{}/articles/{}", portal.slug, a.slug),
                text: embedding_text(&a),
                title: a.title,
            });
        }
    }
    Ok(out)
}

/// Sources as the non-AI answer (none cited: no model read them).
fn unused(sources: &[Source]) -> Vec<Article> {
    sources
        .iter()
        .map(|s| Article {
            id: s.article_id,
            title: s.title.clone(),
            url: s.url.clone(),
            cited: false,
        })
        .collect()
}

fn draft(request: &Request) -> Result<String, Failure> {
    let text = request.content.as_deref().unwrap_or_default().trim();
    if text.is_empty() {
        return Err(invalid("content", "content is the text to work on"));
    }
    if text.chars().count() > prompts::MAX_INPUT_CHARS {
        return Err(invalid(
            "content",
            format!("content is at most {} characters", prompts::MAX_INPUT_CHARS),
        ));
    }
    Ok(text.to_owned())
}

/// A language code and its name, or a 422 naming `field`.
fn language_of(field: &str, code: &str) -> Result<(String, &'static str), Failure> {
    match (
        core_assistant::normalise_language(code),
        core_assistant::language_name(code),
    ) {
        (Some(code), Some(name)) => Ok((code, name)),
        _ => Err(invalid(
            field,
            format!("{field} must be a language code such as en, pt-BR or pl"),
        )),
    }
}
