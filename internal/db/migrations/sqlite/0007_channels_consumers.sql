-- Channels register with the inbox store: the inbox type is any channel's
-- name, not a list fixed in the schema. SQLite cannot drop a CHECK
-- constraint, and rebuilding inboxes would need foreign keys off (not
-- possible inside a migration's transaction); removing a CHECK does not
-- change what is stored, so the table's definition is edited as SQLite's
-- ALTER TABLE documentation describes. RESET reloads this connection's
-- schema; the CREATE TABLE below changes the schema cookie, which makes
-- every other connection reload it.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'type         TEXT NOT NULL CHECK (type IN (''webchat'', ''whatsapp'')),', 'type         TEXT NOT NULL,')
	WHERE type = 'table' AND name = 'inboxes';
PRAGMA writable_schema = RESET;

-- Durable event consumers: each one's place in the event log (the last
-- sequence it handled) and the node that holds it, until lease_until
-- (one node at a time advances a consumer).
CREATE TABLE event_consumers (
	name        TEXT PRIMARY KEY,
	seq         BIGINT NOT NULL,
	holder      TEXT NOT NULL DEFAULT '',
	lease_until DATETIME,
	updated_at  DATETIME NOT NULL
);
