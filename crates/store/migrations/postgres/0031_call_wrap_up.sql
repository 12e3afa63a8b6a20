-- After a call (issue #19): the agent's wrap-up — a disposition (the team's word for how it
-- went) and notes — and the recording of an answered phone call: the provider's recording,
-- and our copy once fetched (played through Throughline with the agent's rights, never from
-- the provider's address). Keep in step with ../sqlite/0031_call_wrap_up.sql.
ALTER TABLE calls ADD COLUMN disposition TEXT;
ALTER TABLE calls ADD COLUMN wrap_up_notes TEXT;
ALTER TABLE calls ADD COLUMN wrapped_up_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE calls ADD COLUMN wrapped_up_at BIGINT;
ALTER TABLE calls ADD COLUMN recording_provider_id TEXT;
ALTER TABLE calls ADD COLUMN recording_url TEXT;
ALTER TABLE calls ADD COLUMN recording_seconds BIGINT;
ALTER TABLE calls ADD COLUMN recording_blob TEXT;
