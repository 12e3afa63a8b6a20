-- Routing's settings (issue #15). Keep in step with ../sqlite/0013_routing.sql.

-- An account's routing settings: the JSON document behind GET|PUT …/routing/settings
-- (throughline_core::routing::RoutingSettings). No row: the defaults.
CREATE TABLE routing_settings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An agent's own capacity per channel kind and skills in one account
-- (throughline_core::routing::AgentProfile as JSON). No row: the account's capacity, no skills.
CREATE TABLE agent_routing (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

-- Chatwoot's auto_assignment_config.max_assignment_limit: at most this many open
-- conversations of the inbox per agent from auto-assignment (NULL: no limit beyond capacity).
ALTER TABLE inboxes ADD COLUMN auto_assignment_limit BIGINT;

-- Conversations offered to agents in offer/accept mode. A pending offer holds the
-- conversation (it is not waiting) and counts as the agent's load until accepted, declined or
-- expired; a declined or expired one keeps the conversation from being offered to that agent
-- again for a while.
CREATE TABLE routing_offers (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX ix_routing_offers_account ON routing_offers (account_id, state, expires_at);

-- Who is present on which running instance (`throughline serve` process), so that every
-- instance routes to and shows the agents connected to the others. Each instance keeps its
-- own rows fresh (seen_at) while its agents are connected; rows not refreshed for a while are
-- an instance that stopped.
CREATE TABLE agent_presence (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    instance TEXT NOT NULL,
    status TEXT NOT NULL,
    since BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id, instance)
);
CREATE INDEX ix_agent_presence_instance ON agent_presence (instance);
