-- Membership by consent (issue #18). Keep in step with ../sqlite/0008_invitations.sql.

-- An administrator adding the email of a user who already exists (in another account) invites
-- them: nothing is granted until that user accepts from their profile. Until then the account
-- sees only what its administrator typed, as for a brand-new agent.
CREATE TABLE account_invitations (
    -- Drawn from the users' id sequence, so the pending agent carries the id a new user would.
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'online',
    auto_offline BOOLEAN NOT NULL DEFAULT TRUE,
    inviter_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_account_invitations__user_id ON account_invitations (account_id, user_id);
CREATE INDEX ix_account_invitations_user ON account_invitations (user_id);

-- Chatwoot's `confirmed`: set when the user first signs in or accepts an invitation. Users who
-- exist already count as confirmed, as they were shown before.
ALTER TABLE users ADD COLUMN confirmed_at BIGINT;
UPDATE users SET confirmed_at = created_at;
