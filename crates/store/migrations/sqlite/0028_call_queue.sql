-- Calls answered by agents (issue #19): an agent's own phone, rung for queued calls; when a
-- caller entered the queue; and one row per agent rung for a call (its leg), so a call is
-- offered to the next agent after one who does not answer, and an agent whose phone rings or
-- who is on a call is given no other. At most one leg of a call rings at a time. Callers who
-- asked to be called back (from the IVR, the widget, or an agent for them) wait in
-- `callback_requests` until an agent places the call. Keep in
-- step with ../postgres/0028_call_queue.sql.
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE calls ADD COLUMN queued_at INTEGER;
ALTER TABLE calls ADD COLUMN callback_requested_at INTEGER;
CREATE TABLE call_legs (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    call_id INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    agent_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    provider_id TEXT,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE UNIQUE INDEX uq_call_legs__one_ringing ON call_legs (call_id) WHERE state = 'ringing';
CREATE INDEX ix_call_legs_call ON call_legs (call_id);
CREATE INDEX ix_call_legs_account_state ON call_legs (account_id, state);
CREATE TABLE callback_requests (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    contact_id INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    phone TEXT NOT NULL,
    source TEXT NOT NULL,
    note TEXT,
    preferred_at INTEGER,
    state TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    from_call_id INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    call_id INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_callback_requests_account_state ON callback_requests (account_id, state, requested_at);
