-- What anonymous visitors may leave behind. A web chat session gets its
-- contact with the visitor's first message, not when it starts: until then
-- it keeps the identity and profile the contact will get, and sessions
-- that never wrote are pruned. Uploads not yet sent keep the address they
-- came from, so that a visitor's and an address's can be capped.

-- SQLite cannot drop NOT NULL in place: the table is rebuilt (nothing
-- refers to it).
CREATE TABLE webchat_visitors_new (
	id           INTEGER PRIMARY KEY,
	inbox_id     INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	-- NULL until the visitor's first message
	contact_id   INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
	token_hash   TEXT NOT NULL UNIQUE,
	identifier   TEXT,
	-- the contact's identity on the inbox ("visitor:…" or "user:…") and
	-- the profile given at the start, for the first message
	external_id  TEXT NOT NULL DEFAULT '',
	name         TEXT NOT NULL DEFAULT '',
	email        TEXT,
	created_at   DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL
);
INSERT INTO webchat_visitors_new (id, inbox_id, contact_id, token_hash, identifier, created_at, last_seen_at)
	SELECT id, inbox_id, contact_id, token_hash, identifier, created_at, last_seen_at FROM webchat_visitors;
DROP TABLE webchat_visitors;
ALTER TABLE webchat_visitors_new RENAME TO webchat_visitors;
CREATE INDEX webchat_visitors_contact ON webchat_visitors (contact_id);
CREATE INDEX webchat_visitors_silent ON webchat_visitors (created_at) WHERE contact_id IS NULL;

-- The client address of an anonymous upload, while it is not sent.
ALTER TABLE attachments ADD COLUMN client_ip TEXT;
CREATE INDEX attachments_unattached_uploader ON attachments (uploader) WHERE message_id IS NULL;
CREATE INDEX attachments_unattached_ip ON attachments (client_ip) WHERE message_id IS NULL AND client_ip IS NOT NULL;
