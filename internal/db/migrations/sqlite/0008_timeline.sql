-- The conversation's timeline and list: what happened to a conversation
-- besides its messages (activities), the last customer message (unread
-- means an unread customer message, not a colleague's reply), and a
-- preview that is not the word "system".

-- Who changed a conversation and how, written in the transaction of the
-- change. kind: assigned (to assignee_id, from nobody), transferred (from
-- prev_assignee_id to assignee_id), unassigned (prev_assignee_id),
-- closed, reopened, tagged and untagged (tag). actor_type is agent
-- (actor_id; NULL once that user is deleted) or system (automatic
-- assignment). after_message_id is the conversation's last message at
-- the time: the timeline shows the activity after it, and pages
-- activities with the messages.
CREATE TABLE conversation_activities (
	id               INTEGER PRIMARY KEY,
	conversation_id  INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	kind             TEXT NOT NULL CHECK (kind IN ('assigned', 'transferred', 'unassigned', 'closed', 'reopened', 'tagged', 'untagged')),
	actor_type       TEXT NOT NULL CHECK (actor_type IN ('agent', 'system')),
	actor_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
	assignee_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
	prev_assignee_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
	tag              TEXT NOT NULL DEFAULT '',
	after_message_id INTEGER NOT NULL DEFAULT 0,
	created_at       DATETIME NOT NULL
);
CREATE INDEX conversation_activities_conversation ON conversation_activities (conversation_id, after_message_id, id);

ALTER TABLE conversations ADD COLUMN last_customer_message_id INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_customer_message_id = COALESCE(
	(SELECT m.id FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = 'inbound' ORDER BY m.id DESC LIMIT 1), 0);

-- A message with nothing to show (a WhatsApp chat opened) left its type
-- as the preview; the list now shows what the conversation had before,
-- or that the customer opened the chat.
UPDATE conversations SET last_message_preview = '' WHERE last_message_preview = 'system'
	AND EXISTS (SELECT 1 FROM messages m WHERE m.id = conversations.last_message_id AND m.type = 'system' AND m.text = '');
