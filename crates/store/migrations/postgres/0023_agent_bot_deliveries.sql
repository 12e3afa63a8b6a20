-- Events delivered to an agent bot's outgoing_url (issue #21): the bot a delivery goes to, so
-- the sender signs it with that bot's secret and a failure can hand the conversation over.
-- Keep in step with ../sqlite/0023_agent_bot_deliveries.sql.
ALTER TABLE deliveries ADD COLUMN agent_bot_id BIGINT REFERENCES agent_bots (id) ON DELETE CASCADE;

-- Throughline's built-in bots beside Chatwoot's `webhook` one (`faq`: answers from a help
-- center), with their settings.
ALTER TABLE agent_bots ADD COLUMN bot_type TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE agent_bots ADD COLUMN bot_config TEXT NOT NULL DEFAULT '{}';
