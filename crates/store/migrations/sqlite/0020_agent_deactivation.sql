-- An agent deactivated in an account (issue #16): the membership stays (their name on past
-- conversations, their inboxes and teams for when they come back), but the account refuses
-- them, routing skips them and their open conversations were unassigned. Keep in step with
-- ../postgres/0020_agent_deactivation.sql.
ALTER TABLE account_users ADD COLUMN deactivated_at INTEGER;
