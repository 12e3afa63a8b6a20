-- Agents' notifications and conversation participants (issue #16). Keep in step with
-- ../postgres/0017_notifications.sql.

-- What an agent is told (Chatwoot's notifications): `notification_type` as core::notification
-- names it; the conversation is the primary actor, the message (when there is one) the
-- secondary. `event_id` is the outbox event that caused it: one notification per agent and
-- event, whichever process or replay writes it. An agent keeps one notification per
-- conversation (a newer one replaces the older), as Chatwoot's duplicate removal does.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    event_id INTEGER NOT NULL,
    read_at INTEGER,
    snoozed_until INTEGER,
    created_at INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_notifications_event ON notifications (user_id, event_id);
CREATE INDEX ix_notifications_owner ON notifications (account_id, user_id, last_activity_at);
CREATE INDEX ix_notifications_conversation ON notifications (conversation_id, user_id);
CREATE INDEX ix_notifications_message ON notifications (message_id);

-- Agents who follow a conversation besides its assignee (Chatwoot's conversation_participants):
-- added by hand, by a mention, or by being assigned; told of its new messages.
CREATE TABLE conversation_participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX ix_conversation_participants_user ON conversation_participants (account_id, user_id);
