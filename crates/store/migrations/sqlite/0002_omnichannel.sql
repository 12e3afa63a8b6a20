-- One customer, one conversation across channels: proof behind identities, links between a
-- conversation and the one it continues, merge suggestions, conversation merges and splits,
-- and business events posted by other systems.

ALTER TABLE contact_inboxes ADD COLUMN address_proven INTEGER NOT NULL DEFAULT 0;
CREATE INDEX contact_inboxes_address ON contact_inboxes (account_id, address_kind, address);

ALTER TABLE conversations ADD COLUMN previous_conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN resolved_at INTEGER;
CREATE INDEX conversations_contact ON conversations (account_id, contact_id, last_activity_at);

CREATE TABLE merge_suggestions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    candidate_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    detail TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, contact_id, candidate_id)
);

CREATE TABLE conversation_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    from_conversation_id INTEGER NOT NULL,
    to_conversation_id INTEGER NOT NULL,
    message_ids TEXT NOT NULL,
    user_id INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE business_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    title TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, external_id)
);
CREATE INDEX business_events_contact ON business_events (account_id, contact_id, occurred_at);
