package contact_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func read(t testing.TB, csv string, o contact.ImportOptions) *contact.Import {
	t.Helper()
	im, err := contact.ReadCSV(strings.NewReader(csv), o)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestReadCSVErrors reports every bad cell of a file by its line and
// column, in order, and keeps reading after a bad row.
func TestReadCSVErrors(t *testing.T) {
	file := "\uFEFFEmail,Name,phone,tags,owner\n" + // any order, any case, a byte-order mark
		"ana@example.com,Ana,+34 612 34 56 78,\"vip, billing\",\n" + // 2: fine
		"not-an-address,Bo,,,\n" + // 3
		",Cy,612 34 56 78,,\n" + // 4: no country, no default
		",Di\x01,+34 612 00 00 01,,\n" + // 5: a control character
		",,,,\n" + // 6: neither phone nor email
		"ana@example.com,Ed,,,\n" + // 7: same email as line 2
		",Fa,+34612345678,,\n" + // 8: same phone as line 2
		",Gi,+34 612 00 00 02,,boss\n" + // 9: owner not an address
		"\"multi\nline\",Ha,,,\n" + // 10-11: a quoted line break; the address is bad on line 10
		",Io,+34 612 00 00 03,\"" + strings.Repeat("x", 51) + "\",\n" + // 12: a tag too long
		"too,few\n" // 13
	im := read(t, file, contact.ImportOptions{})
	got := im.Report().Errors
	want := []contact.CellError{
		{Line: 3, Column: "email", Message: "Enter a valid email address, like name@example.com."},
		{Line: 4, Column: "phone", Message: "Enter the number in international format, with + and the country code, like +34 612 34 56 78."},
		{Line: 5, Column: "name", Message: "This contains an invisible control character (U+0001); remove it."},
		{Line: 6, Column: "phone", Message: "A row needs a phone or an email: contacts are matched by them."},
		{Line: 7, Column: "email", Message: "This email address is on line 2 too."},
		{Line: 8, Column: "phone", Message: "This phone number is on line 2 too."},
		{Line: 9, Column: "owner", Message: "The owner is given by email address: Enter a valid email address, like name@example.com."},
		{Line: 10, Column: "email", Message: "Enter a valid email address, like name@example.com."},
		{Line: 12, Column: "tags", Message: "A tag has at most 50 characters."},
		{Line: 13, Column: "", Message: "This line has 2 cells; the header has 5."},
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("errors:\n got %+v\nwant %+v", got, want)
	}
	if r := im.Report(); r.Rows != 11 {
		t.Errorf("rows %d, want 11", r.Rows)
	}
	p, ok := problem.As(im.Err())
	if !ok || p.Kind != problem.KindInvalid || p.Fields["line 4, phone"] == "" || p.Fields["line 13"] == "" ||
		!strings.Contains(p.Message, "10 lines of the file have errors: nothing was imported") {
		t.Errorf("Err() = %v", im.Err())
	}

	// The header: unknown and repeated columns, no way to match.
	im = read(t, "name,phone,Phone,company\n", contact.ImportOptions{})
	want = []contact.CellError{
		{Line: 1, Column: "phone", Message: `The column "phone" is named twice.`},
		{Line: 1, Column: "company", Message: `Unknown column "company": the columns are name, phone, email, tags, owner.`},
	}
	if got := im.Report().Errors; !reflect.DeepEqual(want, got) {
		t.Errorf("header errors:\n got %+v\nwant %+v", got, want)
	}
	im = read(t, "name,tags\nAna,vip\n", contact.ImportOptions{})
	if e := im.Report().Errors; len(e) != 1 || e[0].Line != 1 || !strings.Contains(e[0].Message, "needs a phone or an email column") {
		t.Errorf("no phone or email column: %v", e)
	}
	im = read(t, "", contact.ImportOptions{})
	if e := im.Report().Errors; len(e) != 1 || !strings.Contains(e[0].Message, "The file is empty") {
		t.Errorf("empty file: %v", e)
	}
	// A misplaced quote ends the reading, on its line.
	im = read(t, "name,phone\nAna,+34612345678\nB\"o,+34612345679\n", contact.ImportOptions{})
	if e := im.Report().Errors; len(e) != 1 || e[0].Line != 3 || !strings.Contains(e[0].Message, "a quote (\") is misplaced") {
		t.Errorf("bad quote: %v", e)
	}
	// Invalid UTF-8 is refused by the text rule.
	im = read(t, "name,phone\nA\xffna,+34612345678\n", contact.ImportOptions{})
	if e := im.Report().Errors; len(e) != 1 || e[0].Column != "name" || !strings.Contains(e[0].Message, "UTF-8") {
		t.Errorf("bad UTF-8: %v", e)
	}

	// A spreadsheet's file: CRLF line ends, quoted cells.
	im = read(t, "name,phone\r\n\"Ana, Jr.\",+34612345678\r\nBo,+34612345679\r\n", contact.ImportOptions{})
	if r := im.Report(); len(r.Errors) != 0 || r.Rows != 2 {
		t.Errorf("CRLF: %+v", r)
	}

	// A default country reads national numbers; a wrong one is refused.
	im = read(t, "phone\n612 34 56 78\n+44 20 7946 0958\n", contact.ImportOptions{Region: "es"})
	if e := im.Report().Errors; len(e) != 0 {
		t.Errorf("with a default country: %v", e)
	}
	if _, err := contact.ReadCSV(strings.NewReader("phone\n"), contact.ImportOptions{Region: "XX"}); err == nil {
		t.Error("an unknown country was accepted")
	}
}

type people struct {
	admin, sales, manager, gone int64
}

func mkUsers(t testing.TB, d *db.DB) people {
	t.Helper()
	ctx := context.Background()
	var p people
	err := d.Write(ctx, func(tx *db.Tx) error {
		for _, u := range []struct {
			email string
			role  policy.Role
			id    *int64
		}{{"admin@x.test", policy.Admin, &p.admin}, {"sales@x.test", policy.Sales, &p.sales}, {"manager@x.test", policy.InboxManager, &p.manager}, {"gone@x.test", policy.Sales, &p.gone}} {
			if err := tx.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ($1, $1, $2, 'x', $3, $3) RETURNING id`,
				u.email, u.role, db.Now()).Scan(u.id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE users SET deactivated_at = $2 WHERE id = $1`, p.gone, db.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func importFile(t testing.TB, d *db.DB, file string) (contact.ImportReport, error) {
	t.Helper()
	im := read(t, file, contact.ImportOptions{Region: "ES"})
	err := d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := im.Apply(context.Background(), tx)
		return err
	})
	return im.Report(), err
}

func count(t *testing.T, d *db.DB, q string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var all = policy.Scope{Kind: policy.ScopeAll}

// TestImport creates and updates contacts from a file, matching by
// phone then email, resolving owners to accounts or keeping them
// pending; a file with one bad row writes nothing; a dry run reports
// without writing.
func TestImport(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := mkUsers(t, d)
		var byPhone, byEmail int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, `INSERT INTO contacts (name, phone, created_at, updated_at) VALUES ('Old', '+34612000001', $1, $1) RETURNING id`, db.Now()).Scan(&byPhone); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contact_tags (contact_id, tag) VALUES ($1, 'old')`, byPhone); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `INSERT INTO contacts (name, email, created_at, updated_at) VALUES ('Mail', 'mail@example.com', $1, $1) RETURNING id`, db.Now()).Scan(&byEmail)
		})
		if err != nil {
			t.Fatal(err)
		}

		// A bad owner on the last line: nothing is written.
		before := count(t, d, `SELECT COUNT(*) FROM contacts`)
		_, err = importFile(t, d, "name,phone,email,tags,owner\nNew,+34612000009,,,\nX,+34612000008,,,manager@x.test\nY,+34612000007,,,gone@x.test\n")
		if p, ok := problem.As(err); !ok || p.Fields["line 3, owner"] == "" || !strings.Contains(p.Fields["line 4, owner"], "deactivated") {
			t.Fatalf("bad owners: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM contacts`); n != before {
			t.Fatalf("%d contacts after a refused import, want %d", n, before)
		}

		file := "phone,name,email,tags,owner\n" +
			"612 000 001,Renamed,,\"vip, VIP , new\",sales@x.test\n" + // matches byPhone (national, default ES)
			",Mailed,mail@example.com,,future@example.com\n" + // matches byEmail; pending owner
			"+34612000002,Fresh,fresh@example.com,billing,\n" + // new
			"+34612000003,'=1+1,,,Future@Example.com\n" // new, pending, a quoted formula
		im := read(t, file, contact.ImportOptions{Region: "ES"})
		if err := im.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		dry := im.Report()
		want := contact.ImportReport{Rows: 4, Created: 2, Updated: 2, Pending: 2, Errors: []contact.CellError{}}
		if !reflect.DeepEqual(want, dry) {
			t.Fatalf("dry run %+v, want %+v", dry, want)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM contacts`); n != before {
			t.Fatalf("the dry run wrote: %d contacts", n)
		}
		r, err := importFile(t, d, file)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, r) {
			t.Fatalf("import %+v, want %+v", r, want)
		}
		c, err := contact.Get(ctx, d, all, byPhone)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Renamed" || c.OwnerID == nil || *c.OwnerID != p.sales || c.OwnerEmail != nil || !slices.Equal(c.Tags, []string{"new", "vip"}) || c.Email != nil {
			t.Errorf("updated by phone: %+v", c)
		}
		c, _ = contact.Get(ctx, d, all, byEmail)
		if c.Name != "Mailed" || c.OwnerID != nil || c.OwnerEmail == nil || *c.OwnerEmail != "future@example.com" || c.Phone != nil {
			t.Errorf("updated by email: %+v", c)
		}
		list, err := contact.List(ctx, d, all, contact.ListOptions{Query: "+34612000003", Limit: 10})
		if err != nil || len(list) != 1 || list[0].Name != "=1+1" || *list[0].OwnerEmail != "future@example.com" {
			t.Errorf("new with a formula-like name: %+v %v", list, err)
		}

		// Exported, the formula-like name keeps its apostrophe.
		var out bytes.Buffer
		if err := contact.Export(ctx, d, all, contact.ListOptions{Query: "+34612000003"}, &out); err != nil {
			t.Fatal(err)
		}
		if want := "name,phone,email,tags,owner\n'=1+1,+34612000003,,,future@example.com\n"; out.String() != want {
			t.Errorf("export %q, want %q", out.String(), want)
		}

		// The same file again changes nothing.
		r, err = importFile(t, d, file)
		if err != nil || r.Created != 0 || r.Updated != 0 || r.Unchanged != 4 {
			t.Errorf("again: %+v %v", r, err)
		}

		// Two rows that match one contact (by phone and by email).
		_, err = importFile(t, d, "phone,email\n+34612000002,\n,fresh@example.com\n")
		if p, ok := problem.As(err); !ok || !strings.Contains(p.Fields["line 3"], "same contact as line 2") {
			t.Errorf("one contact twice: %v", err)
		}
	})
}

// TestListFilters pages the list by search, tag and owner, and exports
// what a filter keeps as a file that imports back unchanged.
func TestListFilters(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := mkUsers(t, d)
		var b strings.Builder
		b.WriteString("name,phone,email,tags,owner\n")
		for i := range 30 {
			owner, tags := "", "even"
			switch i % 3 {
			case 1:
				owner = "sales@x.test"
			case 2:
				owner = "later@example.com"
			}
			if i%2 == 1 {
				tags = "odd, vip"
			}
			b.WriteString(strings.Join([]string{"Person " + string(rune('A'+i%26)) + strings.Repeat("z", i/26), "+3461200" + pad(i), "p" + pad(i) + "@example.com", `"` + tags + `"`, owner}, ",") + "\n")
		}
		if _, err := importFile(t, d, b.String()); err != nil {
			t.Fatal(err)
		}
		names := func(o contact.ListOptions) []string {
			t.Helper()
			var out []string
			for {
				o.Limit = 4
				page, err := contact.List(ctx, d, all, o)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page {
					out = append(out, c.Name)
				}
				if len(page) < 4 {
					return out
				}
				o.Before = page[len(page)-1].ID
			}
		}
		for _, tc := range []struct {
			name string
			o    contact.ListOptions
			want int
		}{
			{"all", contact.ListOptions{}, 30},
			{"tag", contact.ListOptions{Tag: " VIP "}, 15},
			{"owner", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.OwnedBy, UserID: p.sales}}, 10},
			{"pending", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.PendingOwner}}, 10},
			{"none", contact.ListOptions{Owner: contact.OwnerFilter{Kind: contact.NoOwner}}, 10},
			{"tag and owner", contact.ListOptions{Tag: "vip", Owner: contact.OwnerFilter{Kind: contact.NoOwner}}, 5},
			{"search name", contact.ListOptions{Query: "person b"}, 2},
			{"search phone", contact.ListOptions{Query: "000012"}, 1},
			{"search email", contact.ListOptions{Query: "P0007@"}, 1},
			{"search with tag", contact.ListOptions{Query: "person", Tag: "even"}, 15},
		} {
			if got := names(tc.o); len(got) != tc.want {
				t.Errorf("%s: %d contacts %v, want %d", tc.name, len(got), got, tc.want)
			}
		}
		// Newest first, through the pages.
		got := names(contact.ListOptions{Tag: "odd"})
		if got[0] != "Person D"+strings.Repeat("z", 1) || got[len(got)-1] != "Person B" {
			t.Errorf("order: %v", got)
		}
		// A sales agent sees their own.
		page, err := contact.List(ctx, d, policy.Scope{Kind: policy.ScopeAssignedOrOwned, UserID: p.sales}, contact.ListOptions{Limit: 50})
		if err != nil || len(page) != 10 {
			t.Errorf("sales: %d %v", len(page), err)
		}

		// Export and import back: nothing changes.
		var out bytes.Buffer
		if err := contact.Export(ctx, d, all, contact.ListOptions{Tag: "vip"}, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 16 || lines[0] != "name,phone,email,tags,owner" || !strings.Contains(lines[1], `"odd, vip",later@example.com`) {
			t.Fatalf("export:\n%s", out.String())
		}
		im := read(t, out.String(), contact.ImportOptions{})
		if err := im.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		if r := im.Report(); r.Rows != 15 || r.Unchanged != 15 || r.Created != 0 || r.Updated != 0 || len(r.Errors) != 0 {
			t.Errorf("export imported back: %+v", r)
		}
	})
}

func pad(i int) string { return fmt.Sprintf("%04d", i) }
