-- WhatsApp Cloud API channel: numbers, contacts, templates, ice breakers,
-- send pacing; and what the conversation core gained with it: message
-- reactions and the details of a delivery failure.

-- A WhatsApp inbox's number: the ids Meta routes by. The rest of its
-- configuration is the inbox's settings, its secrets the inbox's sealed
-- secrets (owned by the inbox package).
CREATE TABLE whatsapp_numbers (
	inbox_id          INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	phone_number_id   TEXT NOT NULL UNIQUE,
	waba_id           TEXT NOT NULL,
	-- SHA-256 (hex) of the verify token, to answer Meta's handshake
	-- without decrypting every inbox's secrets
	verify_token_hash TEXT NOT NULL,
	created_at        DATETIME NOT NULL,
	updated_at        DATETIME NOT NULL
);
CREATE INDEX whatsapp_numbers_waba ON whatsapp_numbers (waba_id);
CREATE INDEX whatsapp_numbers_verify ON whatsapp_numbers (verify_token_hash);

-- What the channel keeps about a number: a token Meta refused, template
-- synchronisation, ice breakers and whether Graph accepted them.
CREATE TABLE whatsapp_state (
	inbox_id              INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	token_error           TEXT NOT NULL DEFAULT '',
	token_error_at        DATETIME,
	templates_synced_at   DATETIME,
	templates_error       TEXT NOT NULL DEFAULT '',
	ice_breakers          TEXT NOT NULL DEFAULT '[]',
	-- none (never set), pending (saved, not yet pushed), accepted, rejected
	ice_breakers_status   TEXT NOT NULL DEFAULT 'none',
	ice_breakers_error    TEXT NOT NULL DEFAULT '',
	ice_breakers_pushed_at DATETIME,
	updated_at            DATETIME NOT NULL
);

-- A contact as one number knows them: Meta's ids (wa_id, the phone-based
-- id, and user_id, the business-scoped id, either may be missing), the
-- WhatsApp profile, and the customer's last message, which opens the
-- 24-hour customer-service window.
CREATE TABLE whatsapp_contacts (
	inbox_id        INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	contact_id      INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	wa_id           TEXT,
	user_id         TEXT,
	username        TEXT NOT NULL DEFAULT '',
	profile_name    TEXT NOT NULL DEFAULT '',
	last_inbound_at DATETIME,
	updated_at      DATETIME NOT NULL,
	PRIMARY KEY (inbox_id, contact_id)
);
CREATE INDEX whatsapp_contacts_contact ON whatsapp_contacts (contact_id);

-- Message templates of a number's WhatsApp Business Account, as last
-- synchronised (and as template status webhooks changed them).
CREATE TABLE whatsapp_templates (
	id               INTEGER PRIMARY KEY,
	inbox_id         INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	meta_id          TEXT NOT NULL,
	name             TEXT NOT NULL,
	language         TEXT NOT NULL,
	status           TEXT NOT NULL,
	category         TEXT NOT NULL DEFAULT '',
	parameter_format TEXT NOT NULL DEFAULT 'POSITIONAL',
	components       TEXT NOT NULL DEFAULT '[]',
	quality          TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	updated_at       DATETIME NOT NULL,
	UNIQUE (inbox_id, name, language)
);
CREATE INDEX whatsapp_templates_meta ON whatsapp_templates (meta_id);

-- Send pacing shared by every node: for each key (a number, a number and
-- a recipient) the theoretical arrival time of the next message (GCRA),
-- in microseconds since the epoch, so both engines do the arithmetic.
CREATE TABLE whatsapp_pacing (
	key TEXT PRIMARY KEY,
	tat BIGINT NOT NULL
);

-- A send handed to Graph whose answer was not recorded (the node died,
-- the connection dropped): the next attempt waits for Meta's status
-- webhook before sending again.
CREATE TABLE whatsapp_sends (
	message_id   INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	in_flight_at DATETIME,
	-- 131056 answers for this message: the next retry waits 4^n seconds
	pair_retries INTEGER NOT NULL DEFAULT 0,
	updated_at   DATETIME NOT NULL
);

-- The last customer message of each conversation marked read on WhatsApp.
CREATE TABLE whatsapp_read_marks (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
	message_id      INTEGER NOT NULL
);

-- Conversation core: reactions on a message, one per side (the contact,
-- the business); emoji '' once removed, kept so that a late, older
-- reaction does not come back.
CREATE TABLE message_reactions (
	message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	reactor    TEXT NOT NULL CHECK (reactor IN ('contact', 'business')),
	emoji      TEXT NOT NULL,
	reacted_at DATETIME NOT NULL,
	PRIMARY KEY (message_id, reactor)
);

-- Conversation core: a failed delivery's details beside its code and title.
ALTER TABLE messages ADD COLUMN error_details TEXT NOT NULL DEFAULT '';
