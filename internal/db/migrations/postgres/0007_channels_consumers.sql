-- Channels register with the inbox store: the inbox type is any channel's
-- name, not a list fixed in the schema.
ALTER TABLE inboxes DROP CONSTRAINT inboxes_type_check;
COMMENT ON COLUMN inboxes.settings IS 'each channel''s public settings (JSON) under its type';
COMMENT ON COLUMN inboxes.secrets IS 'the same for its secret settings, sealed with the secret box';

-- Durable event consumers: each one's place in the event log (the last
-- sequence it handled) and the node that holds it, until lease_until
-- (one node at a time advances a consumer).
CREATE TABLE event_consumers (
	name        TEXT PRIMARY KEY,
	seq         BIGINT NOT NULL,
	holder      TEXT NOT NULL DEFAULT '',
	lease_until TIMESTAMPTZ,
	updated_at  TIMESTAMPTZ NOT NULL
);
