-- Journey campaigns: a message or survey some time after a business event (issue #20).
-- Keep in step with ../postgres/0016_journeys.sql.

-- `rules`: the campaign as the administrator wrote it (trigger, delay, cancelling events,
-- content, quiet hours, frequency cap, WhatsApp template), checked by core::journey.
CREATE TABLE journey_campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    trigger_event_type TEXT NOT NULL,
    rules TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_journey_campaigns_trigger ON journey_campaigns (account_id, trigger_event_type);

-- One send per (campaign, contact, business event), whatever retries or processes do.
-- `status`: scheduled (due at `due_at`), sent, skipped (why in `detail`), cancelled (a
-- cancelling event arrived).
CREATE TABLE journey_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES journey_campaigns (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    business_event_id INTEGER NOT NULL REFERENCES business_events (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    detail TEXT,
    inbox_id INTEGER,
    message_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_journey_sends__campaign_contact_event ON journey_sends (campaign_id, contact_id, business_event_id);
CREATE INDEX ix_journey_sends_due ON journey_sends (status, due_at);
CREATE INDEX ix_journey_sends_contact ON journey_sends (contact_id, status, updated_at);

-- The channels a contact asked not to be contacted through by campaigns (a channel type's
-- short name, or `all`).
CREATE TABLE contact_opt_outs (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel)
);
