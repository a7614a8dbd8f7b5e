package reply

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Canned responses are messages agents insert in the composer by a short
// code ("/thanks"): company presets, which admins make for everyone, and
// each agent's own, which nobody else sees. Their content is a stored
// Message (text with emoji, a file, buttons, a list or a link button),
// checked when saved like every stored message.

// Scope says whose a canned response is.
type Scope string

// The scopes.
const (
	Company  Scope = "company"  // a preset for everyone, made by admins
	Personal Scope = "personal" // an agent's own
)

// Canned is a canned response.
type Canned struct {
	ID    int64 `json:"id"`
	Scope Scope `json:"scope"`
	// OwnerID is the agent whose response it is (personal ones).
	OwnerID   *int64  `json:"owner_id"`
	ShortCode string  `json:"short_code"`
	Message   Message `json:"message"`
	// Attachment describes the file the message keeps, when it has one.
	Attachment *attachment.Attachment `json:"attachment,omitempty"`
	CreatedAt  time.Time              `json:"created_at"`
	UpdatedAt  time.Time              `json:"updated_at"`
}

// NewCanned is what it takes to make a canned response. Scope is
// personal when empty; company presets are for admins.
type NewCanned struct {
	Scope     Scope   `json:"scope,omitempty"`
	ShortCode string  `json:"short_code"`
	Message   Message `json:"message"`
}

// CannedPatch changes a canned response; nil fields stay. Its scope does
// not change.
type CannedPatch struct {
	ShortCode *string  `json:"short_code,omitempty"`
	Message   *Message `json:"message,omitempty"`
}

// CannedFilter narrows a list of canned responses.
type CannedFilter struct {
	// Q is a part of the short code or of the content (any case).
	Q string
	// Scope is company, personal, or all ("" too).
	Scope string
	// Limit is the most returned (default and most: MaxCannedList).
	Limit int
}

// MaxShortCode is the length of the longest short code.
const MaxShortCode = 40

// MaxCannedList is the most canned responses a list returns.
const MaxCannedList = 500

// maxSearched is the most matches of a search ranked (by short code, then
// content) for a list.
const maxSearched = 5000

// ErrCannedNotFound is a canned response that does not exist or that the
// asker may not see.
var ErrCannedNotFound = problem.NotFound("Canned response")

// CannedStore keeps canned responses.
type CannedStore struct {
	db *db.DB
}

// NewCannedStore returns the store.
func NewCannedStore(d *db.DB) *CannedStore { return &CannedStore{db: d} }

// holder names a canned response as the holder of its file.
func holder(id int64) string { return "canned:" + strconv.FormatInt(id, 10) }

// CheckShortCode adds to f what is wrong with a short code: letters,
// digits, - and _, at most MaxShortCode of them.
func CheckShortCode(f problem.Fields, field, code string) {
	switch {
	case code == "":
		f.Add(field, "Enter a short code.")
	case utf8.RuneCountInString(code) > MaxShortCode:
		f.Add(field, "A short code has at most %d characters (this one has %d).", MaxShortCode, utf8.RuneCountInString(code))
	case strings.IndexFunc(code, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' }) >= 0:
		f.Add(field, "A short code has only letters, digits, - and _ (no spaces).")
	}
}

// cleanCode is a short code as typed: without the slash that calls it
// and the spaces around it.
func cleanCode(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "/") }

// mayWrite reports whether a may change canned responses of scope.
func mayWrite(a policy.Actor, scope Scope) bool {
	if scope == Company {
		return policy.Allow(a, policy.ManageCannedResponses)
	}
	return policy.Allow(a, policy.UseCannedResponses)
}

// Create makes a canned response of a's: a personal one, or a company
// preset when a is an admin. A file the message keeps must be a's own
// upload, not yet sent.
func (s *CannedStore) Create(ctx context.Context, a policy.Actor, n NewCanned) (Canned, error) {
	f := problem.Fields{}
	if n.Scope == "" {
		n.Scope = Personal
	}
	switch n.Scope {
	case Company, Personal:
		if !mayWrite(a, n.Scope) {
			return Canned{}, problem.Forbidden("Only admins make company presets.")
		}
	default:
		f.Add("scope", "Choose company or personal.")
	}
	n.ShortCode = cleanCode(n.ShortCode)
	CheckShortCode(f, "short_code", n.ShortCode)
	if err := f.Err(); err != nil {
		return Canned{}, err
	}
	if err := n.Message.Check(ctx, s.db, "message"); err != nil {
		return Canned{}, err
	}
	c := Canned{Scope: n.Scope, ShortCode: n.ShortCode, Message: n.Message, CreatedAt: db.Now()}
	c.UpdatedAt = c.CreatedAt
	if n.Scope == Personal {
		c.OwnerID = &a.UserID
	}
	body, err := json.Marshal(c.Message)
	if err != nil {
		return Canned{}, err
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		c.Attachment = nil
		err := tx.QueryRow(ctx, `INSERT INTO canned_responses (owner_id, short_code, code_key, message, search, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, c.OwnerID, c.ShortCode, codeKey(c.ShortCode), string(body), searchText(c.ShortCode, c.Message), c.CreatedAt).Scan(&c.ID)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return taken(n.Scope)
		} else if err != nil {
			return fmt.Errorf("reply: create canned: %w", err)
		}
		return s.hold(ctx, tx, a, &c)
	})
	return c, err
}

// taken is the problem of a short code already used by the owner.
func taken(scope Scope) error {
	if scope == Company {
		return problem.Invalid("short_code", "A company preset already has this short code.")
	}
	return problem.Invalid("short_code", "You already have a canned response with this short code.")
}

// hold keeps the file of c's message for c (an upload of a's), and lets
// go of any other.
func (s *CannedStore) hold(ctx context.Context, tx *db.Tx, a policy.Actor, c *Canned) error {
	at, err := Keep(ctx, tx, c.Message, attachment.Uploader("user", a.UserID), holder(c.ID), "message")
	c.Attachment = at
	return err
}

// Update changes a canned response a may change: their own, or a company
// preset when a is an admin. Others' answer not found.
func (s *CannedStore) Update(ctx context.Context, a policy.Actor, id int64, p CannedPatch) (Canned, error) {
	f := problem.Fields{}
	if p.ShortCode != nil {
		*p.ShortCode = cleanCode(*p.ShortCode)
		CheckShortCode(f, "short_code", *p.ShortCode)
	}
	if err := f.Err(); err != nil {
		return Canned{}, err
	}
	c, err := s.Get(ctx, a, id)
	if err != nil {
		return Canned{}, err
	}
	if !mayWrite(a, c.Scope) {
		return Canned{}, problem.Forbidden("Only admins change company presets.")
	}
	if p.Message != nil {
		if err := p.Message.Check(ctx, s.db, "message"); err != nil {
			return Canned{}, err
		}
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		// Read again in the transaction: the file kept is the one replaced.
		cur, err := s.get(ctx, tx, a, id)
		if err != nil {
			return err
		}
		c = cur
		if p.ShortCode != nil {
			c.ShortCode = *p.ShortCode
		}
		if p.Message != nil {
			c.Message = *p.Message
		}
		c.UpdatedAt = db.Now()
		body, err := json.Marshal(c.Message)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE canned_responses SET short_code = $2, code_key = $3, message = $4, search = $5, updated_at = $6 WHERE id = $1`,
			id, c.ShortCode, codeKey(c.ShortCode), string(body), searchText(c.ShortCode, c.Message), c.UpdatedAt)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return taken(c.Scope)
		} else if err != nil {
			return fmt.Errorf("reply: update canned: %w", err)
		}
		c.Attachment = nil
		return s.hold(ctx, tx, a, &c)
	})
	if err != nil {
		return Canned{}, err
	}
	return c, nil
}

// Delete removes a canned response a may change; its file is let go (the
// cleanup of uploads removes it, unless messages sent with it name it).
func (s *CannedStore) Delete(ctx context.Context, a policy.Actor, id int64) error {
	c, err := s.Get(ctx, a, id)
	if err != nil {
		return err
	}
	if !mayWrite(a, c.Scope) {
		return problem.Forbidden("Only admins delete company presets.")
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM canned_responses WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("reply: delete canned: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCannedNotFound
		}
		return Release(ctx, tx, holder(id))
	})
}

// Get returns a canned response a may see: a company preset or their own.
func (s *CannedStore) Get(ctx context.Context, a policy.Actor, id int64) (Canned, error) {
	return s.get(ctx, s.db, a, id)
}

func (s *CannedStore) get(ctx context.Context, q db.Querier, a policy.Actor, id int64) (Canned, error) {
	cs, err := s.query(ctx, q, `WHERE id = $1 AND COALESCE(owner_id, 0) IN (0, $2)`, id, a.UserID)
	if err != nil {
		return Canned{}, err
	}
	if len(cs) == 0 {
		return Canned{}, ErrCannedNotFound
	}
	return cs[0], nil
}

// List returns the canned responses a may see (company presets and their
// own) that f keeps. Without a search they come by short code; with one,
// those whose short code starts with it first, then those whose short code
// has it, then those whose content has it, each by short code.
func (s *CannedStore) List(ctx context.Context, a policy.Actor, f CannedFilter) ([]Canned, error) {
	where, args := `WHERE COALESCE(owner_id, 0) IN (0, $1)`, []any{a.UserID}
	switch f.Scope {
	case "", "all":
	case string(Company):
		where += ` AND owner_id IS NULL`
	case string(Personal):
		where += ` AND owner_id IS NOT NULL`
	default:
		return nil, problem.Invalid("scope", "Choose company, personal or all.")
	}
	q := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(f.Q), "/"))
	if q != "" {
		args = append(args, "%"+likeEscaper.Replace(q)+"%")
		where += ` AND search LIKE $2 ESCAPE '\'`
	}
	if f.Limit <= 0 || f.Limit > MaxCannedList {
		f.Limit = MaxCannedList
	}
	// Without a search the list's order is the query's; with one, the
	// matches are ranked here, from at most maxSearched of them.
	limit := f.Limit
	if q != "" {
		limit = maxSearched
	}
	cs, err := s.query(ctx, s.db, where+` ORDER BY code_key, owner_id IS NULL, id LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	if q != "" {
		rank := func(c Canned) int {
			k := codeKey(c.ShortCode)
			switch {
			case strings.HasPrefix(k, q):
				return 0
			case strings.Contains(k, q):
				return 1
			}
			return 2
		}
		slices.SortStableFunc(cs, func(x, y Canned) int { return cmp.Compare(rank(x), rank(y)) })
	}
	if len(cs) > f.Limit {
		cs = cs[:f.Limit]
	}
	return cs, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// query reads canned responses (and the files they keep) where, and in
// the order, its clause says.
func (s *CannedStore) query(ctx context.Context, q db.Querier, where string, args ...any) ([]Canned, error) {
	rows, err := q.Query(ctx, `SELECT id, owner_id, short_code, message, created_at, updated_at FROM canned_responses `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("reply: list canned: %w", err)
	}
	defer rows.Close()
	out := []Canned{}
	var files []int64
	for rows.Next() {
		var c Canned
		var body string
		if err := rows.Scan(&c.ID, &c.OwnerID, &c.ShortCode, &body, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &c.Message); err != nil {
			return nil, fmt.Errorf("reply: canned %d: %w", c.ID, err)
		}
		c.Scope = Personal
		if c.OwnerID == nil {
			c.Scope = Company
		}
		if c.Message.AttachmentID != 0 {
			files = append(files, c.Message.AttachmentID)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	held, err := attachment.HeldByID(ctx, q, files)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if h, ok := held[out[i].Message.AttachmentID]; ok && h.Holder == holder(out[i].ID) {
			out[i].Attachment = &h.Attachment
		}
	}
	return out, nil
}

// CopyAttachment makes the file of a canned response a may see an upload
// of a's, to attach to a reply like any file a uploads (nothing is copied
// on disk).
func (s *CannedStore) CopyAttachment(ctx context.Context, a policy.Actor, id int64) (attachment.Attachment, error) {
	c, err := s.Get(ctx, a, id)
	if err != nil {
		return attachment.Attachment{}, err
	}
	if c.Attachment == nil {
		return attachment.Attachment{}, problem.NotFound("Attachment")
	}
	var out attachment.Attachment
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		out, err = attachment.Copy(ctx, tx, c.Attachment.ID, holder(c.ID), attachment.Uploader("user", a.UserID))
		return err
	})
	return out, err
}

// codeKey is how short codes compare: whatever their case.
func codeKey(code string) string { return strings.ToLower(code) }

// searchText is what a search by part of a canned response looks in: its
// short code and every word its message shows, lower-cased.
func searchText(code string, m Message) string {
	parts := []string{code, m.Text}
	if in := m.Interactive; in != nil {
		if in.Header != nil {
			parts = append(parts, in.Header.Text)
		}
		parts = append(parts, in.Body, in.Footer, in.ListButton, in.DisplayText)
		for _, b := range in.Buttons {
			parts = append(parts, b.Title)
		}
		for _, sec := range in.Sections {
			parts = append(parts, sec.Title)
			for _, r := range sec.Rows {
				parts = append(parts, r.Title, r.Description)
			}
		}
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}
