-- The AI assistant (issue #21). Chatwoot's integration hooks (one `openai` hook per account):
-- settings as JSON, the provider key sealed under the server key apart from them, never shown
-- again. An article's embedding for semantic search (packed: core::assistant::grounding::pack),
-- with the version of the article it was
-- computed from (its updated_at) and the model, so a changed article or model is embedded again.
-- Keep in step with ../postgres/0025_assistant.sql.
CREATE TABLE integration_hooks (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    app_id TEXT NOT NULL,
    inbox_id INTEGER REFERENCES inboxes (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'enabled',
    settings TEXT NOT NULL DEFAULT '{}',
    api_key_sealed TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_integration_hooks__account_app ON integration_hooks (account_id, app_id);

CREATE TABLE article_embeddings (
    article_id INTEGER PRIMARY KEY REFERENCES portal_articles (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    portal_id INTEGER NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    model TEXT NOT NULL,
    article_updated_at INTEGER NOT NULL,
    vector TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_article_embeddings_portal ON article_embeddings (portal_id, locale);

-- The FAQ bot's answers waiting to be phrased by the AI model (the bot decides inside the
-- automation transaction; the model is asked after it, by a timer, which then sends the
-- phrased answer — or the plain one, `fallback`, when the model cannot help).
CREATE TABLE faq_bot_phrasings (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_bot_id INTEGER NOT NULL REFERENCES agent_bots (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES portal_articles (id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    question TEXT NOT NULL,
    url TEXT NOT NULL,
    fallback TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_faq_bot_phrasings_created ON faq_bot_phrasings (created_at);
