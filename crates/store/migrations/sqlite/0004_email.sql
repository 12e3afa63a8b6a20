-- The email channel (issue #4). Keep in step with ../postgres/0004_email.sql.

-- One row per email inbox: its address and how it sends (SMTP) and fetches (IMAP). Passwords
-- are sealed with the server key; the API never returns them.
CREATE TABLE email_channels (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    signature TEXT,
    smtp_enabled INTEGER NOT NULL DEFAULT 0,
    smtp_address TEXT,
    smtp_port INTEGER,
    smtp_login TEXT,
    smtp_password_sealed TEXT,
    smtp_domain TEXT,
    smtp_enable_ssl_tls INTEGER NOT NULL DEFAULT 0,
    smtp_enable_starttls_auto INTEGER NOT NULL DEFAULT 1,
    imap_enabled INTEGER NOT NULL DEFAULT 0,
    imap_address TEXT,
    imap_port INTEGER,
    imap_login TEXT,
    imap_password_sealed TEXT,
    imap_enable_ssl INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- The SMTP receiver routes by address across accounts: an address belongs to one inbox.
CREATE UNIQUE INDEX uq_email_channels__email ON email_channels (email);
CREATE INDEX ix_email_channels_account ON email_channels (account_id);

-- Every Message-ID we sent or received, for threading by In-Reply-To/References, with the raw
-- message's blob (inbound) so a message can be re-processed.
CREATE TABLE email_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    header_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    subject TEXT,
    raw_blob_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_email_messages__header_id ON email_messages (inbox_id, header_id);
CREATE INDEX ix_email_messages_lookup ON email_messages (account_id, header_id);
CREATE INDEX ix_email_messages_conversation ON email_messages (conversation_id, id);

-- IMAP polling: where each mailbox was read up to.
CREATE TABLE email_imap_state (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    mailbox TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_email_imap_state__mailbox ON email_imap_state (inbox_id, mailbox);
