-- Personal welcome messages: an agent's own message (the reply model's
-- Message, as JSON) sent when a conversation that a customer started on
-- one of the agent's WhatsApp numbers is assigned to them. enabled is the
-- switch; while it is on the message is neither edited nor deleted.
CREATE TABLE welcome_messages (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	enabled    BOOLEAN NOT NULL DEFAULT FALSE,
	message    TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE INDEX welcome_messages_user ON welcome_messages (user_id, id);

-- The numbers each welcome message is attached to: one of an agent's
-- welcome messages per number (user_id is the message's, kept here for
-- that unique index).
CREATE TABLE welcome_message_inboxes (
	welcome_message_id INTEGER NOT NULL REFERENCES welcome_messages (id) ON DELETE CASCADE,
	user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	inbox_id           INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	PRIMARY KEY (welcome_message_id, inbox_id)
);
CREATE UNIQUE INDEX welcome_message_inboxes_number ON welcome_message_inboxes (user_id, inbox_id);
CREATE INDEX welcome_message_inboxes_inbox ON welcome_message_inboxes (inbox_id);

-- What was sent: one row per conversation and agent makes the welcome go
-- once, however often the trigger runs (message_id is the message sent).
CREATE TABLE welcome_sends (
	conversation_id    INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	welcome_message_id INTEGER REFERENCES welcome_messages (id) ON DELETE SET NULL,
	message_id         INTEGER REFERENCES messages (id) ON DELETE SET NULL,
	sent_at            DATETIME NOT NULL,
	PRIMARY KEY (conversation_id, user_id)
);
