-- Files an agent uploads for the help center (Chatwoot's `POST …/upload`): portal logos and
-- images in articles. Public by capability: `token` is random and unguessable, and the file is
-- served at /uploads/{id}/{token}/{file_name}. Only images are accepted (checked by their bytes).
-- A portal's logo is one of its account's uploads. Keep in step with ../postgres/0026_uploads.sql.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blob_key TEXT NOT NULL,
    token TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    byte_size INTEGER NOT NULL,
    uploaded_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_uploads_account ON uploads (account_id);

ALTER TABLE portals ADD COLUMN logo_upload_id INTEGER REFERENCES uploads (id) ON DELETE SET NULL;
