-- Messaging providers (issue #14). Keep in step with ../postgres/0007_providers.sql.

-- One row per SMS, WhatsApp, Telegram, Messenger or Instagram inbox: its provider's settings,
-- sealed whole with the server key (tokens and secrets are never returned), and the key the
-- provider's webhooks name it by (Twilio account + number, WhatsApp number digits, the
-- digest of a Telegram bot token, a page id).
CREATE TABLE provider_channels (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    route_key TEXT NOT NULL,
    -- SHA-256 of the subscription handshake token, for Meta's GET that names no page.
    verify_token_digest TEXT,
    settings_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A provider's webhook finds exactly one inbox across accounts.
CREATE UNIQUE INDEX uq_provider_channels__route ON provider_channels (provider, route_key);
CREATE INDEX ix_provider_channels_account ON provider_channels (account_id);
CREATE INDEX ix_provider_channels_verify ON provider_channels (verify_token_digest);

-- A provider's status report for a message id we have not recorded yet (the callback can
-- outrun the answer to our send): applied when the send records its id, so none is lost.
CREATE TABLE provider_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    provider_message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_provider_receipts_message ON provider_receipts (inbox_id, provider_message_id);

-- A file a customer sent that the provider would not hand over yet (a timeout, a 5xx): the
-- message is stored saying so, and the download is retried with back-off until it works or
-- is given up (then the message says why).
CREATE TABLE pending_media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    handle TEXT NOT NULL,
    content_type TEXT,
    file_name TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_pending_media_due ON pending_media (next_attempt_at);
CREATE INDEX ix_provider_receipts_age ON provider_receipts (created_at);
