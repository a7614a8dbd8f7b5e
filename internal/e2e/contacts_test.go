package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestContactsPage is an admin's contacts page in Chromium, on a desktop
// screen and at 390 px: a file checked (its errors listed by line and
// column) and imported, the list searched and filtered by tag and owner,
// a contact given a pending owner by email and then an agent, the
// contact's conversation opened, the export of a filter fetched. At
// 390 px nothing scrolls sideways.
func TestContactsPage(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			srv := testrig.Start(t, dbtest.SQLite(t))
			srv.NewUser("admin@example.com", policy.Admin)
			srv.NewUser("sales@example.com", policy.Sales)
			in, _ := srv.NewWebchatInbox("Site")
			srv.NewVisitor(in.Token, map[string]string{"name": "Vera Visitor"}).Say("hello")
			dir := t.TempDir()
			write := func(name, s string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			bad := write("bad.csv", "name,phone,email,tags,owner\nAna Alves,612 34 56 78,ana@example.com,vip,\nBo Berg,612,not-mail,,\n")
			good := write("good.csv", "name,phone,email,tags,owner\nAna Alves,612 34 56 78,ana@example.com,\"vip, new\",\nBo Berg,612 34 56 79,bo@example.com,,later@example.com\n")

			ctx := wsSignIn(t, srv, "admin@example.com", "/contacts")
			AllowStatus(ctx, 422, "/contacts/[0-9]+") // the owner "nobody", refused on purpose
			Do(t, ctx, chromedp.EmulateViewport(size.w, size.h))
			noSideways := func(where string) {
				t.Helper()
				if size.w > 400 {
					return
				}
				if over := wsEval[bool](t, ctx, `document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`); over {
					Shot(t, ctx, "contacts-"+where)
					t.Errorf("%s: the page scrolls sideways at %d px", where, size.w)
				}
			}

			// The import: a check that lists the errors, then the import.
			Do(t, ctx,
				chromedp.WaitVisible(chromedp.CSS(`table.contacts-table`)),
				chromedp.Click(chromedp.CSS(`a.contacts-import`)),
				chromedp.WaitVisible(chromedp.CSS(`.import-form`)),
				chromedp.SendKeys(chromedp.CSS(`.import-form input[name=country]`), "ES"),
				chromedp.SetUploadFiles(chromedp.CSS(`.import-form input[type=file]`), []string{bad}),
				chromedp.Click(chromedp.CSS(`button.import-check`)),
				chromedp.WaitVisible(chromedp.CSS(`table.import-errors`)),
			)
			rows := wsEval[string](t, ctx, `Array.from(document.querySelectorAll("table.import-errors tbody tr")).map(tr => Array.from(tr.cells).map(c => c.textContent.trim()).join("|")).join("\n")`)
			if want := "3|phone|This is not a valid phone number.\n3|email|Enter a valid email address, like name@example.com."; rows != want {
				t.Errorf("errors:\n%s\nwant:\n%s", rows, want)
			}
			noSideways("import errors")
			Do(t, ctx,
				chromedp.SetUploadFiles(chromedp.CSS(`.import-form input[type=file]`), []string{good}),
				chromedp.Click(chromedp.CSS(`button.import-check`)),
			)
			wsWait(t, ctx, `() => (document.querySelector(".import-summary")?.textContent || "").includes("Ready to import: 2 new")`)
			Do(t, ctx, chromedp.Click(chromedp.CSS(`button.import-run`)))
			wsWait(t, ctx, `() => (document.querySelector(".import-summary")?.textContent || "").includes("Imported: 2 new, 0 updated")`)

			// The list: search, tag, owner.
			list := func(query string) string {
				t.Helper()
				Do(t, ctx,
					chromedp.Navigate(srv.URL+"/contacts"+query),
					chromedp.WaitVisible(chromedp.CSS(`section.contacts`)),
				)
				return wsEval[string](t, ctx, `Array.from(document.querySelectorAll("table.contacts-table tbody th")).map(th => th.textContent.trim()).join(",")`)
			}
			if got := list(""); got != "Bo Berg,Ana Alves,Vera Visitor" {
				t.Errorf("all: %q", got)
			}
			noSideways("list")
			Do(t, ctx,
				chromedp.SendKeys(chromedp.CSS(`.contacts-filters input[name=q]`), "alves"),
				chromedp.Click(chromedp.CSS(`.contacts-filters button`)),
				chromedp.WaitVisible(chromedp.CSS(`.contacts-filters a[href="/contacts"]`)),
			)
			if got := wsEval[string](t, ctx, `Array.from(document.querySelectorAll("table.contacts-table tbody th")).map(th => th.textContent.trim()).join(",")`); got != "Ana Alves" {
				t.Errorf("search: %q", got)
			}
			if got := list("?tag=new"); got != "Ana Alves" {
				t.Errorf("tag: %q", got)
			}
			if got := list("?owner=pending"); got != "Bo Berg" {
				t.Errorf("pending: %q", got)
			}
			if got := wsEval[string](t, ctx, `document.querySelector("td.contact-owner .pending-owner").textContent`); got != "later@example.com" {
				t.Errorf("the pending owner shows as %q", got)
			}

			// The export of a filter, as the link fetches it.
			href := wsEval[string](t, ctx, `document.querySelector("a.contacts-export").getAttribute("href")`)
			if href != "/api/v1/contacts/export?owner=pending" {
				t.Errorf("export link %q", href)
			}
			csv := Run(t, ctx, chromedp.Evaluate[string](`fetch(document.querySelector("a.contacts-export").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
			if want := "name,phone,email,tags,owner\nBo Berg,+34612345679,bo@example.com,,later@example.com\n"; csv != want {
				t.Errorf("export %q, want %q", csv, want)
			}

			// A contact's owner: an address with no account, then an agent.
			list("?q=alves")
			open := func() {
				t.Helper()
				Do(t, ctx, chromedp.Navigate(srv.URL+wsEval[string](t, ctx, `document.querySelector("table.contacts-table tbody th a").getAttribute("href")`)))
			}
			open()
			Do(t, ctx,
				chromedp.WaitVisible(chromedp.CSS(`form.contact-form`)),
				chromedp.SetValue(chromedp.CSS(`form.contact-form input[name=owner]`), "newcomer@example.com"),
				chromedp.Click(chromedp.CSS(`form.contact-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.pending-owner-note`)),
			)
			if got := wsEval[string](t, ctx, `document.querySelector(".pending-owner-note").textContent`); !strings.Contains(got, "newcomer@example.com") {
				t.Errorf("pending note %q", got)
			}
			noSideways("contact")
			Do(t, ctx,
				chromedp.SetValue(chromedp.CSS(`form.contact-form input[name=owner]`), "nobody"),
				chromedp.Click(chromedp.CSS(`form.contact-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`.field-error[data-field=owner]`)),
				chromedp.SetValue(chromedp.CSS(`form.contact-form input[name=owner]`), "sales@example.com"),
				chromedp.SetValue(chromedp.CSS(`form.contact-form input[name=tags]`), "vip"),
				chromedp.Click(chromedp.CSS(`form.contact-form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
			)
			if got := list("?tag=vip"); got != "Ana Alves" {
				t.Errorf("after the edit, tag vip: %q", got)
			}
			if got := wsEval[string](t, ctx, `document.querySelector("td.contact-owner").textContent.trim()`); got != "Sales" {
				t.Errorf("owner shown %q", got)
			}

			// The visitor's conversation, from their contact.
			list("?q=vera")
			open()
			Do(t, ctx,
				chromedp.WaitVisible(chromedp.CSS(`ul.contact-conversations a`)),
			)
			if href := wsEval[string](t, ctx, `document.querySelector("ul.contact-conversations a").getAttribute("href")`); !strings.HasPrefix(href, "/inbox/conversations/") {
				t.Fatalf("the conversation's link %q", href)
			}
			Do(t, ctx,
				chromedp.Click(chromedp.CSS(`ul.contact-conversations a`)),
				chromedp.WaitVisible(chromedp.CSS(`#composer`)),
			)
		})
	}
}
