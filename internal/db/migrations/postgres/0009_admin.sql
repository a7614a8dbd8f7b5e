-- What a page shows once after the redirect that follows a form: a new
-- inbox's identity secret, a new API token, an invitation link when no
-- mail server is configured. The row is keyed by the hash of a random id
-- carried in the redirect's URL and its value is sealed with a key made
-- from that id, so the database alone does not give the secret away. A
-- row is deleted when it is read and is worth nothing after expires_at.
CREATE TABLE flashes (
	id_hash    TEXT PRIMARY KEY,
	user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	sealed     TEXT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX flashes_expires ON flashes (expires_at);

-- A deactivated user cannot sign in, has no sessions or API tokens, and
-- gets no conversations; their row stays, so history keeps their name.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;

-- A link to choose a new password: asked for from the sign-in page or sent
-- by an admin. It works once, for an hour; its token is stored hashed. The
-- old password works until the new one is set.
CREATE TABLE password_resets (
	token_hash   TEXT PRIMARY KEY,
	user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- How many resets were asked for per address and per IP in the current
-- hour, so the limit holds across nodes.
CREATE TABLE password_reset_requests (
	key          TEXT PRIMARY KEY,
	requests     INTEGER NOT NULL,
	window_start TIMESTAMPTZ NOT NULL
);

-- An archived inbox receives nothing more (webhooks for it are acknowledged
-- and dropped, the widget starts no sessions); its conversations were
-- closed when it was archived and stay, read-only and searchable.
ALTER TABLE inboxes ADD COLUMN archived_at TIMESTAMPTZ;
