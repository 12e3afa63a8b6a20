-- Conversation search at 100,000 conversations (issue #22). Finding conversations through the
-- message index meant visiting every matching message to learn its conversation (a common
-- word is in 200,000 messages at that scale); these tables answer "which conversations" and
-- "which contacts" directly. Keep in step with ../postgres/0022_search_at_scale.sql.

-- The words of each conversation's messages, once per conversation, as store::search::terms
-- splits and folds them (the store adds a message's words when it writes the message and
-- rebuilds a conversation's words when a message's text is removed or moved).
CREATE TABLE conversation_terms (
    account_id INTEGER NOT NULL,
    term TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, term, conversation_id)
) WITHOUT ROWID;
CREATE INDEX ix_conversation_terms_conversation ON conversation_terms (conversation_id);

-- Existing messages: the message index's own words (unicode61 folds the same diacritics and
-- the index was given ł as l), cut to the 64 characters the store keeps of a word.
CREATE VIRTUAL TABLE temp.messages_fts_words USING fts5vocab(main, messages_fts, instance);
INSERT OR IGNORE INTO conversation_terms (account_id, term, conversation_id)
    SELECT m.account_id, substr(w.term, 1, 64), m.conversation_id
    FROM temp.messages_fts_words w JOIN messages m ON m.id = w.doc;
DROP TABLE temp.messages_fts_words;

-- Contacts found by any part of their name, email or phone (three characters or more) through
-- a trigram index instead of reading every contact; "jose" also finds "José". As for messages,
-- the index is given ł as l, which has no decomposition to remove (store::search folds the
-- query the same way).
CREATE VIRTUAL TABLE contacts_trgm USING fts5(
    name, email, phone_number,
    content = 'contacts',
    content_rowid = 'id',
    tokenize = 'trigram remove_diacritics 1'
);
INSERT INTO contacts_trgm (rowid, name, email, phone_number)
    SELECT id, replace(replace(name, 'ł', 'l'), 'Ł', 'L'), replace(replace(email, 'ł', 'l'), 'Ł', 'L'), phone_number FROM contacts;
CREATE TRIGGER contacts_trgm_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_trgm (rowid, name, email, phone_number)
    VALUES (new.id, replace(replace(new.name, 'ł', 'l'), 'Ł', 'L'), replace(replace(new.email, 'ł', 'l'), 'Ł', 'L'), new.phone_number);
END;
CREATE TRIGGER contacts_trgm_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_trgm (contacts_trgm, rowid, name, email, phone_number)
    VALUES ('delete', old.id, replace(replace(old.name, 'ł', 'l'), 'Ł', 'L'), replace(replace(old.email, 'ł', 'l'), 'Ł', 'L'), old.phone_number);
END;
CREATE TRIGGER contacts_trgm_update AFTER UPDATE OF name, email, phone_number ON contacts BEGIN
    INSERT INTO contacts_trgm (contacts_trgm, rowid, name, email, phone_number)
    VALUES ('delete', old.id, replace(replace(old.name, 'ł', 'l'), 'Ł', 'L'), replace(replace(old.email, 'ł', 'l'), 'Ł', 'L'), old.phone_number);
    INSERT INTO contacts_trgm (rowid, name, email, phone_number)
    VALUES (new.id, replace(replace(new.name, 'ł', 'l'), 'Ł', 'L'), replace(replace(new.email, 'ł', 'l'), 'Ł', 'L'), new.phone_number);
END;

-- Chatwoot's per-tab counts (mine, unassigned, all) without counting conversations: every
-- change of a conversation's status, assignee, inbox or team adds a row of +1 for where it is
-- now and -1 for where it was (0 for "none"), so a count sums a few rows. Rows are only ever
-- added by the triggers, never updated, so writers never wait on one another for a hot row;
-- store::conversations::compact_tallies folds them into one row per key now and then.
CREATE TABLE conversation_tallies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    assignee_id INTEGER NOT NULL,
    n INTEGER NOT NULL
);
CREATE INDEX ix_conversation_tallies ON conversation_tallies
    (account_id, status, inbox_id, team_id, assignee_id, n);
INSERT INTO conversation_tallies (account_id, inbox_id, team_id, status, assignee_id, n)
    SELECT account_id, inbox_id, COALESCE(team_id, 0), status, COALESCE(assignee_id, 0), COUNT(*)
    FROM conversations GROUP BY account_id, inbox_id, COALESCE(team_id, 0), status,
        COALESCE(assignee_id, 0);
CREATE TRIGGER conversation_tallies_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_tallies (account_id, inbox_id, team_id, status, assignee_id, n)
    VALUES (new.account_id, new.inbox_id, COALESCE(new.team_id, 0), new.status,
        COALESCE(new.assignee_id, 0), 1);
END;
CREATE TRIGGER conversation_tallies_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversation_tallies (account_id, inbox_id, team_id, status, assignee_id, n)
    VALUES (old.account_id, old.inbox_id, COALESCE(old.team_id, 0), old.status,
        COALESCE(old.assignee_id, 0), -1);
END;
CREATE TRIGGER conversation_tallies_update AFTER UPDATE OF status, assignee_id, inbox_id, team_id
    ON conversations
    WHEN old.status IS NOT new.status OR old.assignee_id IS NOT new.assignee_id
        OR old.inbox_id IS NOT new.inbox_id OR old.team_id IS NOT new.team_id
BEGIN
    INSERT INTO conversation_tallies (account_id, inbox_id, team_id, status, assignee_id, n)
    VALUES (old.account_id, old.inbox_id, COALESCE(old.team_id, 0), old.status,
        COALESCE(old.assignee_id, 0), -1),
        (new.account_id, new.inbox_id, COALESCE(new.team_id, 0), new.status,
        COALESCE(new.assignee_id, 0), 1);
END;

-- The waiting-time sort ("(waiting_since IS NULL), waiting_since, id") of one status reads this
-- index in order instead of sorting every open conversation.
DROP INDEX ix_conversations_status_waiting;
CREATE INDEX ix_conversations_status_waiting ON conversations
    (account_id, status, (waiting_since IS NULL), waiting_since, id);
