-- Calls from the website widget (issue #19): a call is by phone or from the widget, voice or
-- video (`medium`); a visitor is in one widget call at a time, so a second tab or a repeated
-- click cannot ring agents twice. Keep in step with ../postgres/0029_web_calls.sql.
ALTER TABLE calls ADD COLUMN medium TEXT NOT NULL DEFAULT 'phone';
CREATE UNIQUE INDEX uq_calls__one_live_web_call ON calls (contact_id)
    WHERE medium <> 'phone' AND ended_at IS NULL;
