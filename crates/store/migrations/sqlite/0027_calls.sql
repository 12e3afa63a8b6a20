-- Phone calls (issue #19): one row per call, keyed by the provider's id within its inbox, so a
-- repeated webhook finds the call it named. Its progress (`state`, the last provider report's
-- `last_sequence`), how it ended (`outcome`), the menu's team, the voicemail message left on
-- the caller's conversation, and the times reports read. Keep in step with
-- ../postgres/0027_calls.sql.
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    provider_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    agent_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    started_at INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at INTEGER,
    duration_seconds INTEGER,
    voicemail_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    last_sequence INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_calls__inbox_provider ON calls (inbox_id, provider_id);
CREATE INDEX ix_calls_account_started ON calls (account_id, started_at);
CREATE INDEX ix_calls_conversation ON calls (conversation_id);
