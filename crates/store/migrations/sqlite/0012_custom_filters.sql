-- Chatwoot operations of features Throughline already had (issue #17): saved filters, the
-- inbox's agent bot, and the Platform API's single-use sign-in links. Keep in step with
-- ../postgres/0012_custom_filters.sql.

-- A user's saved filters in one account (Chatwoot's custom_filters): `filter_type` is
-- conversation, contact or report; `query` the filter as the client saved it (JSON object).
CREATE TABLE custom_filters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    filter_type TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_custom_filters_owner ON custom_filters (account_id, user_id, filter_type);

-- The agent bot connected to an inbox (Chatwoot's agent_bot_inboxes): at most one per inbox.
CREATE TABLE agent_bot_inboxes (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_bot_id INTEGER NOT NULL REFERENCES agent_bots (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_agent_bot_inboxes_bot ON agent_bot_inboxes (agent_bot_id);

-- Single-use sign-in links a platform app asked for (`GET /platform/api/v1/users/{id}/login`):
-- only the SHA-256 of the token, deleted when used or swept when expired.
CREATE TABLE sso_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform_app_id INTEGER REFERENCES platform_apps (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_sso_tokens__token_hash ON sso_tokens (token_hash);
CREATE INDEX ix_sso_tokens_user ON sso_tokens (user_id);
