-- A stored message (a canned response, a welcome or an automatic message)
-- keeps its file: the upload's row is held by it (held_by names the holder,
-- like "canned:12"), so the cleanup of uploads never sent leaves the row and
-- its file. Each send copies the row for its message.
ALTER TABLE attachments ADD COLUMN held_by TEXT;
CREATE INDEX attachments_held ON attachments (held_by) WHERE held_by IS NOT NULL;

-- Canned responses: company presets (owner_id NULL, made by admins) and an
-- agent's own. The short code is unique per owner whatever its case
-- (code_key is it lower-cased); message is the stored message (reply.Message
-- as JSON); search is the code and the words of the message, lower-cased,
-- for the search by part of them.
CREATE TABLE canned_responses (
	id         INTEGER PRIMARY KEY,
	owner_id   INTEGER REFERENCES users (id) ON DELETE CASCADE,
	short_code TEXT NOT NULL,
	code_key   TEXT NOT NULL,
	message    TEXT NOT NULL,
	search     TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX canned_responses_code ON canned_responses (COALESCE(owner_id, 0), code_key);
