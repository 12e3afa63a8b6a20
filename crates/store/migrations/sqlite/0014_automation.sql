-- Automation rules, their execution log, and macros (issue #20). Keep in step with
-- ../postgres/0014_automation.sql.

-- Chatwoot's automation_rules: on `event_name`, when `conditions` (JSON list in Chatwoot's
-- filter language) hold, do `actions` (JSON list of {action_name, action_params}), stored as
-- the administrator wrote them. `delay_minutes` (Throughline's): act this long after the
-- event, if the conditions still hold then.
CREATE TABLE automation_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    event_name TEXT NOT NULL,
    conditions TEXT NOT NULL DEFAULT '[]',
    actions TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1,
    delay_minutes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_automation_rules_account ON automation_rules (account_id, event_name);

-- What each rule did: one row per (rule, outbox event) it matched, written in the transaction
-- that did the actions, so a redone batch finds it and does not act twice. `outcome`:
-- scheduled (delayed; `due_at`), acted, failed (some action could not be done; `detail`
-- says which and why), lapsed (delayed, and the conditions no longer held), stopped (a loop or
-- a too-long chain of rules was cut).
CREATE TABLE automation_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    rule_id INTEGER NOT NULL REFERENCES automation_rules (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    event_name TEXT NOT NULL,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    chain TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '[]',
    due_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_automation_runs__rule_id__event_id ON automation_runs (rule_id, event_id);
CREATE INDEX ix_automation_runs_rule ON automation_runs (rule_id, id);
CREATE INDEX ix_automation_runs_due ON automation_runs (outcome, due_at);

-- The rules whose actions caused an event (comma-separated ids, oldest first; NULL: not
-- caused by automation). Rules never run on an event they caused, and chains are cut short.
ALTER TABLE outbox_events ADD COLUMN automation_chain TEXT;

-- Chatwoot's macros: a named list of actions (as automation rules hold them) an agent runs on
-- a conversation. `visibility`: global (the account's) or personal (its author's only).
CREATE TABLE macros (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    visibility TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '[]',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_macros_account ON macros (account_id, visibility);
