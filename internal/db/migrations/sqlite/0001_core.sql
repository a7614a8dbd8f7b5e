-- Core schema: people, inboxes, contacts, conversations, messages, the event
-- log and durable jobs. Times are UTC, written by the driver as
-- "YYYY-MM-DD HH:MM:SS.ffffff+00:00", which sorts as text.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'inbox_manager', 'service', 'sales')),
	password_hash TEXT NOT NULL,
	created_at    DATETIME NOT NULL,
	updated_at    DATETIME NOT NULL
);

CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash   TEXT NOT NULL UNIQUE,
	user_agent   TEXT NOT NULL DEFAULT '',
	ip           TEXT NOT NULL DEFAULT '',
	created_at   DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL,
	expires_at   DATETIME NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	created_at   DATETIME NOT NULL,
	last_used_at DATETIME,
	revoked_at   DATETIME
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed logins per key ("email:…", "ip:…"), shared by every node.
CREATE TABLE login_attempts (
	key           TEXT PRIMARY KEY,
	failures      INTEGER NOT NULL,
	blocked_until DATETIME NOT NULL,
	updated_at    DATETIME NOT NULL
);

CREATE TABLE inboxes (
	id           INTEGER PRIMARY KEY,
	type         TEXT NOT NULL CHECK (type IN ('webchat', 'whatsapp')),
	name         TEXT NOT NULL,
	public_token TEXT UNIQUE,
	settings     TEXT NOT NULL DEFAULT '{}',
	secrets      TEXT NOT NULL DEFAULT '',
	created_at   DATETIME NOT NULL,
	updated_at   DATETIME NOT NULL
);

CREATE TABLE inbox_members (
	inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (inbox_id, user_id)
);
CREATE INDEX inbox_members_user ON inbox_members (user_id, inbox_id);

CREATE TABLE contacts (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	phone      TEXT,
	email      TEXT,
	owner_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE INDEX contacts_phone ON contacts (phone);
CREATE INDEX contacts_email ON contacts (email);
CREATE INDEX contacts_owner ON contacts (owner_id);

CREATE TABLE contact_tags (
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	tag        TEXT NOT NULL,
	PRIMARY KEY (contact_id, tag)
);

-- A contact's identity on one inbox: a web chat visitor, a WhatsApp user.
CREATE TABLE contact_identities (
	id          INTEGER PRIMARY KEY,
	contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	inbox_id    INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	external_id TEXT NOT NULL,
	created_at  DATETIME NOT NULL,
	UNIQUE (inbox_id, external_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
	id                       INTEGER PRIMARY KEY,
	inbox_id                 INTEGER NOT NULL REFERENCES inboxes (id),
	contact_id               INTEGER NOT NULL REFERENCES contacts (id),
	status                   TEXT NOT NULL CHECK (status IN ('open', 'closed')),
	assignee_id              INTEGER REFERENCES users (id) ON DELETE SET NULL,
	-- the contact's owner, copied here so "assigned to me or owned by me"
	-- is two index range scans
	owner_id                 INTEGER REFERENCES users (id) ON DELETE SET NULL,
	started_by               TEXT NOT NULL CHECK (started_by IN ('customer', 'agent')),
	last_message_id          INTEGER NOT NULL DEFAULT 0,
	last_message_preview     TEXT NOT NULL DEFAULT '',
	last_activity_at         DATETIME NOT NULL,
	last_customer_message_at DATETIME,
	last_agent_message_at    DATETIME,
	closed_at                DATETIME,
	created_at               DATETIME NOT NULL,
	updated_at               DATETIME NOT NULL
);
-- At most one open conversation per contact and inbox.
CREATE UNIQUE INDEX conversations_open ON conversations (inbox_id, contact_id) WHERE status = 'open';
CREATE INDEX conversations_activity ON conversations (last_activity_at, id);
CREATE INDEX conversations_status ON conversations (status, last_activity_at, id);
CREATE INDEX conversations_inbox ON conversations (inbox_id, status, last_activity_at, id);
CREATE INDEX conversations_assignee ON conversations (assignee_id, status, last_activity_at, id);
CREATE INDEX conversations_owner ON conversations (owner_id, status, last_activity_at, id);
CREATE INDEX conversations_contact ON conversations (contact_id, id);

CREATE TABLE conversation_tags (
	conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	tag             TEXT NOT NULL,
	PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags (tag, conversation_id);

-- How far each user has read each conversation (for unread marks).
CREATE TABLE conversation_reads (
	user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	conversation_id      INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	last_read_message_id INTEGER NOT NULL,
	PRIMARY KEY (user_id, conversation_id)
);

CREATE TABLE messages (
	id                 INTEGER PRIMARY KEY,
	conversation_id    INTEGER NOT NULL REFERENCES conversations (id),
	inbox_id           INTEGER NOT NULL,
	direction          TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
	sender_type        TEXT NOT NULL CHECK (sender_type IN ('contact', 'agent', 'bot', 'system')),
	sender_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
	type               TEXT NOT NULL,
	text               TEXT NOT NULL DEFAULT '',
	content            TEXT NOT NULL DEFAULT '',
	status             TEXT NOT NULL,
	error_code         TEXT NOT NULL DEFAULT '',
	error_message      TEXT NOT NULL DEFAULT '',
	channel_message_id TEXT,
	idempotency_key    TEXT,
	reply_to_id        INTEGER,
	created_at         DATETIME NOT NULL,
	updated_at         DATETIME NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
-- Input delivered twice (a webhook, a visitor's retry) is stored once.
CREATE UNIQUE INDEX messages_channel_id ON messages (inbox_id, channel_message_id);
-- An agent's double click or retry sends once.
CREATE UNIQUE INDEX messages_idempotency ON messages (sender_id, idempotency_key);

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER REFERENCES messages (id) ON DELETE CASCADE,
	-- who uploaded it before it was attached: "user:ID" or "visitor:ID"
	uploader     TEXT NOT NULL,
	kind         TEXT NOT NULL,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	created_at   DATETIME NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE message_id IS NULL;

CREATE TABLE webchat_visitors (
	id           INTEGER PRIMARY KEY,
	inbox_id     INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	contact_id   INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	token_hash   TEXT NOT NULL UNIQUE,
	identifier   TEXT,
	created_at   DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL
);
CREATE INDEX webchat_visitors_contact ON webchat_visitors (contact_id);

-- The event log: every change agents must see, numbered without gaps in
-- commit order (event_seq is taken last in each writing transaction).
CREATE TABLE events (
	seq              INTEGER PRIMARY KEY,
	type             TEXT NOT NULL,
	user_id          INTEGER,
	inbox_id         INTEGER,
	conversation_id  INTEGER,
	contact_id       INTEGER,
	assignee_id      INTEGER,
	prev_assignee_id INTEGER,
	owner_id         INTEGER,
	public           BOOLEAN NOT NULL DEFAULT FALSE,
	data             TEXT NOT NULL,
	created_at       DATETIME NOT NULL
);

CREATE TABLE event_seq (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
);
INSERT INTO event_seq (id, value) VALUES (1, 0);

-- Durable jobs and timers: sends, retries, reminders. A job is claimed for a
-- lease; a node that dies lets the lease run out and another takes it.
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	dedup_key    TEXT UNIQUE,
	payload      TEXT NOT NULL DEFAULT '{}',
	run_at       DATETIME NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	locked_by    TEXT,
	locked_until DATETIME,
	failed_at    DATETIME,
	created_at   DATETIME NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE failed_at IS NULL;
