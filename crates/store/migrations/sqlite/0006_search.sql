-- Full-text search over message content, kept in the same transaction as the messages
-- (triggers), so a stored message is searchable at once and nothing is indexed twice.
-- unicode61 with diacritics removed: "pedido", "naprawa" and "estorno" match their accented
-- and inflected spellings' prefixes; the query side asks for word prefixes.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

-- Lists of every status sorted by activity (the "All" tab) read the index in order instead of
-- sorting the account's conversations.
CREATE INDEX ix_conversations_activity ON conversations (account_id, last_activity_at, id);
-- The waiting-time sort of one status.
CREATE INDEX ix_conversations_status_waiting ON conversations (account_id, status, waiting_since, id);
