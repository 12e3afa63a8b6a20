-- Greeting and out-of-office replies, SLA policies and their clocks, CSAT/NPS answers
-- (issue #20). Keep in step with ../postgres/0015_sla_csat.sql.

-- The automatic replies a conversation got, one row per key ('greeting'; 'out_of_office:<when
-- the inbox opens again>'), written in the transaction that sends the reply: a redone batch
-- or a second process finds the row and does not send again.
CREATE TABLE auto_replies (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reply_key TEXT NOT NULL,
    message_id INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, reply_key)
);

-- Chatwoot's sla_policies: thresholds in seconds (NULL: not measured). Throughline's:
-- `warning_percent` (a warning when that share of a threshold is used up), and the inboxes
-- and labels whose conversations get the policy without an automation rule (JSON lists).
CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    first_response_time_threshold INTEGER,
    next_response_time_threshold INTEGER,
    resolution_time_threshold INTEGER,
    only_during_business_hours INTEGER NOT NULL DEFAULT 0,
    warning_percent INTEGER NOT NULL DEFAULT 80,
    inbox_ids TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_sla_policies_account ON sla_policies (account_id);

-- A policy at work on one conversation (Chatwoot's applied_slas). `timers`: the core's
-- `sla::Timers` as JSON; `next_check_at`: when a warning or breach is next due (NULL: none).
-- `sla_status`: active, hit, missed, active_with_misses.
CREATE TABLE applied_slas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sla_policy_id INTEGER NOT NULL REFERENCES sla_policies (id) ON DELETE CASCADE,
    sla_status TEXT NOT NULL,
    timers TEXT NOT NULL,
    next_check_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_applied_slas__conversation_id ON applied_slas (conversation_id);
CREATE INDEX ix_applied_slas_due ON applied_slas (next_check_at);
CREATE INDEX ix_applied_slas_policy ON applied_slas (account_id, sla_policy_id);

-- Warnings and breaches (Chatwoot's sla_events keep misses only): `event_type` frt, nrt, rt;
-- `kind` warning or breach.
CREATE TABLE sla_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    applied_sla_id INTEGER NOT NULL REFERENCES applied_slas (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sla_policy_id INTEGER NOT NULL REFERENCES sla_policies (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_sla_events_conversation ON sla_events (conversation_id, id);

-- Survey answers (Chatwoot's csat_survey_responses; NPS is Throughline's): one per survey
-- message. `rating` 1–5 (csat) or 0–10 (nps); `answered_via`: widget, link, reply; `late`:
-- answered after the survey's answer period.
CREATE TABLE csat_survey_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    assigned_agent_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    survey_type TEXT NOT NULL,
    rating INTEGER NOT NULL,
    feedback_message TEXT,
    answered_via TEXT NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_csat_survey_responses__message_id ON csat_survey_responses (message_id);
CREATE INDEX ix_csat_survey_responses_account ON csat_survey_responses (account_id, created_at);
