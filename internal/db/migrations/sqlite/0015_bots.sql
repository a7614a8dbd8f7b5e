-- Bots: assignees that are not people. A menu bot answers from its menu
-- (a greeting with buttons or a list; each option answers with a stored
-- message, hands off to a team or to the inbox's routing, or closes); an
-- external bot gets each customer message posted to its URL, signed with
-- its secret, and answers through the API with its token.
-- inbox_id is the inbox whose new conversations the bot takes first (one
-- active bot per inbox). menu is JSON; signing_secret is sealed like other
-- secrets; token_hash is the SHA-256 of the bot's bearer token.
-- handoff_after_s is how long deliveries may fail before the bot hands its
-- conversation to routing by itself; failing_since is when the failures
-- began (NULL while deliveries succeed).
CREATE TABLE bots (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL,
	kind            TEXT NOT NULL CHECK (kind IN ('menu', 'external')),
	inbox_id        INTEGER REFERENCES inboxes (id) ON DELETE SET NULL,
	active          BOOLEAN NOT NULL DEFAULT TRUE,
	menu            TEXT NOT NULL DEFAULT '{}',
	url             TEXT NOT NULL DEFAULT '',
	signing_secret  TEXT NOT NULL DEFAULT '',
	token_hash      TEXT UNIQUE,
	handoff_after_s INTEGER NOT NULL DEFAULT 300 CHECK (handoff_after_s > 0),
	failing_since   DATETIME,
	created_at      DATETIME NOT NULL,
	updated_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX bots_inbox ON bots (inbox_id) WHERE active AND inbox_id IS NOT NULL;

-- A conversation held by a bot has bot_id and no assignee.
ALTER TABLE conversations ADD COLUMN bot_id INTEGER REFERENCES bots (id) ON DELETE SET NULL;
CREATE INDEX conversations_bot ON conversations (bot_id) WHERE bot_id IS NOT NULL;

-- The customer messages a bot has taken in (answered from the menu, or
-- queued for delivery), written in the transaction that does so: a
-- message handled again (an event read twice) is not answered twice.
CREATE TABLE bot_turns (
	message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	bot_id     INTEGER NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
	created_at DATETIME NOT NULL
);

-- The bot that sent a message (sender_id is for people).
ALTER TABLE messages ADD COLUMN bot_id INTEGER REFERENCES bots (id) ON DELETE SET NULL;
