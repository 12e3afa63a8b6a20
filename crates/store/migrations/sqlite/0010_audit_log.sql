-- The audit log (issue #18): who did what to which record of an account, when and from where,
-- with the changed fields before and after (secrets only as "[changed]"). Append-only: rows
-- are written in the transaction of the change they record and never changed; the retention
-- timer deletes the old ones. Keep in step with ../postgres/0010_audit_log.sql.
CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Chatwoot's names: Account, AccountUser, User, Inbox, InboxMember, Team, TeamMember,
    -- Webhook, AgentBot, CustomAttributeDefinition, Contact, Conversation.
    auditable_type TEXT NOT NULL,
    auditable_id INTEGER NOT NULL,
    -- What the record was called when this happened (JSON object), so a deleted record can be
    -- named; never a customer's details.
    auditable TEXT NOT NULL DEFAULT '{}',
    action TEXT NOT NULL,
    -- JSON object: {field: value} for create/destroy, {field: [before, after]} for update.
    audited_changes TEXT NOT NULL DEFAULT '{}',
    -- Who: a user or an agent bot (no foreign key: the entry outlives them), or nobody for the
    -- system; username is the user's email (or the bot's name) at the time.
    user_id INTEGER,
    user_type TEXT,
    username TEXT,
    remote_address TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_audit_logs_account ON audit_logs (account_id, id);
CREATE INDEX ix_audit_logs_created ON audit_logs (account_id, created_at);

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit log entries are never changed');
END;
