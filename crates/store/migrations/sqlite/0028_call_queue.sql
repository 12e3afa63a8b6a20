-- Calls answered by agents (issue #19): an agent's own phone, rung for queued calls; when a
-- caller entered the queue; and one row per agent rung for a call (its leg), so a call is
-- offered to the next agent after one who does not answer, and an agent whose phone rings or
-- who is on a call is given no other. At most one leg of a call rings at a time. Keep in
-- step with ../postgres/0028_call_queue.sql.
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE calls ADD COLUMN queued_at INTEGER;
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
