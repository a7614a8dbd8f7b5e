// Package contact keeps the customers: name, phone (E.164), email, tags,
// the agent who owns them, and their identities on each inbox (a web chat
// visitor, a WhatsApp user).
package contact

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/tag"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Contact is a customer.
type Contact struct {
	ID      int64   `json:"id"`
	Name    string  `json:"name"`
	Phone   *string `json:"phone"`
	Email   *string `json:"email"`
	OwnerID *int64  `json:"owner_id"`
	// OwnerEmail is a pending owner: an address with no account yet,
	// which becomes the owner when its person accepts an invitation.
	// OwnerID and OwnerEmail are never both set.
	OwnerEmail *string    `json:"owner_email"`
	Tags       []string   `json:"tags"`
	Identities []Identity `json:"identities,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Identity is how a contact is known on one inbox.
type Identity struct {
	InboxID    int64  `json:"inbox_id"`
	ExternalID string `json:"external_id"`
}

// Profile is what a channel knows about a contact when it first writes.
type Profile struct {
	Name  string
	Phone string
	Email string
}

// ErrNotFound is returned for a contact that does not exist or may not be seen.
var ErrNotFound = problem.NotFound("Contact")

// Find returns the contact known on inboxID as externalID (ok=false when
// there is none), filling in the name it lacks from profile.
func Find(ctx context.Context, tx *db.Tx, inboxID int64, externalID string, p Profile) (Contact, bool, error) {
	var c Contact
	err := tx.QueryRow(ctx, `SELECT c.id, c.name, c.owner_id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
		WHERE i.inbox_id = $1 AND i.external_id = $2`, inboxID, externalID).Scan(&c.ID, &c.Name, &c.OwnerID)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return Contact{}, false, nil
	} else if err != nil {
		return c, false, fmt.Errorf("contact: find: %w", err)
	}
	if c.Name == "" && p.Name != "" {
		c.Name = p.Name
		if _, err := tx.Exec(ctx, `UPDATE contacts SET name = $2, updated_at = $3 WHERE id = $1`, c.ID, c.Name, db.Now()); err != nil {
			return c, false, fmt.Errorf("contact: update name: %w", err)
		}
	}
	return c, true, nil
}

// FindOrCreate returns the contact known on inboxID as externalID,
// creating it (with profile) when it is new. It runs in tx, so a message
// and its new contact commit together.
func FindOrCreate(ctx context.Context, tx *db.Tx, inboxID int64, externalID string, p Profile) (Contact, bool, error) {
	c, ok, err := Find(ctx, tx, inboxID, externalID, p)
	if ok || err != nil {
		return c, false, err
	}
	now := db.Now()
	c = Contact{Name: p.Name, Phone: nullable(p.Phone), Email: nullable(p.Email), Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	err = tx.QueryRow(ctx, `INSERT INTO contacts (name, phone, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
		c.Name, c.Phone, c.Email, now).Scan(&c.ID)
	if err != nil {
		return c, false, fmt.Errorf("contact: create: %w", err)
	}
	if err := AddIdentity(ctx, tx, c.ID, inboxID, externalID); err != nil {
		return c, false, err
	}
	c.Identities = []Identity{{InboxID: inboxID, ExternalID: externalID}}
	return c, true, nil
}

// FindOrCreateAny is FindOrCreate for a customer known on the inbox by
// several identities (a WhatsApp user's business-scoped id and phone-based
// id), in order of preference: the contact of the first one found is the
// customer, and the identities nobody has are linked to it; a new contact
// gets them all. A phone in the profile fills a contact that had none.
func FindOrCreateAny(ctx context.Context, tx *db.Tx, inboxID int64, externalIDs []string, p Profile) (Contact, bool, error) {
	var ids []string
	for _, id := range externalIDs {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return Contact{}, false, errors.New("contact: find or create: no identity")
	}
	args := []any{inboxID}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	rows, err := tx.Query(ctx, `SELECT i.external_id, c.id, c.name, c.phone, c.owner_id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
		WHERE i.inbox_id = $1 AND i.external_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return Contact{}, false, fmt.Errorf("contact: find: %w", err)
	}
	found := map[string]Contact{}
	for rows.Next() {
		var ext string
		var c Contact
		if err := rows.Scan(&ext, &c.ID, &c.Name, &c.Phone, &c.OwnerID); err != nil {
			rows.Close()
			return Contact{}, false, err
		}
		found[ext] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Contact{}, false, err
	}
	var c Contact
	for _, id := range ids {
		if f, ok := found[id]; ok {
			c = f
			break
		}
	}
	if c.ID == 0 {
		c, created, err := FindOrCreate(ctx, tx, inboxID, ids[0], p)
		if err != nil {
			return c, created, err
		}
		for _, id := range ids[1:] {
			if err := AddIdentity(ctx, tx, c.ID, inboxID, id); err != nil {
				return c, created, err
			}
			c.Identities = append(c.Identities, Identity{InboxID: inboxID, ExternalID: id})
		}
		return c, created, nil
	}
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			if err := AddIdentity(ctx, tx, c.ID, inboxID, id); err != nil {
				return c, false, err
			}
		}
	}
	sets, vals := []string{}, []any{c.ID, db.Now()}
	if c.Name == "" && p.Name != "" {
		c.Name = p.Name
		vals = append(vals, p.Name)
		sets = append(sets, "name = $"+strconv.Itoa(len(vals)))
	}
	if c.Phone == nil && p.Phone != "" {
		c.Phone = &p.Phone
		vals = append(vals, p.Phone)
		sets = append(sets, "phone = $"+strconv.Itoa(len(vals)))
	}
	if len(sets) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE contacts SET `+strings.Join(sets, ", ")+`, updated_at = $2 WHERE id = $1`, vals...); err != nil {
			return c, false, fmt.Errorf("contact: update: %w", err)
		}
	}
	return c, false, nil
}

// LinkIdentity links a contact to an identity on an inbox unless the
// inbox already knows that identity (as anyone's).
func LinkIdentity(ctx context.Context, tx *db.Tx, contactID, inboxID int64, externalID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_identities (contact_id, inbox_id, external_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (inbox_id, external_id) DO NOTHING`, contactID, inboxID, externalID, db.Now())
	if err != nil {
		return fmt.Errorf("contact: link identity: %w", err)
	}
	return nil
}

// AddIdentity links a contact to an identity on an inbox.
func AddIdentity(ctx context.Context, tx *db.Tx, contactID, inboxID int64, externalID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_identities (contact_id, inbox_id, external_id, created_at) VALUES ($1, $2, $3, $4)`,
		contactID, inboxID, externalID, db.Now())
	if err != nil {
		return fmt.Errorf("contact: add identity: %w", err)
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// scopeSQL restricts contacts (aliased c) to those the scope may see:
// service agents see the contacts of their inboxes; sales agents the ones
// they own or have a conversation assigned with.
func scopeSQL(s policy.Scope, args *[]any) string {
	switch s.Kind {
	case policy.ScopeAll:
		return "TRUE"
	case policy.ScopeInboxes:
		if len(s.Inboxes) == 0 {
			return "FALSE"
		}
		return `EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id AND i.inbox_id IN (` + db.IDList(s.Inboxes) + `))`
	case policy.ScopeAssignedOrOwned:
		// The two index ranges of the user's contacts, rather than a
		// test of every contact.
		*args = append(*args, s.UserID)
		n := strconv.Itoa(len(*args))
		return `c.id IN (SELECT o.id FROM contacts o WHERE o.owner_id = $` + n + ` UNION SELECT v.contact_id FROM conversations v WHERE v.assignee_id = $` + n + `)`
	}
	return "FALSE"
}

const columns = `c.id, c.name, c.phone, c.email, c.owner_id, c.owner_email, c.created_at, c.updated_at`

func scan(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	err := row.Scan(&c.ID, &c.Name, &c.Phone, &c.Email, &c.OwnerID, &c.OwnerEmail, &c.CreatedAt, &c.UpdatedAt)
	c.Tags = []string{}
	return c, err
}

// Get returns a contact the scope may see, with tags and identities.
func Get(ctx context.Context, q db.Querier, s policy.Scope, id int64) (Contact, error) {
	args := []any{id}
	where := scopeSQL(s, &args)
	c, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM contacts c WHERE c.id = $1 AND `+where, args...))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("contact: get: %w", err)
	}
	if err := fillTags(ctx, q, []*Contact{&c}); err != nil {
		return c, err
	}
	rows, err := q.Query(ctx, `SELECT inbox_id, external_id FROM contact_identities WHERE contact_id = $1 ORDER BY id`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var i Identity
		if err := rows.Scan(&i.InboxID, &i.ExternalID); err != nil {
			return c, err
		}
		c.Identities = append(c.Identities, i)
	}
	return c, rows.Err()
}

// contactTags are the tags of each contact.
var contactTags = tag.Table{Name: "contact_tags", Item: "contact_id"}

func fillTags(ctx context.Context, q db.Querier, cs []*Contact) error {
	return tag.Fill(ctx, q, contactTags, cs, func(c *Contact) (int64, *[]string) { return c.ID, &c.Tags })
}

// ListOptions filter and page the contact list.
type ListOptions struct {
	Query  string      // part of the name, phone or email
	Tag    string      // only contacts with this tag (normalised)
	Owner  OwnerFilter // only contacts of this owner
	Before int64       // keyset cursor: contacts with a smaller id
	Limit  int
}

// OwnerKind says which owners an OwnerFilter keeps.
type OwnerKind string

// The owner filters.
const (
	AnyOwner     OwnerKind = ""        // every contact
	OwnedBy      OwnerKind = "user"    // owned by OwnerFilter.UserID
	PendingOwner OwnerKind = "pending" // owned by an address with no account yet
	NoOwner      OwnerKind = "none"    // neither
)

// OwnerFilter keeps the contacts of one kind of owner.
type OwnerFilter struct {
	Kind   OwnerKind
	UserID int64
}

// ParseOwnerFilter reads an owner filter as URLs carry it: "" (any), a
// user id, "pending" or "none".
func ParseOwnerFilter(s string) (OwnerFilter, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return OwnerFilter{}, nil
	case "pending":
		return OwnerFilter{Kind: PendingOwner}, nil
	case "none":
		return OwnerFilter{Kind: NoOwner}, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return OwnerFilter{}, problem.Invalid("owner", "Choose an owner: a user id, pending or none.")
	}
	return OwnerFilter{Kind: OwnedBy, UserID: id}, nil
}

// String is the filter as ParseOwnerFilter reads it.
func (f OwnerFilter) String() string {
	if f.Kind == OwnedBy {
		return strconv.FormatInt(f.UserID, 10)
	}
	return string(f.Kind)
}

// listQuery is the SQL of a page of the contact list. Each filter is
// served by an index in the list's order (newest first): a tag by
// contact_tags_tag, an owner by contacts_owner, a pending owner by
// contacts_pending. A search by name, phone or email reads the contacts
// in that order until the page is full.
func listQuery(s policy.Scope, o ListOptions) (string, []any) {
	args := []any{}
	from, idCol := "contacts c", "c.id"
	if t, msg := tag.Normalize(o.Tag); msg == "" {
		o.Tag = t
	}
	if o.Tag != "" {
		args = append(args, o.Tag)
		from, idCol = "contact_tags t JOIN contacts c ON c.id = t.contact_id", "t.contact_id"
	}
	where := []string{}
	if o.Tag != "" {
		where = append(where, "t.tag = $1")
	}
	where = append(where, scopeSQL(s, &args))
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if o.Before > 0 {
		where = append(where, idCol+" < "+arg(o.Before))
	}
	switch o.Owner.Kind {
	case OwnedBy:
		where = append(where, "c.owner_id = "+arg(o.Owner.UserID))
	case PendingOwner:
		where = append(where, "c.owner_email IS NOT NULL")
	case NoOwner:
		where = append(where, "c.owner_id IS NULL AND c.owner_email IS NULL")
	}
	if o.Query != "" {
		n := arg("%" + escapeLike(strings.ToLower(o.Query)) + "%")
		where = append(where, "(lower(c.name) LIKE "+n+" ESCAPE '\\' OR c.phone LIKE "+n+" ESCAPE '\\' OR lower(c.email) LIKE "+n+" ESCAPE '\\')")
	}
	q := `SELECT ` + columns + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + idCol + ` DESC`
	if o.Limit > 0 {
		q += ` LIMIT ` + arg(o.Limit)
	}
	return q, args
}

// List returns the contacts the scope may see, newest first.
func List(ctx context.Context, q db.Querier, s policy.Scope, o ListOptions) ([]Contact, error) {
	query, args := listQuery(s, o)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("contact: list: %w", err)
	}
	defer rows.Close()
	out := []Contact{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ptrs := make([]*Contact, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, fillTags(ctx, q, ptrs)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Patch changes some of a contact's fields; nil fields stay as they are.
// An empty string clears phone or email; OwnerID 0 clears the owner.
// OwnerEmail names the owner by email instead (see ResolveOwner, which
// must run before Validate).
type Patch struct {
	Name       *string   `json:"name,omitempty"`
	Phone      *string   `json:"phone,omitempty"`
	Email      *string   `json:"email,omitempty"`
	OwnerID    *int64    `json:"owner_id,omitempty"`
	OwnerEmail *string   `json:"owner_email,omitempty"`
	Tags       *[]string `json:"tags,omitempty"`

	// ownerField is the request's name for the owner, for messages.
	ownerField string
}

// SameOwner reports whether p leaves c with the owner it has (or does
// not change the owner at all).
func (p Patch) SameOwner(c Contact) bool {
	if p.OwnerID == nil {
		return true
	}
	return *p.OwnerID == deref(c.OwnerID) && derefString(p.OwnerEmail) == derefString(c.OwnerEmail)
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Validate normalises p and reports every problem with it.
func (p *Patch) Validate(ctx context.Context, q db.Querier) error {
	f := problem.Fields{}
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
		if utf8.RuneCountInString(*p.Name) > 200 {
			f.Add("name", "A name has at most 200 characters.")
		}
	}
	if p.Phone != nil && *p.Phone != "" {
		if n, msg := phone.Normalize(*p.Phone, phone.Possible); msg != "" {
			f.Add("phone", "%s", msg)
		} else {
			*p.Phone = n
		}
	}
	if p.Email != nil && *p.Email != "" {
		*p.Email = user.NormalizeEmail(*p.Email)
		if msg := user.ValidateEmail(*p.Email); msg != "" {
			f.Add("email", "%s", msg)
		}
	}
	if p.Tags != nil {
		tags, msg := tag.NormalizeAll(*p.Tags)
		if msg != "" {
			f.Add("tags", "%s", msg)
		}
		*p.Tags = tags
	}
	if p.OwnerID != nil && *p.OwnerID != 0 {
		field := p.ownerField
		if field == "" {
			field = "owner_id"
		}
		var role policy.Role
		var deactivated bool
		err := q.QueryRow(ctx, `SELECT role, deactivated_at IS NOT NULL FROM users WHERE id = $1`, *p.OwnerID).Scan(&role, &deactivated)
		switch {
		case errors.Is(db.MapErr(err), db.ErrNotFound):
			f.Add(field, "There is no agent with id %d.", *p.OwnerID)
		case err != nil:
			return fmt.Errorf("contact: owner: %w", err)
		case deactivated:
			f.Add(field, "This agent's account is deactivated: choose an active agent.")
		case !policy.MayOwnContacts(role):
			f.Add(field, "Only agents who work with customers can own contacts: choose an admin, service or sales agent.")
		}
	}
	return f.Err()
}

// Lock takes the contact's row lock for the rest of tx (PostgreSQL;
// SQLite has one writer), so that what tx reads of the contact next stays
// true until it commits.
func Lock(ctx context.Context, tx *db.Tx, id int64) error {
	var one int
	err := tx.QueryRow(ctx, `UPDATE contacts SET updated_at = updated_at WHERE id = $1 RETURNING 1`, id).Scan(&one)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return fmt.Errorf("contact: lock: %w", err)
	}
	return nil
}

// Apply writes a validated patch in tx and returns the previous owner.
func Apply(ctx context.Context, tx *db.Tx, id int64, p Patch) (prevOwner int64, err error) {
	var owner *int64
	if err := tx.QueryRow(ctx, `SELECT owner_id FROM contacts WHERE id = $1`, id).Scan(&owner); err != nil {
		if errors.Is(db.MapErr(err), db.ErrNotFound) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	if owner != nil {
		prevOwner = *owner
	}
	sets := []string{"updated_at = $2"}
	args := []any{id, db.Now()}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = $"+strconv.Itoa(len(args)))
	}
	if p.Name != nil {
		add("name", *p.Name)
	}
	if p.Phone != nil {
		add("phone", nullable(*p.Phone))
	}
	if p.Email != nil {
		add("email", nullable(*p.Email))
	}
	if p.OwnerID != nil {
		var v any
		if *p.OwnerID != 0 {
			v = *p.OwnerID
		}
		add("owner_id", v)
		var pending any
		if *p.OwnerID == 0 && p.OwnerEmail != nil {
			pending = *p.OwnerEmail
		}
		add("owner_email", pending)
	}
	if _, err := tx.Exec(ctx, `UPDATE contacts SET `+strings.Join(sets, ", ")+` WHERE id = $1`, args...); err != nil {
		return 0, fmt.Errorf("contact: update: %w", err)
	}
	if p.Tags != nil {
		if _, err := tx.Exec(ctx, `DELETE FROM contact_tags WHERE contact_id = $1`, id); err != nil {
			return 0, err
		}
		for _, t := range *p.Tags {
			if _, err := tx.Exec(ctx, `INSERT INTO contact_tags (contact_id, tag) VALUES ($1, $2)`, id, t); err != nil {
				return 0, err
			}
		}
	}
	return prevOwner, nil
}
