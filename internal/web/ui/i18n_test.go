package ui

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/report"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Every string of the agent workspace exists in every language: this
// test collects the keys — the t-strings of the templates and scripts,
// the words handlers build pages from, and the messages feature packages
// return to people — and fails for each one a catalog lacks. (The web
// chat widget speaks the site's language: TestWidgetWords checks its
// words; its demo page is not collected. The WhatsApp channel's messages to
// agents are: es/whatsapp.json holds them.)

var (
	// {{t "Send"}}, (t "Assigned to %s" .Agent)
	templateKeyRE = regexp.MustCompile(`(?:\{\{-?\s*|\()t\s+("(?:[^"\\]|\\.)*")`)
	// Messages in Go: problem.Invalid("field", "…"), f.Add("field", "…"),
	// problem.Conflict("…"), problem.New(kind, "…"), errCode("…"), …
	goMessageREs = []*regexp.Regexp{
		regexp.MustCompile(`\bInvalid\(\s*"[^"]*",\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\.Add\(\s*[^,()]+,\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\bproblem\.(?:Conflict|Forbidden)\(\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\bproblem\.New\(\s*problem\.Kind\w+,\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\b(?:errCode|invalid|malformed)\(\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\bMessage:\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`Fields:\s*map\[string\]string\{"[^"]*":\s*("(?:[^"\\]|\\.)*")`),
		// Validators that return the message: return "Enter a name."
		regexp.MustCompile(`\breturn\s+(?:"",\s*)?("[A-Z][^"]*[.!?]")`),
		// Words for people chosen in code: Title: "Users", Notice: "Saved."
		regexp.MustCompile(`\b(?:Title|Notice|Error):\s*("(?:[^"\\]|\\.)*")`),
		regexp.MustCompile(`\bd\.Title,[^=\n]*=\s*("(?:[^"\\]|\\.)*")`),
	}
	notFoundRE = regexp.MustCompile(`\bNotFound\(\s*"([^"]+)"\s*\)`)
	// Strings that match the patterns above but are not for people.
	notForPeople = []string{"%s", ""}
)

// messageDirs are the packages whose messages reach agents and admins.
var messageDirs = []string{
	"../../user", "../../auth", "../../avatar", "../../invite", "../../team", "../../availability", "../../conversation", "../../contact",
	"../../inbox", "../../tag", "../../attachment", "../../account", "../../problem", "../../routing", "../../raster", "../../phone", "../../emailchange", "../../channel/whatsapp", "../../reply", "../../reply/welcome", "../../bot",
	"../../report",
	"..", ".", "admin", "../httpx",
}

// messageFiles are files of other packages whose messages reach admins:
// a web chat inbox's settings (the rest of the channel speaks to
// visitors).
var messageFiles = []string{"../../channel/webchat/settings.go", "../../channel/webchat/interactive.go"}

// notAgents are files of those packages that speak to customers (web
// chat visitors) or to Meta (WhatsApp's webhook), not to agents.
var notAgents = []string{"public.go", "webhook.go"}

func unquote(t *testing.T, q string) string {
	s, err := strconv.Unquote(q)
	if err != nil {
		t.Fatalf("unquote %s: %v", q, err)
	}
	return s
}

// catalogKeys collects every key the workspace needs translated.
func catalogKeys(t *testing.T) map[string]string {
	keys := map[string]string{} // key → where it was found
	add := func(k, where string) {
		// A fragment of a message built by concatenation ("There is no "
		// + method…) is listed whole, with verbs, among the handlers' words.
		if slices.Contains(notForPeople, k) || strings.HasSuffix(k, " ") {
			return
		}
		if _, ok := keys[k]; !ok {
			keys[k] = where
		}
	}
	// Templates.
	err := fs.WalkDir(content, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "demo.html") {
			return err
		}
		b, _ := content.ReadFile(p)
		for _, m := range templateKeyRE.FindAllSubmatch(b, -1) {
			add(unquote(t, string(m[1])), p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Scripts (app.js, people.js): t("…").
	var scripts [][]byte
	for _, name := range []string{"static/app.js", "static/people.js", "static/whatsapp.js", "static/typing.js", "static/reply.js"} {
		b, err := content.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, b)
	}
	for _, k := range jsKeys(scripts...) {
		add(k, "scripts")
	}
	// Words chosen by code and shown through {{t .Something}}.
	for _, c := range RoleChoices {
		add(c.Name, "roleChoices")
		add(c.Help, "roleChoices")
	}
	for _, s := range user.Statuses {
		add(s.Label(), "statuses")
	}
	for _, tr := range user.Triggers {
		add(tr.Label(), "triggers")
	}
	for _, s := range user.Sounds {
		add(user.SoundLabel(s), "sounds")
	}
	for _, m := range []auth.Method{"", auth.MethodEmail, auth.MethodSMS, auth.MethodTOTP} {
		add(m.Label(), "methods")
	}
	// WhatsApp: what to do about Meta's error codes, and the number's
	// field messages (kept in tables).
	for _, h := range whatsapp.Hints() {
		add(h, "whatsapp hints")
	}
	for _, m := range whatsapp.Messages() {
		add(m, "channel/whatsapp/compose.go")
	}
	for _, m := range whatsapp.ParamLabels() {
		add(m, "channel/whatsapp/template.go")
	}
	for _, m := range whatsapp.SettingsMessages() {
		add(m, "channel/whatsapp/settings.go")
	}
	for _, m := range text.Messages() {
		add(m, "text/text.go")
	}
	// Error pages are titled with the status text.
	for _, code := range []int{400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503} {
		add(http.StatusText(code), "status texts")
	}
	for _, n := range Notices {
		add(n, "notices")
	}
	// The satisfaction report's words: its CSV, the kinds of automatic
	// messages (the timeline's labels too), the rating scale.
	for _, w := range append(satisfactionWords, closeNotes...) {
		add(w, "satisfaction.go")
	}
	for _, k := range append(report.AutoKinds, "") {
		add(autoKindLabel(k), "autoKindLabel")
	}
	for lv := 1; lv <= report.Levels; lv++ {
		add(levelLabel(lv), "levelLabel")
	}
	// (The admin pages' notices: package admin checks them.)
	for _, w := range []string{"Visitor %d", "%s on %s", "Unknown device", "Go program", "seconds", "second",
		"Agent", "Team", "Agents", "Status", "Total time", "Total seconds", "Average time", "Average seconds", "Spells",
		// Messages formatted with fmt or by concatenation.
		"Too many requests: try again in %d %s.", "Something went wrong on our side (request %s). It has been logged.",
		"There is no %s %s.", "The request body is larger than %d bytes.", "Expected %s here, not a JSON %s.",
		"Use at least %d characters.", "WhatsApp could not be asked for the templates: %s",
		"Your password is changed. Your other sessions have been signed out and your %d API tokens were revoked: programs that used them need new ones.",
		"Your password is changed. Your other sessions have been signed out, %d API tokens were revoked and %d kept.",
		"Your password is changed. Your other sessions have been signed out; your %d API tokens were kept.",
		// Mail and text messages.
		"%s invites you to Switchboard", "%s has invited you to join Switchboard as %s.",
		"Open this link to choose your name and password. It works once, until %s (UTC):",
		"If you did not expect this invitation, ignore this mail.", "Your Switchboard code: %s", "Your Switchboard code is %s.",
		"It works once, for 5 minutes. If you did not ask for it, change your password.", "Switchboard code: %s (valid 5 minutes).",
		"Use it to sign in.", "Use it to change your two-factor authentication.", "Use it to confirm your mobile number.",
		"Confirm your new email address for Switchboard", "%s asked to change the email address you sign in to Switchboard with, as %s, to this one: %s.",
		"Open this link to confirm the change. It works once, until %s (UTC):",
		"Until then you sign in with your present address. If you did not expect this mail, ignore it: nothing changes.",
		"Your Switchboard email address was changed", "If you did not expect this, tell an administrator at once.",
		"The email address you sign in to Switchboard with is now %s; this address (%s) no longer signs you in.",
		// Page titles built in handlers.
		"%s created", "%s: new secret", "Mobile number"} {
		add(w, "handlers")
	}
	// Messages of the feature packages.
	for _, dir := range append(messageDirs, messageFiles...) {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if strings.HasSuffix(dir, ".go") {
			files, err = []string{dir}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || slices.Contains(notAgents, filepath.Base(f)) {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range goMessageREs {
				for _, m := range re.FindAllSubmatch(b, -1) {
					add(unquote(t, string(m[1])), f)
				}
			}
			for _, m := range notFoundRE.FindAllSubmatch(b, -1) {
				add(string(m[1])+" not found.", f)
			}
		}
	}
	return keys
}

// catalog loads the translations (package web embeds them).
func catalog(t *testing.T) *i18n.Catalog {
	cat, err := i18n.Load(os.DirFS("../i18n"))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestEveryStringTranslated(t *testing.T) {
	cat := catalog(t)
	keys := catalogKeys(t)
	if len(keys) < 300 {
		t.Fatalf("only %d keys found: the extraction is broken", len(keys))
	}
	for _, l := range cat.Languages()[1:] {
		var missing []string
		for k, where := range keys {
			if !cat.Has(l.Code, k) {
				missing = append(missing, strconv.Quote(k)+" ("+where+")")
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%d strings have no %s translation in internal/web/i18n/%s/*.json:\n%s", len(missing), l.Name, l.Code, strings.Join(missing, "\n"))
		}
	}
}
