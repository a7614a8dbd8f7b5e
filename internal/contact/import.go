package contact

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Columns are the columns of a contacts file, in the order Export writes
// them. An import's header names some of them in any order.
var Columns = []string{"name", "phone", "email", "tags", "owner"}

// MaxImportRows is the most rows one file may hold.
const MaxImportRows = 200_000

// ImportOptions say how to read a file.
type ImportOptions struct {
	// Region is the country (ISO 3166, "ES") of phone numbers written
	// without "+" and their country code; "" accepts international
	// numbers only.
	Region string
}

// CellError is what is wrong with one cell of a file: its line (the
// header is line 1) and column (as the header names it; "" for a whole
// line).
type CellError struct {
	Line    int    `json:"line"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// ImportReport is what an import did, or would do in a dry run.
type ImportReport struct {
	DryRun    bool `json:"dry_run"`
	Rows      int  `json:"rows"`
	Created   int  `json:"created"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	// Pending counts the rows whose owner is an address with no account
	// yet.
	Pending int         `json:"pending_owners"`
	Errors  []CellError `json:"errors"`
}

// Import is a contacts file read and checked cell by cell. Check matches
// it against the database (dry run); Apply writes it. A file with any
// error writes nothing.
type Import struct {
	has    map[string]bool // the columns of the header
	rows   []importRow
	errs   []CellError
	broken bool // the file could not be read to its end
	total  int  // the rows of the file, good or not

	// What Check found.
	existing           map[int64]*existing
	updated, unchanged int
}

type importRow struct {
	line                      int
	name, phone, email, owner string
	tags                      []string

	// What Check found.
	contactID    int64  // the contact it updates (or, once inserted, is)
	fresh        bool   // a new contact
	ownerID      int64  // the owner's account
	ownerPending string // or an address with none
}

// ReadCSV reads a contacts file: UTF-8 CSV with a header row. Cells are
// checked as they are read (text rules, phone numbers in E.164 or of
// o.Region, addresses, tags); every problem is kept with its line and
// column. The error is for a reader that fails, or for options that are
// wrong.
func ReadCSV(r io.Reader, o ImportOptions) (*Import, error) {
	region := ""
	if o.Region != "" {
		var ok bool
		if region, ok = phone.Region(o.Region); !ok {
			return nil, problem.Invalid("country", "Choose a country by its two-letter code, like ES or GB.")
		}
	}
	im := &Import{has: map[string]bool{}}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		im.fail(1, "", "The file is empty: its first line names the columns (%s).", strings.Join(Columns, ", "))
		return im, nil
	} else if err != nil {
		return im, im.readErr(err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte-order mark
		}
		h = strings.ToLower(strings.TrimSpace(h))
		cols[i] = h
		switch {
		case !slices.Contains(Columns, h):
			im.fail(1, h, "Unknown column %q: the columns are %s.", h, strings.Join(Columns, ", "))
		case im.has[h]:
			im.fail(1, h, "The column %q is named twice.", h)
		}
		im.has[h] = true
	}
	if !im.has["phone"] && !im.has["email"] {
		im.fail(1, "", "The file needs a phone or an email column: contacts are matched by them.")
	}
	if len(im.errs) > 0 {
		im.broken = true
		return im, nil
	}
	seenPhone, seenEmail := map[string]int{}, map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			im.total++
			im.fail(pe.StartLine, "", "This line has %d cells; the header has %d.", len(rec), len(cols))
			continue
		} else if err != nil {
			return im, im.readErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(im.rows) == MaxImportRows {
			im.fail(line, "", "A file has at most %d rows: split it.", MaxImportRows)
			im.broken = true
			return im, nil
		}
		im.total++
		row := importRow{line: line}
		bad := false
		for i, v := range rec {
			c := cols[i]
			at, _ := cr.FieldPos(i)
			if m := text.Problem(v); m != "" {
				im.fail(at, c, "%s", m)
				bad = true
				continue
			}
			if c != "phone" {
				v = unquoteCell(v)
			}
			switch c {
			case "name":
				row.name = strings.TrimSpace(v)
				if utf8.RuneCountInString(row.name) > 200 {
					im.fail(at, c, "A name has at most 200 characters.")
					bad = true
				}
			case "phone":
				if v = strings.TrimSpace(v); v != "" {
					n, msg := phone.NormalizeIn(v, region, phone.Possible)
					if msg != "" {
						im.fail(at, c, "%s", msg)
						bad = true
					}
					row.phone = n
				}
			case "email":
				if row.email = user.NormalizeEmail(v); row.email != "" {
					if msg := user.ValidateEmail(row.email); msg != "" {
						im.fail(at, c, "%s", msg)
						bad = true
					}
				}
			case "tags":
				var parts []string
				for _, p := range strings.Split(v, ",") {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				tags, msg := tag.NormalizeAll(parts)
				if msg != "" {
					im.fail(at, c, "%s", msg)
					bad = true
				}
				row.tags = tags
			case "owner":
				if row.owner = user.NormalizeEmail(v); row.owner != "" {
					if msg := user.ValidateEmail(row.owner); msg != "" {
						im.fail(at, c, "The owner is given by email address: %s", msg)
						bad = true
					}
				}
			}
		}
		if !bad {
			switch {
			case row.phone == "" && row.email == "":
				col := "phone"
				if !im.has["phone"] {
					col = "email"
				}
				im.fail(line, col, "A row needs a phone or an email: contacts are matched by them.")
				bad = true
			case row.phone != "" && seenPhone[row.phone] != 0:
				im.fail(line, "phone", "This phone number is on line %d too.", seenPhone[row.phone])
				bad = true
			case row.email != "" && seenEmail[row.email] != 0:
				im.fail(line, "email", "This email address is on line %d too.", seenEmail[row.email])
				bad = true
			}
		}
		if row.phone != "" && seenPhone[row.phone] == 0 {
			seenPhone[row.phone] = line
		}
		if row.email != "" && seenEmail[row.email] == 0 {
			seenEmail[row.email] = line
		}
		if !bad {
			im.rows = append(im.rows, row)
		}
	}
	return im, nil
}

// readErr records a syntax error, which ends the reading of the file,
// or returns another error of the reader.
func (im *Import) readErr(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("contact: import: %w", err)
	}
	im.broken = true
	msg := "This line is not valid CSV: " + pe.Err.Error() + "."
	if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
		msg = "This line is not valid CSV: a quote (\") is misplaced. A cell with quotes, commas or line breaks is written between quotes, its quotes doubled."
	}
	im.fail(pe.Line, "", "%s", msg)
	return nil
}

func (im *Import) fail(line int, column, format string, args ...any) {
	im.errs = append(im.errs, CellError{Line: line, Column: column, Message: fmt.Sprintf(format, args...)})
}

// quoteCell keeps a spreadsheet from reading a cell as a formula: a cell
// that starts with =, +, -, @, a tab or a carriage return (or with an
// apostrophe before one of them) gets an apostrophe before it, which
// unquoteCell takes away again.
func quoteCell(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

func unquoteCell(s string) string {
	if strings.HasPrefix(s, "'") && formulaLike(s[1:]) {
		return s[1:]
	}
	return s
}

func formulaLike(s string) bool {
	if s == "" {
		return false
	}
	if strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return true
	}
	return s[0] == '\'' && formulaLike(s[1:])
}

// Err is nil when the file has no errors, else a problem that says how
// many lines are wrong (Report lists them).
func (im *Import) Err() error {
	if len(im.errs) == 0 {
		return nil
	}
	lines := map[int]bool{}
	for _, e := range im.errs {
		lines[e.Line] = true
	}
	f := problem.Fields{}
	for _, e := range im.errs {
		key := "line " + strconv.Itoa(e.Line)
		if e.Column != "" {
			key += ", " + e.Column
		}
		f.Add(key, "%s", e.Message)
	}
	return &problem.Error{Kind: problem.KindInvalid, Fields: f,
		Message: fmt.Sprintf("%d lines of the file have errors: nothing was imported. Correct them and import the file again.", len(lines))}
}

// Report is what the import would do (after Check) or did (after Apply).
func (im *Import) Report() ImportReport {
	r := ImportReport{Rows: im.total, Errors: slices.Clone(im.errs)}
	if r.Errors == nil {
		r.Errors = []CellError{}
	}
	slices.SortStableFunc(r.Errors, func(a, b CellError) int { return a.Line - b.Line })
	if len(r.Errors) > 0 {
		return r
	}
	for _, row := range im.rows {
		if row.fresh {
			r.Created++
		}
		if row.ownerPending != "" {
			r.Pending++
		}
	}
	r.Updated, r.Unchanged = im.updated, im.unchanged
	return r
}

// Check matches the file's rows with the contacts there are (by phone,
// then by email) and its owners with the accounts, reading through q,
// and adds what it finds wrong to the file's errors: owners that may not
// own contacts, rows that match a contact another row matches.
func (im *Import) Check(ctx context.Context, q db.Querier) error {
	if im.broken || len(im.errs) > 0 {
		return nil
	}
	if err := im.resolveOwners(ctx, q, nil); err != nil {
		return err
	}
	return im.match(ctx, q)
}

// chunk is how many values an IN list of an import holds.
const chunk = 500

// inStrings runs query, which ends with "IN (" and whose rows are an id
// and a text, for values in chunks, calling fn for every row.
func inStrings(ctx context.Context, q db.Querier, query string, values []string, fn func(id int64, s string)) error {
	for i := 0; i < len(values); i += chunk {
		part := values[i:min(i+chunk, len(values))]
		rows, err := q.Query(ctx, query+marks(q.Dialect(), 0, len(part))+`) ORDER BY id`, anys(part)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return err
			}
			fn(id, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// resolveOwners finds the account of every owner address; an address
// with none is a pending owner. In a write (tx not nil) the addresses'
// invitations are locked first (see ResolveOwner).
func (im *Import) resolveOwners(ctx context.Context, q db.Querier, tx *db.Tx) error {
	if !im.has["owner"] {
		return nil
	}
	var emails []string
	seen := map[string]bool{}
	for _, r := range im.rows {
		if r.owner != "" && !seen[r.owner] {
			seen[r.owner] = true
			emails = append(emails, r.owner)
		}
	}
	if tx != nil {
		for i := 0; i < len(emails); i += chunk {
			part := emails[i:min(i+chunk, len(emails))]
			if _, err := tx.Exec(ctx, `UPDATE invitations SET email = email WHERE email IN (`+marks(tx.Dialect(), 0, len(part))+`)`, anys(part)...); err != nil {
				return fmt.Errorf("contact: import: owners: %w", err)
			}
		}
	}
	type account struct {
		id  int64
		bad string
	}
	found := map[string]account{}
	for i := 0; i < len(emails); i += chunk {
		part := emails[i:min(i+chunk, len(emails))]
		rows, err := q.Query(ctx, `SELECT id, email, role, deactivated_at IS NOT NULL FROM users WHERE email IN (`+marks(q.Dialect(), 0, len(part))+`)`, anys(part)...)
		if err != nil {
			return fmt.Errorf("contact: import: owners: %w", err)
		}
		for rows.Next() {
			var a account
			var email string
			var role policy.Role
			var deactivated bool
			if err := rows.Scan(&a.id, &email, &role, &deactivated); err != nil {
				rows.Close()
				return err
			}
			switch {
			case deactivated:
				a.bad = "This agent's account is deactivated: choose an active agent."
			case !policy.MayOwnContacts(role):
				a.bad = "Only agents who work with customers can own contacts: choose an admin, service or sales agent."
			}
			found[email] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range im.rows {
		r := &im.rows[i]
		r.ownerID, r.ownerPending = 0, ""
		if r.owner == "" {
			continue
		}
		a, ok := found[r.owner]
		switch {
		case !ok:
			r.ownerPending = r.owner
		case a.bad != "":
			im.fail(r.line, "owner", "%s", a.bad)
		default:
			r.ownerID = a.id
		}
	}
	return nil
}

// existing is a contact a row matches, as it is.
type existing struct {
	name, phone, email string
	ownerID            int64
	ownerEmail         string
	tags               []string
}

// match finds the contact each row updates: the oldest with its phone,
// else the oldest with its email.
func (im *Import) match(ctx context.Context, q db.Querier) error {
	byPhone, byEmail := map[string]int64{}, map[string]int64{}
	var phones, emails []string
	for _, r := range im.rows {
		if r.phone != "" {
			phones = append(phones, r.phone)
		}
		if r.email != "" {
			emails = append(emails, r.email)
		}
	}
	err := inStrings(ctx, q, `SELECT id, phone FROM contacts WHERE phone IN (`, phones, func(id int64, s string) {
		if byPhone[s] == 0 {
			byPhone[s] = id
		}
	})
	if err != nil {
		return fmt.Errorf("contact: import: match: %w", err)
	}
	err = inStrings(ctx, q, `SELECT id, email FROM contacts WHERE email IN (`, emails, func(id int64, s string) {
		if byEmail[s] == 0 {
			byEmail[s] = id
		}
	})
	if err != nil {
		return fmt.Errorf("contact: import: match: %w", err)
	}
	lineOf := map[int64]int{}
	var ids []int64
	for i := range im.rows {
		r := &im.rows[i]
		r.contactID = 0
		if r.phone != "" {
			r.contactID = byPhone[r.phone]
		}
		if r.contactID == 0 && r.email != "" {
			r.contactID = byEmail[r.email]
		}
		if r.fresh = r.contactID == 0; r.fresh {
			continue
		}
		if l, ok := lineOf[r.contactID]; ok {
			im.fail(r.line, "", "This row matches the same contact as line %d (by its phone or email).", l)
			continue
		}
		lineOf[r.contactID] = r.line
		ids = append(ids, r.contactID)
	}
	return im.loadExisting(ctx, q, ids)
}

// loadExisting reads the contacts the rows update, to count those that
// stay as they are and to know their owners.
func (im *Import) loadExisting(ctx context.Context, q db.Querier, ids []int64) error {
	im.existing = make(map[int64]*existing, len(ids))
	for i := 0; i < len(ids); i += chunk {
		part := db.IDList(ids[i:min(i+chunk, len(ids))])
		rows, err := q.Query(ctx, `SELECT id, name, COALESCE(phone, ''), COALESCE(email, ''), COALESCE(owner_id, 0), COALESCE(owner_email, '') FROM contacts WHERE id IN (`+part+`)`)
		if err != nil {
			return fmt.Errorf("contact: import: %w", err)
		}
		for rows.Next() {
			var id int64
			e := &existing{}
			if err := rows.Scan(&id, &e.name, &e.phone, &e.email, &e.ownerID, &e.ownerEmail); err != nil {
				rows.Close()
				return err
			}
			im.existing[id] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if !im.has["tags"] {
			continue
		}
		rows, err = q.Query(ctx, `SELECT contact_id, tag FROM contact_tags WHERE contact_id IN (`+part+`) ORDER BY tag`)
		if err != nil {
			return fmt.Errorf("contact: import: %w", err)
		}
		for rows.Next() {
			var id int64
			var t string
			if err := rows.Scan(&id, &t); err != nil {
				rows.Close()
				return err
			}
			if e := im.existing[id]; e != nil {
				e.tags = append(e.tags, t)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	im.updated, im.unchanged = 0, 0
	for i := range im.rows {
		r := &im.rows[i]
		if r.fresh {
			continue
		}
		if im.patch(r).changes() {
			im.updated++
		} else {
			im.unchanged++
		}
	}
	return nil
}

// patch is the change a row makes to the contact it matches: the
// columns of the file, where they differ.
func (im *Import) patch(r *importRow) Patch {
	e := im.existing[r.contactID]
	var p Patch
	if e == nil {
		return p
	}
	if im.has["name"] && r.name != e.name {
		p.Name = &r.name
	}
	if im.has["phone"] && r.phone != e.phone {
		p.Phone = &r.phone
	}
	if im.has["email"] && r.email != e.email {
		p.Email = &r.email
	}
	if im.has["owner"] && (r.ownerID != e.ownerID || r.ownerPending != e.ownerEmail) {
		p.OwnerID = &r.ownerID
		if r.ownerPending != "" {
			p.OwnerEmail = &r.ownerPending
		}
	}
	if im.has["tags"] {
		have := slices.Clone(e.tags)
		want := slices.Clone(r.tags)
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			p.Tags = &r.tags
		}
	}
	return p
}

func (p Patch) changes() bool {
	return p.Name != nil || p.Phone != nil || p.Email != nil || p.OwnerID != nil || p.Tags != nil
}

// Changed is a contact an import changed that was there before: the
// change and the owner it had, for its conversations to follow.
type Changed struct {
	ID        int64
	Patch     Patch
	PrevOwner int64
}

// Apply checks the file again in tx (the database may have changed
// since a dry run) and writes it: every row or, when anything is wrong,
// nothing (the error is Err's). New contacts are inserted many rows to
// a statement. It returns the contacts that were there and changed.
func (im *Import) Apply(ctx context.Context, tx *db.Tx) ([]Changed, error) {
	if im.broken || len(im.errs) > 0 {
		return nil, im.Err()
	}
	if err := im.resolveOwners(ctx, tx, tx); err != nil {
		return nil, err
	}
	if err := im.match(ctx, tx); err != nil {
		return nil, err
	}
	if err := im.Err(); err != nil {
		return nil, err
	}
	now := db.Now()
	var fresh, updated []*importRow
	var changed []Changed
	for i := range im.rows {
		r := &im.rows[i]
		if r.fresh {
			fresh = append(fresh, r)
			continue
		}
		p := im.patch(r)
		if !p.changes() {
			continue
		}
		updated = append(updated, r)
		changed = append(changed, Changed{ID: r.contactID, Patch: p, PrevOwner: im.existing[r.contactID].ownerID})
	}
	if err := im.update(ctx, tx, updated, now); err != nil {
		return nil, err
	}
	if err := im.insert(ctx, tx, fresh, now); err != nil {
		return nil, err
	}
	if len(fresh) >= analyzeAfter {
		if err := analyze(ctx, tx); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// analyzeAfter is how many new contacts make an import refresh the
// planner's statistics (PostgreSQL).
const analyzeAfter = 10_000

// analyze refreshes PostgreSQL's statistics of the contacts' tables in
// tx, which counts the rows it inserted. Until autovacuum does it, a
// table that grew by a bulk import is planned with its old statistics, or
// with none: an IN list of 500 phone numbers was then estimated to match
// every row, and the next import of the same file scanned the table 400
// times (80 s for 100,000 rows instead of a few). SQLite is never
// analysed (docs/benchmarks.md, "SQLite statistics").
func analyze(ctx context.Context, tx *db.Tx) error {
	if tx.Dialect() != db.Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, `ANALYZE contacts, contact_tags`); err != nil {
		return fmt.Errorf("contact: import: analyze: %w", err)
	}
	return nil
}

// update writes the rows that change contacts there are, many to a
// statement: every column of the file (the same value again where it
// did not change) and the tags of those whose tags changed.
func (im *Import) update(ctx context.Context, tx *db.Tx, rows []*importRow, now time.Time) error {
	var sets []string
	n := 1 // the values of a row: its contact's id first
	col := func(name, expr string) {
		n++
		sets = append(sets, name+" = "+strings.ReplaceAll(expr, "%", "v.column"+strconv.Itoa(n)))
	}
	for _, c := range []string{"name", "phone", "email"} {
		if im.has[c] {
			col(c, "%")
		}
	}
	if im.has["owner"] {
		col("owner_id", "CAST(% AS BIGINT)")
		col("owner_email", "%")
	}
	var retag []int64
	var pairs []any
	for i := 0; i < len(rows); i += insertRows {
		part := rows[i:min(i+insertRows, len(rows))]
		args := make([]any, 0, 1+len(part)*n)
		args = append(args, now)
		var b strings.Builder
		b.WriteString(`UPDATE contacts SET updated_at = ` + marks(tx.Dialect(), 0, 1))
		for _, s := range sets {
			b.WriteString(", " + s)
		}
		b.WriteString(` FROM (VALUES `)
		for j, r := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			m := strings.SplitN(marks(tx.Dialect(), len(args), n), ",", 2)
			b.WriteString("(CAST(" + m[0] + " AS BIGINT)")
			if len(m) > 1 {
				b.WriteString("," + m[1])
			}
			b.WriteString(")")
			args = append(args, r.contactID)
			for _, c := range []string{"name", "phone", "email"} {
				if !im.has[c] {
					continue
				}
				switch c {
				case "name":
					args = append(args, r.name)
				case "phone":
					args = append(args, nullable(r.phone))
				case "email":
					args = append(args, nullable(r.email))
				}
			}
			if im.has["owner"] {
				var owner any // as text: PostgreSQL takes the values of VALUES for text
				if r.ownerID != 0 {
					owner = strconv.FormatInt(r.ownerID, 10)
				}
				args = append(args, owner, nullable(r.ownerPending))
			}
			if p := im.patch(r); p.Tags != nil {
				retag = append(retag, r.contactID)
				for _, t := range r.tags {
					pairs = append(pairs, r.contactID, t)
				}
			}
		}
		b.WriteString(`) AS v WHERE contacts.id = v.column1`)
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("contact: import: update: %w", err)
		}
	}
	for i := 0; i < len(retag); i += chunk {
		if _, err := tx.Exec(ctx, `DELETE FROM contact_tags WHERE contact_id IN (`+db.IDList(retag[i:min(i+chunk, len(retag))])+`)`); err != nil {
			return fmt.Errorf("contact: import: tags: %w", err)
		}
	}
	return insertTags(ctx, tx, pairs)
}

// insertRows is how many contacts one INSERT adds (7 values each).
const insertRows = 200

// insert adds the new contacts and their tags.
func (im *Import) insert(ctx context.Context, tx *db.Tx, rows []*importRow, now time.Time) error {
	var pairs []any // contact id, tag
	for i := 0; i < len(rows); i += insertRows {
		part := rows[i:min(i+insertRows, len(rows))]
		args := make([]any, 0, len(part)*7)
		var b strings.Builder
		b.WriteString(`INSERT INTO contacts (name, phone, email, owner_id, owner_email, created_at, updated_at) VALUES `)
		byKey := make(map[string]*importRow, len(part))
		for j, r := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + marks(tx.Dialect(), len(args), 7) + ")")
			var owner any
			if r.ownerID != 0 {
				owner = r.ownerID
			}
			args = append(args, r.name, nullable(r.phone), nullable(r.email), owner, nullable(r.ownerPending), now, now)
			byKey[r.phone+"\x00"+r.email] = r
		}
		b.WriteString(` RETURNING id, COALESCE(phone, ''), COALESCE(email, '')`)
		res, err := tx.Query(ctx, b.String(), args...)
		if err != nil {
			return fmt.Errorf("contact: import: insert: %w", err)
		}
		for res.Next() {
			var id int64
			var ph, em string
			if err := res.Scan(&id, &ph, &em); err != nil {
				res.Close()
				return err
			}
			r := byKey[ph+"\x00"+em]
			if r == nil {
				res.Close()
				return fmt.Errorf("contact: import: insert: no row for %q %q", ph, em)
			}
			r.contactID = id
			for _, t := range r.tags {
				pairs = append(pairs, id, t)
			}
		}
		res.Close()
		if err := res.Err(); err != nil {
			return fmt.Errorf("contact: import: insert: %w", err)
		}
	}
	return insertTags(ctx, tx, pairs)
}

// insertTags adds tags: pairs holds contact ids and tags, one after the
// other.
func insertTags(ctx context.Context, tx *db.Tx, pairs []any) error {
	const tagRows = 500
	for i := 0; i < len(pairs); i += 2 * tagRows {
		part := pairs[i:min(i+2*tagRows, len(pairs))]
		var b strings.Builder
		b.WriteString(`INSERT INTO contact_tags (contact_id, tag) VALUES `)
		for j := 0; j < len(part); j += 2 {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + marks(tx.Dialect(), j, 2) + ")")
		}
		if _, err := tx.Exec(ctx, b.String(), part...); err != nil {
			return fmt.Errorf("contact: import: tags: %w", err)
		}
	}
	return nil
}

// marks returns n placeholders for the values after the first ones of a
// statement, comma-separated: $first+1, … on PostgreSQL; on SQLite
// anonymous ones (?), because its driver looks up the name of every
// numbered placeholder in a list of the statement's names, a cost that
// grows with the square of the placeholders of a statement (a bulk
// INSERT has a thousand). A statement uses one kind throughout.
func marks(d db.Dialect, first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if d == db.SQLite {
			b.WriteByte('?')
		} else {
			b.WriteString("$" + strconv.Itoa(first+i+1))
		}
	}
	return b.String()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
