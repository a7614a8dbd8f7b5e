-- A number's automation (welcome message, unassigned auto-reply, queue
-- message, no-reply reminder, auto-close, satisfaction survey): one row per
-- inbox, its settings as JSON checked by the automation package.
CREATE TABLE automation_settings (
	inbox_id   INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	settings   TEXT NOT NULL,
	updated_at DATETIME NOT NULL
);

-- What Switchboard sent by itself (welcome, unassigned, queue, reminder,
-- autoclose, csat, personal_welcome…); NULL for people's messages.
ALTER TABLE messages ADD COLUMN auto_kind TEXT;
-- Automatic messages by kind and time, for the reports.
CREATE INDEX messages_auto ON messages (auto_kind, created_at) WHERE auto_kind IS NOT NULL;

-- When the customer first wrote (a customer who only opened the chat has
-- not) and when a person first answered: first response times.
ALTER TABLE conversations ADD COLUMN first_customer_message_at DATETIME;
ALTER TABLE conversations ADD COLUMN first_response_at DATETIME;
-- A customer who only opened the chat (WhatsApp's request_welcome) has a
-- conversation that waits for their first message: not routed, listed or
-- counted until then.
ALTER TABLE conversations ADD COLUMN awaiting_customer BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX conversations_closed ON conversations (closed_at) WHERE closed_at IS NOT NULL;

-- The satisfaction survey of a conversation a person handled: sent when it
-- closed, rated 1 to 5 by the customer, with an optional comment.
CREATE TABLE csat_ratings (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
	inbox_id        INTEGER NOT NULL REFERENCES inboxes (id),
	agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
	contact_id      INTEGER NOT NULL REFERENCES contacts (id),
	message_id      INTEGER NOT NULL,
	rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
	comment         TEXT NOT NULL DEFAULT '',
	sent_at         DATETIME NOT NULL,
	rated_at        DATETIME,
	commented_at    DATETIME
);
CREATE INDEX csat_ratings_sent ON csat_ratings (sent_at);
CREATE INDEX csat_ratings_agent ON csat_ratings (agent_id, sent_at);
-- The survey a customer's answer belongs to: their latest one.
CREATE INDEX csat_ratings_contact ON csat_ratings (contact_id, inbox_id, sent_at);

-- Why Switchboard made a change (an automatic close), shown in the timeline.
ALTER TABLE conversation_activities ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- When a contact last got an inbox's welcome message: at most one a day.
CREATE TABLE automation_welcomed (
	inbox_id   INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	sent_at    DATETIME NOT NULL,
	PRIMARY KEY (inbox_id, contact_id)
);

-- A number's welcome message switch, pushed to Meta (enable_welcome_message)
-- with its ice breakers.
ALTER TABLE whatsapp_state ADD COLUMN welcome_enabled BOOLEAN NOT NULL DEFAULT FALSE;
