package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/mail/mailtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// TestPeople is a newcomer's first day, in two real browsers: an admin
// invites them; they open the invitation mail (read from an SMTP server
// in the test), choose a name and password, switch on email codes, sign
// out and in again with a code from their mail, set themselves
// Available, change their picture and their language; the admin's report
// counts their time.
func TestPeople(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { people(t, d) })
}

// startWithMail starts a node whose mail goes to an SMTP server in the
// test, and returns both.
func startWithMail(t *testing.T, d *db.DB) (*testrig.Server, *mailtest.Server) {
	smtp := mailtest.Start(t)
	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) {
		m, err := mail.ParseURL(smtp.URL)
		if err != nil {
			t.Fatal(err)
		}
		c.SMTP = &m
		c.MailFrom, _ = mail.ParseFrom("Switchboard <switchboard@example.com>")
	}})
	return srv, smtp
}

func people(t *testing.T, d *db.DB) {
	srv, smtp := startWithMail(t, d)
	srv.NewUser("admin@example.com", policy.Admin)
	in, _ := srv.NewWebchatInbox("Main site")

	// The admin invites by email, with a role and an inbox.
	admin := wsSignIn(t, srv, "admin@example.com", "/admin/invitations")
	Do(t, admin,
		chromedp.WaitVisible(chromedp.CSS(`.invite-form`)),
		chromedp.SendKeys(chromedp.CSS(`.invite-form input[name=email]`), "newcomer@example.com"),
		chromedp.Click(chromedp.CSS(`.invite-form input[name=role][value=service]`)),
		chromedp.Click(chromedp.CSS(`.invite-form input[name=inbox_ids][value="`+strconv.FormatInt(in.ID, 10)+`"]`)),
		chromedp.Click(chromedp.CSS(`.invite-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	wsWaitText(t, admin, ".notice", "Invitation sent.")
	wsWaitText(t, admin, "table.invitations", "newcomer@example.com")

	// The invitation mail arrives over SMTP with a link.
	m := smtp.Wait(t, "newcomer@example.com", "invites you")
	link := m.Link()
	if !strings.HasPrefix(link, srv.URL+"/invitations/") {
		t.Fatalf("link %q in %q", link, m.Text)
	}

	// The newcomer opens it, chooses a name and password, and is in.
	me := Browser(t)
	Do(t, me,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Nora Newcomer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long enough password"),
		chromedp.SendKeys(chromedp.CSS(`input[name=repeat_password]`), "a long enough password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top`)),
	)
	wsWaitText(t, me, "#me-name", "Nora Newcomer")
	// After signing in an agent is Away.
	wsWaitText(t, me, "#me-status .status-badge", "Away")

	// Two-factor authentication by email: switching it on needs a code.
	mails := smtp.Count()
	Do(t, me,
		chromedp.Navigate(srv.URL+"/preferences/security"),
		chromedp.WaitVisible(chromedp.CSS(`.two-factor-form`)),
		chromedp.Click(chromedp.CSS(`.two-factor-form input[value=email]`)),
		chromedp.Click(chromedp.CSS(`.two-factor-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.two-factor-change input[name=code]`)),
	)
	code, mails := smtp.Code(t, "newcomer@example.com", mails)
	Do(t, me,
		chromedp.SendKeys(chromedp.CSS(`.two-factor-change input[name=code]`), code),
		chromedp.Click(chromedp.CSS(`.two-factor-change .code-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	wsWaitText(t, me, ".two-factor-state", "Email")

	// Sign out, and in again: the password, then a code from the mail.
	Do(t, me,
		chromedp.Click(chromedp.CSS(`#me-menu summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#me-menu .menu-panel`)),
		chromedp.Click(chromedp.CSS(`#me-menu form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "newcomer@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long enough password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)),
	)
	code, _ = smtp.Code(t, "newcomer@example.com", mails)
	Do(t, me,
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/code"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rows`)),
	)
	wsLive(t, me)
	wsWaitText(t, me, "#me-status .status-badge", "Away")

	// Available, from the status menu under the avatar.
	Do(t, me,
		chromedp.Click(chromedp.CSS(`#me-menu summary`)),
		chromedp.WaitVisible(chromedp.CSS(`.status-choice[data-status=available]`)),
		chromedp.Click(chromedp.CSS(`.status-choice[data-status=available]`)),
	)
	wsWaitText(t, me, "#me-status .status-badge", "Available")
	wsWait(t, me, `() => !document.getElementById("me-menu").open`)

	// A new picture: it shows in the header.
	pic := filepath.Join(t.TempDir(), "me.png")
	if err := os.WriteFile(pic, picture(t), 0o644); err != nil {
		t.Fatal(err)
	}
	Do(t, me,
		chromedp.Navigate(srv.URL+"/preferences"),
		chromedp.WaitVisible(chromedp.CSS(`.avatar-form`)),
		chromedp.SetUploadFiles(chromedp.CSS(`.avatar-form input[type=file]`), []string{pic}),
		chromedp.Click(chromedp.CSS(`.avatar-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	wsWaitText(t, me, ".notice", "Your picture is saved.")
	wsWait(t, me, `() => { const i = document.querySelector("#me-avatar img.avatar"); return i && i.complete && i.naturalWidth === 640; }`)

	// Spanish: the page answers in the new language at once.
	Do(t, me,
		chromedp.SetValue(chromedp.CSS(`.profile-form select[name=language]`), "es"),
		chromedp.Click(chromedp.CSS(`.profile-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=es] p.notice`)),
	)
	wsWaitText(t, me, "h1", "Tus preferencias")
	wsWaitText(t, me, ".notice", "Guardado.")
	if lang := wsEval[string](t, me, `document.documentElement.lang`); lang != "es" {
		t.Errorf("lang %q", lang)
	}
	wsWaitText(t, me, "#me-status .status-badge", "Disponible")

	// The admin's report counts the time Available: as if she had been
	// Available for a minute and a half.
	since := db.Now().Add(-90 * time.Second)
	if _, err := d.Exec(context.Background(), `UPDATE status_intervals SET started_at = $1
		WHERE ended_at IS NULL AND status = 'available' AND user_id = (SELECT id FROM users WHERE email = $2)`, since, "newcomer@example.com"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	day := now.Format("2006-01-02")
	from := since
	if midnight := now.Truncate(24 * time.Hour); from.Before(midnight) {
		from = midnight // the report starts at midnight
	}
	want := int(now.Sub(from).Seconds())
	Do(t, admin, chromedp.Navigate(srv.URL+"/admin/reports/time-in-status?from="+day+"&to="+day))
	wsWaitText(t, admin, "table.report-table", "Nora Newcomer")
	secs := wsEval[int](t, admin, `(() => {
		const row = Array.from(document.querySelectorAll("table.report-table tbody tr")).find(r => r.textContent.includes("Nora Newcomer"));
		return row ? Number(row.querySelector('td[data-status="available"]').dataset.seconds) : -1;
	})()`)
	if secs < want || secs > want+60 {
		t.Errorf("the report counts %d seconds Available, want about %d", secs, want)
	}
	if n := wsEval[int](t, admin, `document.querySelectorAll("svg.status-chart rect.st-available").length`); n < 1 {
		t.Error("the chart has no Available bar")
	}
}

// picture is a 900×600 PNG.
func picture(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 900, 600))
	for y := range 600 {
		for x := range 900 {
			img.Set(x, y, color.RGBA{uint8(x / 4), uint8(y / 3), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
