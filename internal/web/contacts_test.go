package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

func csvBody(s string) (*strings.Reader, []string) {
	return strings.NewReader(s), []string{"Content-Type", "text/csv; charset=utf-8"}
}

// TestContactsImportExportAPI imports a file through the API (a dry run
// that lists every error by line and column, a refused run that writes
// nothing, a run that imports), filters the list by tag and owner,
// exports what a filter keeps and imports the export back unchanged.
func TestContactsImportExportAPI(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		sales := srv.NewUser("sales@example.com", policy.Sales)

		imp := func(query, file string, want int) *testrig.Response {
			t.Helper()
			body, h := csvBody(file)
			return admin.Do("POST", "/api/v1/contacts/import"+query, body, h...).Expect(want)
		}
		bad := "name,phone,email,tags,owner\nAna,612 34 56 78,ana@example.com,vip,sales@example.com\nBo,+34 612,not-mail,,\n"
		var rep contact.ImportReport
		imp("?country=ES", bad, 200).Decode(&rep) // a dry run by default
		want := []contact.CellError{
			{Line: 3, Column: "phone", Message: "This is not a valid phone number."},
			{Line: 3, Column: "email", Message: "Enter a valid email address, like name@example.com."},
		}
		if !rep.DryRun || rep.Rows != 2 || fmt.Sprint(rep.Errors) != fmt.Sprint(want) {
			t.Fatalf("dry run %+v", rep)
		}
		var refused struct {
			Error struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			} `json:"error"`
			Report contact.ImportReport `json:"report"`
		}
		imp("?dry_run=false&country=ES", bad, 422).Decode(&refused)
		if refused.Error.Code != "validation_failed" || refused.Error.Fields["line 3, phone"] == "" || len(refused.Report.Errors) != 2 {
			t.Fatalf("refused import %+v", refused)
		}
		var list page[contact.Contact]
		admin.Do("GET", "/api/v1/contacts", nil).Expect(200).Decode(&list)
		if len(list.Items) != 0 {
			t.Fatalf("a refused import wrote %+v", list.Items)
		}

		good := "name,phone,email,tags,owner\nAna,612 34 56 78,ana@example.com,\"vip, new\",sales@example.com\nBo,+34 612 34 56 79,,,later@example.com\nCy,,cy@example.com,vip,\n"
		imp("?dry_run=false&country=ES", good, 200).Decode(&rep)
		if rep.DryRun || rep.Created != 3 || rep.Pending != 1 || len(rep.Errors) != 0 {
			t.Fatalf("import %+v", rep)
		}
		names := func(c *testrig.Client, query string) string {
			t.Helper()
			var p page[contact.Contact]
			c.Do("GET", "/api/v1/contacts"+query, nil).Expect(200).Decode(&p)
			var out []string
			for _, c := range p.Items {
				out = append(out, c.Name)
			}
			return strings.Join(out, ",")
		}
		for q, want := range map[string]string{
			"?tag=vip":                           "Cy,Ana",
			"?owner=pending":                     "Bo",
			"?owner=none":                        "Cy",
			"?owner=" + fmt.Sprint(sales.UserID): "Ana",
			"?owner=" + fmt.Sprint(sales.UserID) + "&q=zzz": "",
			"?q=" + url.QueryEscape("+3461234567"):          "Bo,Ana",
		} {
			if got := names(admin, q); got != want {
				t.Errorf("GET /api/v1/contacts%s: %q, want %q", q, got, want)
			}
		}
		if got := names(sales, ""); got != "Ana" {
			t.Errorf("the sales agent sees %q, want their own customer", got)
		}
		admin.Do("GET", "/api/v1/contacts?owner=someone", nil).Expect(422)

		// The export: CSV, the filters of the list, importable unchanged.
		r := admin.Do("GET", "/api/v1/contacts/export?tag=vip", nil).Expect(200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("export headers %v", r.Header)
		}
		wantCSV := "name,phone,email,tags,owner\nCy,,cy@example.com,vip,\nAna,+34612345678,ana@example.com,\"new, vip\",sales@example.com\n"
		if string(r.Body) != wantCSV {
			t.Errorf("export %q, want %q", r.Body, wantCSV)
		}
		imp("?dry_run=true", string(r.Body), 200).Decode(&rep)
		if rep.Unchanged != 2 || rep.Created != 0 || rep.Updated != 0 {
			t.Errorf("the export imported back: %+v", rep)
		}
		if got := string(sales.Do("GET", "/api/v1/contacts/export", nil).Expect(200).Body); !strings.Contains(got, "Ana") || strings.Contains(got, "Cy") {
			t.Errorf("the sales agent's export %q", got)
		}

		// Not CSV; not an admin; a bad dry_run.
		admin.Do("POST", "/api/v1/contacts/import", []byte(`{}`)).Expect(415)
		body, h := csvBody(good)
		sales.Do("POST", "/api/v1/contacts/import", body, h...).Expect(403)
		imp("?dry_run=maybe", good, 422)
		imp("?country=Spain", good, 422)
	})
}

// TestSetOwnerAPI sets owners by agent id and by email through PUT
// /api/v1/contacts/{id}/owner: a pending owner is shown as the address;
// sales agents hand over only their own customers.
func TestSetOwnerAPI(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		sales := srv.NewUser("sales@example.com", policy.Sales)
		other := srv.NewUser("other@example.com", policy.Sales)
		body, h := csvBody("name,email\nAna,ana@example.com\n")
		admin.Do("POST", "/api/v1/contacts/import?dry_run=false", body, h...).Expect(200)
		var list page[contact.Contact]
		admin.Do("GET", "/api/v1/contacts", nil).Expect(200).Decode(&list)
		path := fmt.Sprintf("/api/v1/contacts/%d/owner", list.Items[0].ID)

		var c contact.Contact
		admin.Do("PUT", path, map[string]any{"email": "New.Person@example.com"}).Expect(200).Decode(&c)
		if c.OwnerID != nil || c.OwnerEmail == nil || *c.OwnerEmail != "new.person@example.com" {
			t.Fatalf("pending owner %+v", c)
		}
		admin.Do("PUT", path, map[string]any{"email": "sales@example.com"}).Expect(200).Decode(&c)
		if c.OwnerID == nil || *c.OwnerID != sales.UserID || c.OwnerEmail != nil {
			t.Fatalf("owner by a user's email %+v", c)
		}
		// A colleague's customer: not seen (404); their own: handed over.
		other.Do("PUT", path, map[string]any{"agent_id": other.UserID}).Expect(404)
		sales.Do("PUT", path, map[string]any{"agent_id": other.UserID}).Expect(200).Decode(&c)
		if *c.OwnerID != other.UserID {
			t.Fatalf("handed over %+v", c)
		}
		e := admin.Do("PUT", path, map[string]any{"agent_id": 1, "email": "a@example.com"}).Expect(422).Err()
		if e.Fields["agent_id"] == "" {
			t.Errorf("both: %+v", e)
		}
		e = admin.Do("PUT", path, map[string]any{"email": "not an address"}).Expect(422).Err()
		if e.Fields["email"] == "" {
			t.Errorf("a bad address: %+v", e)
		}
		admin.Do("PUT", path, map[string]any{"owner": 1}).Expect(400) // unknown field
	})
}
