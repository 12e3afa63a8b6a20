-- Privacy tools (issue #18): a contact's data exports, erasure receipts, blobs waiting to be
-- deleted, and what the retention policy has anonymised. Keep in step with
-- ../postgres/0009_privacy.sql.

-- An export of one contact's data, built by a timer into a zip kept in the blob store until it
-- expires. No foreign key on the contact: when it is deleted, the timer removes the export and
-- its file (a cascade would forget the file).
CREATE TABLE privacy_exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL,
    requested_by INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    done_steps INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    blob_key TEXT,
    byte_size INTEGER,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    expires_at INTEGER
);
CREATE INDEX ix_privacy_exports_state ON privacy_exports (state, lease_until);
CREATE INDEX ix_privacy_exports_contact ON privacy_exports (account_id, contact_id);

-- Proof of an erasure (a contact, or a retention pass): what kinds of records went and how
-- many, when and at whose request. Counts only: nothing of what was erased.
CREATE TABLE erasure_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    contact_id INTEGER,
    requested_by INTEGER,
    counts TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_erasure_receipts_account ON erasure_receipts (account_id, id);

-- Files of erased records, written in the erasure's transaction and deleted from the blob
-- store after it commits; what a crash or an outage leaves here is retried by a timer.
CREATE TABLE blob_purges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Set when the retention policy anonymised the row (done once).
ALTER TABLE conversations ADD COLUMN anonymised_at INTEGER;
ALTER TABLE contacts ADD COLUMN anonymised_at INTEGER;
CREATE INDEX ix_conversations_retention ON conversations (account_id, status, resolved_at);

-- Deleting a message takes its words out of the full-text index at once, instead of leaving
-- them in older index segments until they happen to be merged.
INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
