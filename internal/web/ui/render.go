// Package ui is the agent workspace: server-rendered pages (html/template,
// htmx for partial updates, small scripts for the live connection), their
// embedded templates and static files, and the handlers of the pages. Each
// feature's handlers are the methods of one struct holding what they use
// (InboxPages, PrefsPages, SigninPages, ReportPages, DemoPages; the
// administrators' pages are in package admin), which package web builds
// and registers in its one route table; they all write through one
// Renderer.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/flash"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
)

//go:embed all:templates static
var content embed.FS

// Renderer renders the agent workspace's pages (server-rendered, htmx for
// Partial updates, small scripts for the live connection) in the
// language of the request, and its error pages; it serves the embedded
// static files. Every page handler writes through it.
type Renderer struct {
	// pages are the parsed templates per language, then per page.
	pages  map[string]map[string]*template.Template
	assets map[string]asset
	// jsKeys are the strings the scripts show (see jsStrings);
	// widgetKeys those of the web chat widget (see widgetWords).
	jsKeys, widgetKeys []string

	catalog  *i18n.Catalog
	langs    *httpx.Languages
	users    *user.Store     // the signed-in user of a page, and their preferences
	hub      *realtime.Hub   // where a page's live connection resumes
	sessions *httpx.Sessions // who sees an error page
	logger   *slog.Logger
}

// asset is an embedded static file with its fingerprint.
type asset struct {
	body  []byte
	hash  string
	ctype string
}

func NewRenderer(catalog *i18n.Catalog, langs *httpx.Languages, users *user.Store, hub *realtime.Hub, sess *httpx.Sessions, logger *slog.Logger) (*Renderer, error) {
	u := &Renderer{pages: map[string]map[string]*template.Template{}, assets: map[string]asset{},
		catalog: catalog, langs: langs, users: users, hub: hub, sessions: sess, logger: logger}
	err := fs.WalkDir(content, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := content.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		u.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, hash: hex.EncodeToString(sum[:])[:12], ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := u.assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return "/static/" + name + "?v=" + a.hash, nil
		},
		"time":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":    func(t time.Time) string { return t.UTC().Format("Jan 2, 15:04") },
		"day":      func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
		"hasRole":  func(a policy.Actor, roles ...string) bool { return hasRole(a, roles...) },
		"allow":    func(a policy.Actor, action string) bool { return policy.Allow(a, policy.Action(action)) },
		"deref":    func(p *int64) int64 { return derefID(p) },
		"derefStr": func(p *string) string { return derefString(p) },
		"isID":     func(p *int64, id int64) bool { return p != nil && *p == id },
		"hasID":    func(ids []int64, id int64) bool { return slices.Contains(ids, id) },
		"micros":   func(t time.Time) int64 { return t.UnixMicro() },
		"size":     humanSize,
		"maxText":  func() int { return conversation.MaxTextLength },
		"linkify":  linkify,
		// waitMin is an estimated wait in whole minutes, at least 1 (0:
		// unknown).
		"waitMin": func(s *int) int {
			if s == nil {
				return 0
			}
			return max(1, (*s+59)/60)
		},
	}
	for k, v := range peopleFuncs() {
		funcs[k] = v
	}
	for k, v := range waFuncs() {
		funcs[k] = v
	}
	for k, v := range messageFormFuncs() {
		funcs[k] = v
	}
	for k, v := range reportFuncs() {
		funcs[k] = v
	}
	for k, v := range automationFuncs() {
		funcs[k] = v
	}
	layouts, err := fs.Glob(content, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(content, "templates/[a-z]*.html")
	if err != nil {
		return nil, err
	}
	var scripts [][]byte
	for name, a := range u.assets {
		if path.Ext(name) == ".js" && name != "widget.js" && name != "htmx.min.js" {
			scripts = append(scripts, a.body)
		}
	}
	u.jsKeys = jsKeys(scripts...)
	u.widgetKeys = jsKeys(u.assets["widget.js"].body)
	for _, l := range catalog.Languages() {
		u.pages[l.Code] = map[string]*template.Template{}
		for _, p := range pages {
			t, err := template.New(path.Base(p)).Funcs(funcs).Funcs(u.langFuncs(l.Code)).ParseFS(content, append(layouts, p)...)
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", p, err)
			}
			u.pages[l.Code][strings.TrimSuffix(path.Base(p), ".html")] = t
		}
	}
	return u, nil
}

// Widget is the web chat widget's script, its fingerprint and the words
// it shows (its t("…") strings), for the API that serves it.
func (u *Renderer) Widget() (script []byte, hash string, words []string) {
	a := u.assets["widget.js"]
	return a.body, a.hash, u.widgetKeys
}

// page returns a parsed page in a language.
func (u *Renderer) page(lang, name string) (*template.Template, bool) {
	ps, ok := u.pages[lang]
	if !ok {
		ps = u.pages[i18n.Default]
	}
	t, ok := ps[name]
	return t, ok
}

// langFuncs are the template functions that depend on the language of
// the page.
func (u *Renderer) langFuncs(lang string) template.FuncMap {
	cat := u.catalog
	return template.FuncMap{
		// t translates a literal key: {{t "Send"}}, {{t "Assigned to %s" .Agent}}.
		"t": func(key string, args ...any) string { return cat.Tf(lang, key, args...) },
		// tm translates a message made elsewhere (a field error, a page
		// title): by key, or by the format it was made from.
		"tm":   func(msg string) string { return cat.Message(lang, msg) },
		"lang": func() string { return lang },
		// jsStrings is the JSON the scripts read their words from.
		"jsStrings": func() template.JS {
			m := make(map[string]string, len(u.jsKeys))
			for _, k := range u.jsKeys {
				m[k] = cat.T(lang, k)
			}
			b, _ := json.Marshal(m)
			return template.JS(b)
		},
	}
}

// IsHTMX reports whether htmx (or app.js, which sends the same header)
// asks for a fragment rather than a page.
func IsHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// humanSize formats a byte count for people.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+1<<9)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func hasRole(a policy.Actor, roles ...string) bool {
	for _, r := range roles {
		if string(a.Role) == r {
			return true
		}
	}
	return false
}

func derefID(p *int64) int64 {
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

// PageData is what every page template gets.
type PageData struct {
	Title string
	Actor policy.Actor
	User  *user.User
	Error string
	// Fields are per-field messages of a form that was refused.
	Fields map[string]string
	// Form holds the submitted values to show again.
	Form map[string]string
	// Live pages are the workspace (the list and conversations). Every
	// signed-in page opens the WebSocket, resuming after event Seq (the
	// hub's position before the page's data was read, so nothing is
	// missed).
	Live bool
	Seq  int64
	Data any
	// Notice is a message for the whole page, shown above it (what a
	// redirect asked for, like ?welcome=admin).
	Notice string
	// Prefs are the signed-in user's preferences, for the scripts.
	Prefs *user.Preferences
}

// Render writes a page (or, with a name like "inbox#rows", one named
// template of it, for htmx partial updates).
func (u *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, d PageData) error {
	page, block, _ := strings.Cut(name, "#")
	if d.User == nil && !d.Actor.Anonymous() {
		if usr, err := u.users.Get(r.Context(), d.Actor.UserID); err == nil {
			d.User = &usr
		}
	}
	if d.User != nil && d.Prefs == nil {
		if p, err := u.users.Preferences(r.Context(), d.User.ID); err == nil {
			d.Prefs = &p
		}
	}
	lang := u.catalog.Match(r.Header.Get("Accept-Language"))
	if d.User != nil {
		if u.catalog.Supported(d.User.Language) {
			lang = d.User.Language
		}
		// Every signed-in page keeps a live connection (status, profile
		// and preference changes, notifications); it resumes after the
		// hub's position when the page was made.
		if d.Seq == 0 {
			d.Seq = u.hub.Position()
		}
	}
	t, ok := u.page(lang, page)
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	if block == "" {
		block = page + ".html"
	}
	return u.write(w, status, t, block, d)
}

// Partial renders one named template of a page with any data: the
// fragments htmx and app.js swap into a page, in the language of r.
func (u *Renderer) Partial(w http.ResponseWriter, r *http.Request, status int, page, block string, data any) error {
	t, ok := u.page(u.langs.OfRequest(r), page)
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	return u.write(w, status, t, block, data)
}

func (u *Renderer) write(w http.ResponseWriter, status int, t *template.Template, block string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return fmt.Errorf("web: render %s: %w", block, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Static serves embedded assets; fingerprinted URLs are cached for a year.
func (u *Renderer) Static(w http.ResponseWriter, r *http.Request, _ policy.Actor) error {
	a, ok := u.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	return nil
}

// Deny answers a request refused before its handler ran: the login page
// for someone not signed in, an error page otherwise.
func (u *Renderer) Deny(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, auth.ErrUnauthenticated) || isKind(err, problem.KindUnauthorized) {
		if r.Header.Get("HX-Request") == "true" {
			w.Header().Set("HX-Redirect", "/login")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	u.Fail(w, r, err)
}

// Fail renders an error page for err (logging unexpected errors once).
// An htmx request gets the message alone, as text, and no swap: the page
// shows it in its notice area.
func (u *Renderer) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, internal := httpx.Classify(err, httpx.RequestID(r))
	if internal {
		u.logger.Error("page failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	}
	detail = u.langs.Detail(r, detail)
	// Forms answer their own fields; anything else says what was wrong.
	detail.Message = summary(detail)
	if IsHTMX(r) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("HX-Reswap", "none")
		w.WriteHeader(status)
		io.WriteString(w, detail.Message)
		return
	}
	a, _ := u.sessions.Authenticate(r)
	if rerr := u.Render(w, r, status, "error", PageData{Title: http.StatusText(status), Actor: a, Error: detail.Message}); rerr != nil {
		http.Error(w, detail.Message, status)
	}
}

// summary is an error's message for a page that has no place for its
// fields: the fields' messages, when it has any.
func summary(d httpx.ErrorDetail) string {
	if len(d.Fields) == 0 {
		return d.Message
	}
	msgs := make([]string, 0, len(d.Fields))
	for _, m := range d.Fields {
		msgs = append(msgs, m)
	}
	slices.Sort(msgs)
	return strings.Join(msgs, " ")
}

func (u *Renderer) NotFound(w http.ResponseWriter, r *http.Request) {
	u.Fail(w, r, problem.NotFound("Page"))
}

func isKind(err error, k problem.Kind) bool {
	p, ok := problem.As(err)
	return ok && p.Kind == k
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20", "?", "%3F").Replace(s)
}

// safeNext is where to go after signing in: next when it is a path of
// this site (see keepNext), the inbox otherwise.
func safeNext(next string) string {
	if keepNext(next) == "" {
		return "/inbox"
	}
	return next
}

// keepNext returns next when it is a path of this site, "" otherwise.
//
// Browsers clean a Location before they parse it (they drop tabs and
// newlines anywhere, trim control characters and spaces at both ends, and
// read a backslash as a slash), so "/\t/evil.test" is //evil.test to them:
// another site. Rather than clean the same way, a return path must need no
// cleaning at all: printable ASCII without spaces or backslashes (the site
// percent-encodes its own), one leading slash, and nothing url.Parse reads
// as a scheme, host or user. Its path, decoded, must not start with two
// slashes, hold a backslash or a control character, or have dot segments:
// "/%2F%2Fevil.test" is harmless to a browser, but a proxy or server that
// decodes the path before resolving it makes it //evil.test, and no page of
// Switchboard has such a path.
func keepNext(next string) string {
	if len(next) < 1 || len(next) > 2048 || next[0] != '/' || (len(next) > 1 && next[1] == '/') {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return ""
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return ""
		}
	}
	for _, c := range u.Path {
		if c < ' ' || c == 0x7f || c == '\\' {
			return ""
		}
	}
	return next
}

// The kinds of flash (see package flash) the pages keep.
const (
	FlashInboxSecret = "inbox.secret"
	FlashVerifyToken = "whatsapp.verify_token"
	FlashToken       = "api.token"
	FlashInvitation  = "invitation.link"
)

// Shown keeps what a page shows once after the redirect that follows a
// form (see package flash).
type Shown struct{ Store *flash.Store }

// Redirect keeps v for the page at path, shown once, and redirects
// there (303) with the flash's id as ?shown=.
func (f Shown) Redirect(w http.ResponseWriter, r *http.Request, a policy.Actor, kind string, v any, path string) error {
	id, err := f.Store.Put(r.Context(), a.UserID, kind, v)
	if err != nil {
		return err
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"shown="+url.QueryEscape(id), http.StatusSeeOther)
	return nil
}

// Take reads the flash of ?shown= into v, once: false when there is
// none (already shown, expired, or never made).
func (f Shown) Take(r *http.Request, a policy.Actor, kind string, v any) (bool, error) {
	err := f.Store.Take(r.Context(), a.UserID, kind, r.URL.Query().Get("shown"), v)
	if errors.Is(err, flash.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// jsCallRE finds t("…") in the workspace's scripts: the strings they
// show, which the page hands them translated.
var jsCallRE = regexp.MustCompile(`\bt\("((?:[^"\\]|\\.)*)"`)

// jsKeys lists the strings the embedded scripts translate.
func jsKeys(scripts ...[]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, src := range scripts {
		for _, m := range jsCallRE.FindAllSubmatch(src, -1) {
			var k string
			if err := json.Unmarshal([]byte(`"`+string(m[1])+`"`), &k); err != nil {
				continue
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
