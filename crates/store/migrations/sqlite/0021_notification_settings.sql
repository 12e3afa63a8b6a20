-- What each agent wants by email (issue #16): Chatwoot's notification settings, per agent and
-- account, and when their last digest went out; a notification remembers that it was mailed.
-- Keep in step with ../postgres/0021_notification_settings.sql.
CREATE TABLE notification_settings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- JSON arrays of Chatwoot's flags (email_conversation_mention, push_…).
    email_flags TEXT NOT NULL,
    push_flags TEXT NOT NULL,
    last_digest_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_notification_settings ON notification_settings (account_id, user_id);

ALTER TABLE notifications ADD COLUMN emailed_at INTEGER;
CREATE INDEX ix_notifications_digest ON notifications (emailed_at, read_at, created_at);
