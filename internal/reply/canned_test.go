package reply_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var emails atomic.Int64

// actors makes users of the roles given and returns them as actors.
func actors(t *testing.T, d *db.DB, roles ...policy.Role) []policy.Actor {
	t.Helper()
	users := user.NewStore(d, event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler)), func(string) (string, error) { return "h", nil })
	var out []policy.Actor
	for _, r := range roles {
		u, err := users.Create(context.Background(), user.NewUser{Email: fmt.Sprintf("%s%d@example.com", r, emails.Add(1)), Name: "User", Role: r, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, policy.Actor{UserID: u.ID, Role: r})
	}
	return out
}

// field is the message of a problem's field, or "" (with the error
// itself when it is no field problem).
func field(err error, name string) string {
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindInvalid {
		return ""
	}
	return p.Fields[name]
}

func kind(err error) problem.Kind {
	if p, ok := problem.As(err); ok {
		return p.Kind
	}
	return 0
}

func text(s string) reply.Message { return reply.Message{Kind: reply.Text, Text: s} }

func codes(cs []reply.Canned) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ShortCode)
	}
	return strings.Join(out, " ")
}

// TestCanned: company presets are admins' to make and everyone's to use;
// personal ones are their owner's alone; short codes are unique per owner
// whatever their case; the search looks in short codes first.
func TestCanned(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		as := actors(t, d, policy.Admin, policy.Service, policy.Sales, policy.InboxManager)
		admin, ana, ben, ivy := as[0], as[1], as[2], as[3]
		s := reply.NewCannedStore(d)

		// Short codes: letters, digits, - and _; the slash that calls one
		// is not part of it.
		for code, want := range map[string]string{
			"":                      "Enter a short code.",
			"two words":             "A short code has only letters, digits, - and _ (no spaces).",
			"hi!":                   "A short code has only letters, digits, - and _ (no spaces).",
			strings.Repeat("a", 41): "A short code has at most 40 characters (this one has 41).",
			"/":                     "Enter a short code.",
		} {
			if _, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: code, Message: text("x")}); field(err, "short_code") != want {
				t.Errorf("short code %q: %v, want %q", code, err, want)
			}
		}
		if _, err := s.Create(ctx, ana, reply.NewCanned{Scope: "team", ShortCode: "x", Message: text("x")}); field(err, "scope") == "" {
			t.Errorf("scope team: %v", err)
		}

		thanks, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "/Thanks", Message: text("Thank you, {{contact.name}} 🙏")})
		if err != nil || thanks.Scope != reply.Personal || thanks.ShortCode != "Thanks" || thanks.OwnerID == nil || *thanks.OwnerID != ana.UserID {
			t.Fatalf("create: %+v %v", thanks, err)
		}
		if _, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "thanks", Message: text("again")}); field(err, "short_code") != "You already have a canned response with this short code." {
			t.Errorf("the same code in another case: %v", err)
		}
		// Another agent's, and a company preset, may have the same code.
		if _, err := s.Create(ctx, ben, reply.NewCanned{ShortCode: "thanks", Message: text("Cheers!")}); err != nil {
			t.Errorf("Ben's thanks: %v", err)
		}
		if _, err := s.Create(ctx, ana, reply.NewCanned{Scope: reply.Company, ShortCode: "hours", Message: text("x")}); kind(err) != problem.KindForbidden {
			t.Errorf("a service agent makes a company preset: %v", err)
		}
		hours, err := s.Create(ctx, admin, reply.NewCanned{Scope: reply.Company, ShortCode: "hours", Message: text("We are open 9:00–18:00, *Monday to Friday*.")})
		if err != nil || hours.Scope != reply.Company || hours.OwnerID != nil {
			t.Fatalf("company preset: %+v %v", hours, err)
		}
		if _, err := s.Create(ctx, admin, reply.NewCanned{Scope: reply.Company, ShortCode: "HOURS", Message: text("x")}); field(err, "short_code") != "A company preset already has this short code." {
			t.Errorf("a second company hours: %v", err)
		}
		companyThanks, err := s.Create(ctx, admin, reply.NewCanned{Scope: reply.Company, ShortCode: "thanks", Message: text("Thanks from all of us")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "return-policy_2", Message: text("Returns within 30 days; 100% refund")}); err != nil {
			t.Fatal(err)
		}

		// Who sees what.
		list := func(a policy.Actor, f reply.CannedFilter) string {
			t.Helper()
			cs, err := s.List(ctx, a, f)
			if err != nil {
				t.Fatal(err)
			}
			return codes(cs)
		}
		for _, tc := range []struct {
			who  policy.Actor
			f    reply.CannedFilter
			want string
		}{
			{ana, reply.CannedFilter{}, "hours return-policy_2 Thanks thanks"}, // personal before company for the same code
			{ana, reply.CannedFilter{Scope: "personal"}, "return-policy_2 Thanks"},
			{ana, reply.CannedFilter{Scope: "company"}, "hours thanks"},
			{ben, reply.CannedFilter{Scope: "all"}, "hours thanks thanks"},
			{admin, reply.CannedFilter{}, "hours thanks"},
			{ivy, reply.CannedFilter{Scope: "personal"}, ""},
			// A search: short codes that start with it, then that have it,
			// then content.
			{ana, reply.CannedFilter{Q: "th"}, "Thanks thanks return-policy_2"},
			{ana, reply.CannedFilter{Q: "/ho"}, "hours"},
			{ana, reply.CannedFilter{Q: "o"}, "hours return-policy_2 Thanks thanks"},
			{ana, reply.CannedFilter{Q: "t"}, "Thanks thanks return-policy_2 hours"},
			{ana, reply.CannedFilter{Q: "MONDAY"}, "hours"},
			{ana, reply.CannedFilter{Q: "🙏"}, "Thanks"},
			{ana, reply.CannedFilter{Q: "100%"}, "return-policy_2"},
			{ana, reply.CannedFilter{Q: "y_2"}, "return-policy_2"},
			{ana, reply.CannedFilter{Q: "%"}, "return-policy_2"},
			{ana, reply.CannedFilter{Q: "_"}, "return-policy_2"},
			{ana, reply.CannedFilter{Q: "nothing like it"}, ""},
			{ana, reply.CannedFilter{Q: "t", Limit: 2}, "Thanks thanks"},
		} {
			if got := list(tc.who, tc.f); got != tc.want {
				t.Errorf("user %d lists %+v: %q, want %q", tc.who.UserID, tc.f, got, tc.want)
			}
		}
		if _, err := s.List(ctx, ana, reply.CannedFilter{Scope: "mine"}); field(err, "scope") == "" {
			t.Errorf("scope mine: %v", err)
		}

		// Another agent's is not found; a preset is the admins' to change.
		if _, err := s.Get(ctx, ben, thanks.ID); !errors.Is(err, reply.ErrCannedNotFound) {
			t.Errorf("Ben reads Ana's: %v", err)
		}
		if _, err := s.Get(ctx, admin, thanks.ID); !errors.Is(err, reply.ErrCannedNotFound) {
			t.Errorf("an admin reads Ana's: %v", err)
		}
		if _, err := s.Update(ctx, ben, thanks.ID, reply.CannedPatch{ShortCode: new("mine")}); !errors.Is(err, reply.ErrCannedNotFound) {
			t.Errorf("Ben changes Ana's: %v", err)
		}
		if err := s.Delete(ctx, ben, thanks.ID); !errors.Is(err, reply.ErrCannedNotFound) {
			t.Errorf("Ben deletes Ana's: %v", err)
		}
		if _, err := s.Update(ctx, ana, hours.ID, reply.CannedPatch{ShortCode: new("open")}); kind(err) != problem.KindForbidden {
			t.Errorf("Ana changes a preset: %v", err)
		}
		if err := s.Delete(ctx, ivy, hours.ID); kind(err) != problem.KindForbidden {
			t.Errorf("an inbox manager deletes a preset: %v", err)
		}

		// Changes.
		if _, err := s.Update(ctx, ana, thanks.ID, reply.CannedPatch{ShortCode: new("RETURN-POLICY_2")}); field(err, "short_code") == "" {
			t.Errorf("renamed to a code taken: %v", err)
		}
		if _, err := s.Update(ctx, ana, thanks.ID, reply.CannedPatch{ShortCode: new("no spaces please")}); field(err, "short_code") == "" {
			t.Errorf("renamed to a bad code: %v", err)
		}
		got, err := s.Update(ctx, ana, thanks.ID, reply.CannedPatch{ShortCode: new("ty"), Message: new(text("Thanks!"))})
		if err != nil || got.ShortCode != "ty" || got.Message.Text != "Thanks!" || !got.UpdatedAt.After(thanks.UpdatedAt) && !got.UpdatedAt.Equal(thanks.UpdatedAt) {
			t.Fatalf("update: %+v %v", got, err)
		}
		if got, _ := s.Get(ctx, ana, thanks.ID); got.ShortCode != "ty" || got.Message.Text != "Thanks!" || got.Scope != reply.Personal {
			t.Errorf("read back: %+v", got)
		}
		if got, err := s.Update(ctx, admin, companyThanks.ID, reply.CannedPatch{Message: new(text("Thanks, from the whole team"))}); err != nil || got.ShortCode != "thanks" {
			t.Errorf("an admin changes a preset: %+v %v", got, err)
		}
		if err := s.Delete(ctx, admin, hours.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, ana, thanks.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, ana, thanks.ID); !errors.Is(err, reply.ErrCannedNotFound) {
			t.Errorf("deleted twice: %v", err)
		}
		if got := list(ana, reply.CannedFilter{}); got != "return-policy_2 thanks" {
			t.Errorf("after deletes: %q", got)
		}
	})
}

// pixel is a 1×1 PNG.
var pixel = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// TestCannedFiles: a canned response keeps its file, uploaded once. The
// daily cleanup of uploads never sent leaves it (and its file) however
// old, while the copies made for replies that were never sent go; the
// file goes only once nothing names it.
func TestCannedFiles(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		as := actors(t, d, policy.Admin, policy.Service, policy.Service)
		admin, ana, ben := as[0], as[1], as[2]
		dir := t.TempDir()
		files := attachment.NewStore(d, dir, attachment.DefaultLimits)
		s := reply.NewCannedStore(d)
		save := func(a policy.Actor) attachment.Attachment {
			t.Helper()
			at, err := files.Save(ctx, attachment.From{Uploader: attachment.Uploader("user", a.UserID)}, "logo.png", strings.NewReader(string(pixel)))
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
		onDisk := func(at attachment.Attachment) bool {
			_, err := os.Stat(filepath.Join(dir, at.SHA256[:2], at.SHA256[2:4], at.SHA256))
			return err == nil
		}
		// Everything uploaded so far is older than the cleanup's day.
		age := func() {
			t.Helper()
			if _, err := d.Exec(ctx, `UPDATE attachments SET created_at = $1`, db.Now().Add(-48*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		cleanup := func() int {
			t.Helper()
			n, err := files.DeleteUnattached(ctx, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		media := func(id int64) reply.Message {
			return reply.Message{Kind: reply.Media, Text: "Our logo", AttachmentID: id}
		}

		logo := save(admin)
		preset, err := s.Create(ctx, admin, reply.NewCanned{Scope: reply.Company, ShortCode: "logo", Message: media(logo.ID)})
		if err != nil || preset.Attachment == nil || preset.Attachment.ID != logo.ID || preset.Attachment.Filename != "logo.png" {
			t.Fatalf("create with a file: %+v %v", preset, err)
		}
		// The upload is the preset's now: neither another canned response
		// nor a reply can take it.
		if _, err := s.Create(ctx, admin, reply.NewCanned{ShortCode: "mine", Message: media(logo.ID)}); field(err, "message.attachment_id") == "" {
			t.Errorf("the preset's file taken again: %v", err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			_, err := attachment.Link(ctx, tx, 1, attachment.Uploader("user", admin.UserID), []int64{logo.ID}, files.Limits)
			return err
		})
		if field(err, "attachments") == "" {
			t.Errorf("the preset's file sent as a reply's: %v", err)
		}
		// Someone else's upload is not Ana's to keep.
		bens := save(ben)
		if _, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "b", Message: media(bens.ID)}); field(err, "message.attachment_id") == "" {
			t.Errorf("Ben's upload in Ana's canned response: %v", err)
		}
		if unsent, _, _ := files.Unattached(ctx); unsent != 1 {
			t.Errorf("%d uploads waiting to be sent, want Ben's alone (the preset's is kept)", unsent)
		}

		// Every agent inserts the preset's file: a copy each, same content.
		copyA, err := s.CopyAttachment(ctx, ana, preset.ID)
		if err != nil || copyA.ID == logo.ID || copyA.SHA256 != logo.SHA256 {
			t.Fatalf("copy: %+v %v", copyA, err)
		}
		copyB, err := s.CopyAttachment(ctx, ben, preset.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Ana's copy is hers to send.
		err = d.Write(ctx, func(tx *db.Tx) error {
			_, err := attachment.Link(ctx, tx, 999999, attachment.Uploader("user", ben.UserID), []int64{copyA.ID}, files.Limits)
			return err
		})
		if field(err, "attachments") == "" {
			t.Errorf("Ben sends Ana's copy: %v", err)
		}

		// A day later the cleanup removes the copies never sent (and Ben's
		// upload, the same picture), but not the preset's row or the file.
		age()
		if n := cleanup(); n != 3 {
			t.Errorf("cleanup removed %d uploads, want the two copies and Ben's upload", n)
		}
		for _, id := range []int64{copyA.ID, copyB.ID, bens.ID} {
			if _, err := attachment.Get(ctx, d, id); kind(err) != problem.KindNotFound {
				t.Errorf("upload %d after the cleanup: %v", id, err)
			}
		}
		if got, err := s.Get(ctx, ben, preset.ID); err != nil || got.Attachment == nil || got.Attachment.ID != logo.ID {
			t.Errorf("the preset after the cleanup: %+v %v", got, err)
		}
		if !onDisk(logo) {
			t.Fatal("the cleanup removed the preset's file")
		}
		if _, err := s.CopyAttachment(ctx, ana, preset.ID); err != nil {
			t.Errorf("copy after the cleanup: %v", err)
		}

		// A new file replaces the old one, which is let go.
		pdf, err := files.Save(ctx, attachment.From{Uploader: attachment.Uploader("user", admin.UserID)}, "prices.pdf", strings.NewReader("%PDF-1.7 prices"))
		if err != nil {
			t.Fatal(err)
		}
		preset, err = s.Update(ctx, admin, preset.ID, reply.CannedPatch{Message: new(media(pdf.ID))})
		if err != nil || preset.Attachment == nil || preset.Attachment.ID != pdf.ID {
			t.Fatalf("new file: %+v %v", preset, err)
		}
		// The text changes, the file stays (even for another admin).
		other := actors(t, d, policy.Admin)[0]
		m := media(pdf.ID)
		m.Text = "Our prices"
		if preset, err = s.Update(ctx, other, preset.ID, reply.CannedPatch{Message: &m}); err != nil || preset.Attachment == nil || preset.Attachment.ID != pdf.ID {
			t.Fatalf("same file: %+v %v", preset, err)
		}
		age()
		cleanup()
		if onDisk(logo) {
			t.Error("the replaced logo is still on disk, and nothing names it")
		}
		if !onDisk(pdf) {
			t.Error("the file in use was removed")
		}

		// Deleted, the preset lets its file go.
		if err := s.Delete(ctx, admin, preset.ID); err != nil {
			t.Fatal(err)
		}
		age()
		cleanup()
		if onDisk(pdf) {
			t.Error("the deleted preset's file is still on disk")
		}
	})
}

// TestCannedButtons: a canned response keeps buttons, and a search finds
// it by their words.
func TestCannedButtons(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ana := actors(t, d, policy.Service)[0]
		s := reply.NewCannedStore(d)
		m := reply.Message{Kind: reply.Interactive, Text: "Was this helpful?", Interactive: &whatsapp.Interactive{Type: whatsapp.InteractiveButtons,
			Buttons: []whatsapp.Button{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "Not really"}}}}
		c, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "ask", Message: m})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, ana, c.ID)
		if err != nil || got.Message.Interactive == nil || len(got.Message.Interactive.Buttons) != 2 || got.Message.Interactive.Buttons[1].Title != "Not really" {
			t.Fatalf("read back: %+v %v", got, err)
		}
		if cs, _ := s.List(ctx, ana, reply.CannedFilter{Q: "really"}); codes(cs) != "ask" {
			t.Errorf("search by a button's title: %q", codes(cs))
		}
		// Meta's limits hold when it is saved, field by field.
		bad := m
		bad.Interactive = &whatsapp.Interactive{Type: whatsapp.InteractiveButtons, Buttons: []whatsapp.Button{{ID: "a", Title: "A title far too long for a button"}}}
		_, err = s.Update(ctx, ana, c.ID, reply.CannedPatch{Message: &bad})
		if field(err, "message.interactive.buttons.0.title") == "" {
			t.Errorf("a long button title: %v", err)
		}
		if _, err := s.Create(ctx, ana, reply.NewCanned{ShortCode: "empty", Message: reply.Message{Kind: reply.Text}}); field(err, "message.text") == "" {
			t.Errorf("an empty text: %v", err)
		}
		if got, _ := s.Get(ctx, ana, c.ID); got.Message.Interactive == nil || got.Message.Interactive.Buttons[0].Title != "Yes" {
			t.Errorf("a refused change was written: %+v", got.Message)
		}
	})
}
