-- Profiles as the product describes them: first and last name (name stays
-- the whole name everyone sees, first_name and last_name joined by a space)
-- and a location. Existing names are split at their first space.
ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN location TEXT NOT NULL DEFAULT '';
UPDATE users SET
	first_name = split_part(btrim(name), ' ', 1),
	last_name = btrim(substr(btrim(name), length(split_part(btrim(name), ' ', 1)) + 1));

-- A change of a user's sign-in address that an admin asked for and that
-- waits for the new address to confirm it: a single-use link (its token
-- stored hashed), at most one per user.
CREATE TABLE email_changes (
	user_id      BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	email        TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL
);
