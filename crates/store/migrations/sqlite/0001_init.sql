-- Throughline schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql: the store
-- tests compare the two (same tables, same columns). Only INTEGER and TEXT column types are
-- used, because sqlx's Any driver maps nothing else on SQLite. Times are Unix milliseconds,
-- JSON is TEXT, flags are 0/1.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    locale TEXT NOT NULL DEFAULT 'en',
    domain TEXT,
    support_email TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    settings TEXT NOT NULL DEFAULT '{}',
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    conversation_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT,
    password_hash TEXT,
    avatar_url TEXT,
    message_signature TEXT,
    ui_settings TEXT NOT NULL DEFAULT '{}',
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    locale TEXT,
    pubsub_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_users__email ON users (email);
CREATE UNIQUE INDEX uq_users__pubsub_token ON users (pubsub_token);

CREATE TABLE account_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'online',
    auto_offline INTEGER NOT NULL DEFAULT 1,
    inviter_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_account_users__user_id ON account_users (account_id, user_id);
CREATE INDEX ix_account_users_user ON account_users (user_id);

CREATE TABLE agent_bots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    outgoing_url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE platform_apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE platform_app_permissibles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_app_id INTEGER NOT NULL REFERENCES platform_apps (id) ON DELETE CASCADE,
    permissible_type TEXT NOT NULL,
    permissible_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_platform_app_permissibles__permissible_id
    ON platform_app_permissibles (platform_app_id, permissible_type, permissible_id);

-- owner_type: user | agent_bot | platform_app. The token itself is never stored: only its
-- SHA-256 for lookup and the seed it is derived from with the server key.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_type TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL,
    token_seed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE UNIQUE INDEX uq_access_tokens__token_hash ON access_tokens (token_hash);
CREATE INDEX ix_access_tokens_owner ON access_tokens (owner_type, owner_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent TEXT,
    ip TEXT,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_sessions__token_hash ON sessions (token_hash);
CREATE INDEX ix_sessions_user ON sessions (user_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    allow_auto_assign INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_teams__name ON teams (account_id, name);

CREATE TABLE team_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_team_members__user_id ON team_members (team_id, user_id);
CREATE INDEX ix_team_members_user ON team_members (user_id);

CREATE TABLE inboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    avatar_url TEXT,
    greeting_enabled INTEGER NOT NULL DEFAULT 0,
    greeting_message TEXT,
    enable_auto_assignment INTEGER NOT NULL DEFAULT 1,
    allow_messages_after_resolved INTEGER NOT NULL DEFAULT 1,
    lock_to_single_conversation INTEGER NOT NULL DEFAULT 0,
    hmac_mandatory INTEGER NOT NULL DEFAULT 0,
    hmac_token_sealed TEXT NOT NULL,
    webhook_url TEXT,
    default_country TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_inboxes__identifier ON inboxes (identifier);
CREATE INDEX ix_inboxes_account ON inboxes (account_id);

CREATE TABLE inbox_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_inbox_members__user_id ON inbox_members (inbox_id, user_id);
CREATE INDEX ix_inbox_members_user ON inbox_members (user_id);

CREATE TABLE labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT,
    color TEXT NOT NULL DEFAULT '#1f93ff',
    show_on_sidebar INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_labels__title ON labels (account_id, title);

CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    short_code TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_canned_responses__short_code ON canned_responses (account_id, short_code);

CREATE TABLE custom_attribute_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    attribute_model TEXT NOT NULL,
    attribute_key TEXT NOT NULL,
    attribute_display_name TEXT NOT NULL,
    attribute_display_type TEXT NOT NULL,
    attribute_description TEXT,
    attribute_values TEXT NOT NULL DEFAULT '[]',
    default_value TEXT,
    regex_pattern TEXT,
    regex_cue TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_custom_attribute_definitions__attribute_key
    ON custom_attribute_definitions (account_id, attribute_model, attribute_key);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone_number TEXT,
    identifier TEXT,
    avatar_url TEXT,
    blocked INTEGER NOT NULL DEFAULT 0,
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    additional_attributes TEXT NOT NULL DEFAULT '{}',
    last_activity_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_contacts__email ON contacts (account_id, email);
CREATE UNIQUE INDEX uq_contacts__phone_number ON contacts (account_id, phone_number);
CREATE UNIQUE INDEX uq_contacts__identifier ON contacts (account_id, identifier);
CREATE INDEX ix_contacts_account_activity ON contacts (account_id, last_activity_at);

CREATE TABLE contact_labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    label TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_contact_labels__label ON contact_labels (contact_id, label);

CREATE TABLE contact_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_contact_notes_contact ON contact_notes (contact_id);

-- Every contact merge, with the merged-away contact as it was, so merges can be audited.
CREATE TABLE contact_merges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    base_contact_id INTEGER NOT NULL,
    mergee_contact_id INTEGER NOT NULL,
    mergee_snapshot TEXT NOT NULL,
    merged_by_user_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_contact_merges_base ON contact_merges (account_id, base_contact_id);

-- Identities: a contact's address in one inbox, plus its normalised form for linking.
CREATE TABLE contact_inboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    address_kind TEXT,
    address TEXT,
    hmac_verified INTEGER NOT NULL DEFAULT 0,
    pubsub_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_contact_inboxes__source_id ON contact_inboxes (inbox_id, source_id);
CREATE UNIQUE INDEX uq_contact_inboxes__pubsub_token ON contact_inboxes (pubsub_token);
CREATE INDEX ix_contact_inboxes_contact ON contact_inboxes (contact_id);
CREATE INDEX ix_contact_inboxes_address ON contact_inboxes (account_id, address_kind, address);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_id INTEGER NOT NULL,
    uuid TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    contact_inbox_id INTEGER REFERENCES contact_inboxes (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'open',
    snoozed_until INTEGER,
    priority TEXT,
    assignee_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    custom_attributes TEXT NOT NULL DEFAULT '{}',
    additional_attributes TEXT NOT NULL DEFAULT '{}',
    waiting_since INTEGER,
    first_reply_created_at INTEGER,
    last_activity_at INTEGER NOT NULL,
    agent_last_seen_at INTEGER,
    assignee_last_seen_at INTEGER,
    contact_last_seen_at INTEGER,
    muted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_conversations__display_id ON conversations (account_id, display_id);
CREATE UNIQUE INDEX uq_conversations__uuid ON conversations (uuid);
CREATE INDEX ix_conversations_status_activity ON conversations (account_id, status, last_activity_at);
CREATE INDEX ix_conversations_assignee ON conversations (account_id, assignee_id, status);
CREATE INDEX ix_conversations_inbox ON conversations (account_id, inbox_id, status);
CREATE INDEX ix_conversations_contact ON conversations (contact_id);
CREATE INDEX ix_conversations_snoozed ON conversations (status, snoozed_until);

CREATE TABLE conversation_labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_conversation_labels__label ON conversation_labels (conversation_id, label);
CREATE INDEX ix_conversation_labels_label ON conversation_labels (account_id, label);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    contact_inbox_id INTEGER REFERENCES contact_inboxes (id) ON DELETE SET NULL,
    message_type INTEGER NOT NULL,
    content TEXT,
    content_type TEXT NOT NULL DEFAULT 'text',
    content_attributes TEXT NOT NULL DEFAULT '{}',
    additional_attributes TEXT NOT NULL DEFAULT '{}',
    private INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'sent',
    external_error TEXT,
    source_id TEXT,
    sender_type TEXT,
    sender_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A provider's retry of the same message id lands on this index instead of a second row.
CREATE UNIQUE INDEX uq_messages__source_id ON messages (inbox_id, source_id);
CREATE INDEX ix_messages_conversation ON messages (conversation_id, id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    file_type TEXT NOT NULL,
    content_type TEXT,
    file_name TEXT,
    byte_size INTEGER NOT NULL DEFAULT 0,
    blob_key TEXT,
    external_url TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_attachments_message ON attachments (message_id);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER REFERENCES inboxes (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    name TEXT,
    subscriptions TEXT NOT NULL DEFAULT '[]',
    secret_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_webhooks_account ON webhooks (account_id);

-- One row per (target, event): the fan-out writes these exactly once, in the same
-- transaction that moves its cursor; the sender then works through them with retries.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    webhook_id INTEGER REFERENCES webhooks (id) ON DELETE CASCADE,
    inbox_id INTEGER REFERENCES inboxes (id) ON DELETE CASCADE,
    message_id INTEGER,
    event_id INTEGER NOT NULL,
    event_name TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    last_status_code INTEGER,
    delivered_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_deliveries__event_id ON deliveries (target, event_id);
CREATE INDEX ix_deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX ix_deliveries_webhook ON deliveries (webhook_id, created_at);

-- The transactional outbox. tx_order is 0 on SQLite (one writer: id order is commit order);
-- on PostgreSQL it is the writing transaction's id, so readers can wait for slower commits.
CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_order INTEGER NOT NULL DEFAULT 0,
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    conversation_id INTEGER,
    contact_id INTEGER,
    inbox_id INTEGER,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_outbox_events_order ON outbox_events (tx_order, id);

CREATE TABLE consumer_cursors (
    consumer TEXT PRIMARY KEY,
    tx_order INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
