-- Links that let a user choose a password (issue #16): an invitation an administrator sent, or
-- a reset the user asked for. Keep in step with ../postgres/0018_password_links.sql.
-- Only the SHA-256 of the token is kept; a link is spent by deleting its row.
CREATE TABLE password_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_password_links__token_hash ON password_links (token_hash);
CREATE INDEX ix_password_links_user ON password_links (user_id, purpose);
