-- Browsers that signed in to an account before ("device cookies"): the
-- hash of the random token in the browser's cookie, bound to the user. A
-- sign-in presenting a live one is throttled by that device's own counter
-- (login_attempts key "device:ID"), not by the account's lockout.
CREATE TABLE login_devices (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash   TEXT NOT NULL UNIQUE,
	created_at   DATETIME NOT NULL,
	last_used_at DATETIME NOT NULL,
	expires_at   DATETIME NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id, last_used_at);
