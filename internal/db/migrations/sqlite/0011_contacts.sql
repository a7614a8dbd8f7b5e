-- A contact's owner may be an email address that has no account yet (a
-- pending owner, shown as the address): when someone accepts an invitation
-- for that address, the contacts pending on it become theirs. owner_id and
-- owner_email are never both set.
ALTER TABLE contacts ADD COLUMN owner_email TEXT;
CREATE INDEX contacts_owner_email ON contacts (owner_email, id) WHERE owner_email IS NOT NULL;
CREATE INDEX contacts_pending ON contacts (id) WHERE owner_email IS NOT NULL;
CREATE INDEX contacts_unowned ON contacts (id) WHERE owner_id IS NULL AND owner_email IS NULL;

-- The contacts page filters by owner and by tag, newest first: each filter
-- is one index range read in the list's order.
DROP INDEX contacts_owner;
CREATE INDEX contacts_owner ON contacts (owner_id, id);
CREATE INDEX contact_tags_tag ON contact_tags (tag, contact_id);
