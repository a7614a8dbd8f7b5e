-- What anonymous visitors may leave behind. A web chat session gets its
-- contact with the visitor's first message, not when it starts: until then
-- it keeps the identity and profile the contact will get, and sessions
-- that never wrote are pruned. Uploads not yet sent keep the address they
-- came from, so that a visitor's and an address's can be capped.

-- NULL until the visitor's first message.
ALTER TABLE webchat_visitors ALTER COLUMN contact_id DROP NOT NULL;
-- The contact's identity on the inbox ("visitor:…" or "user:…") and the
-- profile given at the start, for the first message.
ALTER TABLE webchat_visitors ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webchat_visitors ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE webchat_visitors ADD COLUMN email TEXT;
CREATE INDEX webchat_visitors_silent ON webchat_visitors (created_at) WHERE contact_id IS NULL;

-- The client address of an anonymous upload, while it is not sent.
ALTER TABLE attachments ADD COLUMN client_ip TEXT;
CREATE INDEX attachments_unattached_uploader ON attachments (uploader) WHERE message_id IS NULL;
CREATE INDEX attachments_unattached_ip ON attachments (client_ip) WHERE message_id IS NULL AND client_ip IS NOT NULL;
