-- Full-text search over message content: a GIN index on the words of each message
-- ('simple' configuration: no language-specific stemming, since one account's customers
-- write in Portuguese, Polish and English). The query side asks for word prefixes.
CREATE INDEX ix_messages_fts ON messages
    USING GIN (to_tsvector('simple', COALESCE(content, '')));

-- Lists of every status sorted by activity (the "All" tab) read the index in order instead of
-- sorting the account's conversations.
CREATE INDEX ix_conversations_activity ON conversations (account_id, last_activity_at, id);
CREATE INDEX ix_conversations_status_activity_id ON conversations (account_id, status, last_activity_at, id);
-- The waiting-time sort of one status.
CREATE INDEX ix_conversations_status_waiting ON conversations (account_id, status, waiting_since, id);
