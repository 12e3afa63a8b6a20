-- Voicemails waiting for the AI assistant's speech-to-text model (issue #19). A row is queued by
-- the automation consumer in the transaction that moves its cursor past the voicemail's
-- `message_created` event, so none is lost or queued twice; a timer asks the model outside any
-- transaction, writes the transcript on the message and deletes the row in one transaction, and
-- while the model is slow, busy or down tries again with back-off (`attempts`,
-- `next_attempt_at`, which also holds a claim while the model is being asked). `language`: the
-- language of the IVR the caller heard, when the inbox names one (the model's hint).
-- Keep in step with ../postgres/0030_voicemail_transcriptions.sql.
CREATE TABLE voicemail_transcriptions (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    language TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_voicemail_transcriptions__message ON voicemail_transcriptions (message_id);
CREATE INDEX ix_voicemail_transcriptions_due ON voicemail_transcriptions (next_attempt_at);
