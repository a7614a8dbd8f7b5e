-- People: invitations, teams, profiles, two-factor authentication, notification
-- preferences, availability statuses and time in status.

-- Profile and preferences. Phones are E.164 ("" for none); preferences is a
-- JSON object (notification triggers, composer settings).
ALTER TABLE users ADD COLUMN public_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE users ADD COLUMN landline TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mobile TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';
-- The availability status now; status_intervals keeps the history.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'unavailable'
	CHECK (status IN ('available', 'away', 'unavailable', 'on_break', 'after_call_work', 'do_not_disturb', 'busy'));
-- A fingerprint of the avatar ('' for none), for cache-busting URLs.
ALTER TABLE users ADD COLUMN avatar_version TEXT NOT NULL DEFAULT '';

-- Avatars, re-encoded to 640×640 JPEG. In the database so that every node
-- serves them without a shared file system.
CREATE TABLE avatars (
	user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	image      BLOB NOT NULL,
	updated_at DATETIME NOT NULL
);

-- Every status a user has held, from when to when (ended_at NULL: now).
CREATE TABLE status_intervals (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status     TEXT NOT NULL,
	started_at DATETIME NOT NULL,
	ended_at   DATETIME
);
CREATE UNIQUE INDEX status_intervals_open ON status_intervals (user_id) WHERE ended_at IS NULL;
CREATE INDEX status_intervals_start ON status_intervals (started_at);
CREATE INDEX status_intervals_end ON status_intervals (ended_at);

-- Agents' WebSocket connections per node: a node refreshes seen_at while it
-- has connections; a row whose seen_at is old belongs to a node that died.
CREATE TABLE presence (
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	node        TEXT NOT NULL,
	connections INTEGER NOT NULL,
	seen_at     DATETIME NOT NULL,
	gone_at     DATETIME,
	PRIMARY KEY (user_id, node)
);
CREATE INDEX presence_node ON presence (node);

-- Automatic assignment per inbox: on, and whose turn was last.
CREATE TABLE inbox_assignment (
	inbox_id     INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	auto_assign  BOOLEAN NOT NULL DEFAULT FALSE,
	last_user_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE teams (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
	team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Invitations: a single-use link (its token stored hashed) that lets the
-- invitee set a name and password. inbox_ids is a JSON array.
CREATE TABLE invitations (
	id          INTEGER PRIMARY KEY,
	email       TEXT NOT NULL,
	role        TEXT NOT NULL CHECK (role IN ('admin', 'inbox_manager', 'service', 'sales')),
	inbox_ids   TEXT NOT NULL DEFAULT '[]',
	token_hash  TEXT NOT NULL UNIQUE,
	invited_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
	created_at  DATETIME NOT NULL,
	sent_at     DATETIME NOT NULL,
	expires_at  DATETIME NOT NULL,
	accepted_at DATETIME,
	user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
	revoked_at  DATETIME
);
CREATE INDEX invitations_email ON invitations (email);

-- Two-factor authentication of a user: the method, and for an
-- authenticator app its (encrypted) secret and the last time step used.
CREATE TABLE two_factor (
	user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	method         TEXT NOT NULL CHECK (method IN ('email', 'sms', 'totp')),
	totp_secret    TEXT NOT NULL DEFAULT '',
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	enabled_at     DATETIME NOT NULL
);

-- Single-use recovery codes of authenticator-app users, hashed.
CREATE TABLE recovery_codes (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash TEXT NOT NULL,
	used_at   DATETIME
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- One-time codes sent by email or SMS, hashed; one live code per user and
-- purpose. attempts counts wrong tries (the fifth kills the code).
CREATE TABLE otp_codes (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose     TEXT NOT NULL,
	channel     TEXT NOT NULL,
	destination TEXT NOT NULL,
	code_hash   TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  DATETIME NOT NULL,
	expires_at  DATETIME NOT NULL,
	used_at     DATETIME
);
CREATE INDEX otp_codes_user ON otp_codes (user_id, purpose);

-- A change of two-factor settings or of the mobile number in progress:
-- which proofs have been given so far. secret is an encrypted TOTP secret
-- being set up.
CREATE TABLE pending_changes (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	target     TEXT NOT NULL DEFAULT '',
	secret     TEXT NOT NULL DEFAULT '',
	proved     INTEGER NOT NULL DEFAULT 0,
	expires_at DATETIME NOT NULL,
	PRIMARY KEY (user_id, kind)
);

-- A sign-in that passed the password and waits for its second factor. The
-- browser holds the token (hashed here).
CREATE TABLE login_challenges (
	id         INTEGER PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	method     TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	expires_at DATETIME NOT NULL
);

-- Counters of rate limits that must hold across nodes ("otp:user:12", …).
CREATE TABLE rate_counters (
	key          TEXT PRIMARY KEY,
	window_start DATETIME NOT NULL,
	hits         INTEGER NOT NULL,
	last_at      DATETIME NOT NULL
);

-- Installation settings that admins change at run time.
CREATE TABLE app_settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at DATETIME NOT NULL
);
