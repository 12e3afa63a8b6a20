-- Two-factor authentication (issue #18). Keep in step with ../postgres/0011_two_factor.sql.

-- A user's TOTP secret, sealed with the server key. `enabled_at` is set once a correct code
-- confirmed the enrolment (until then the secret is only offered); `last_used_step` is the
-- latest 30-second step a code was accepted for, so a code works once.
CREATE TABLE user_two_factor (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    enabled_at INTEGER,
    last_used_step INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Recovery codes: only a keyed hash (HMAC under the server key), each usable once.
CREATE TABLE user_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_user_recovery_codes__code_hash ON user_recovery_codes (user_id, code_hash);

-- The short-lived token between the password and the second factor at sign-in (Chatwoot's
-- `mfa_token`): only its SHA-256, deleted when used.
CREATE TABLE mfa_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_mfa_challenges__token_hash ON mfa_challenges (token_hash);
CREATE INDEX ix_mfa_challenges_user ON mfa_challenges (user_id);
