package web

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// The interface's translations: i18n/LANG/AREA.json, one file per area
// (core.json for the workspace, people.json for profiles and people,
// whatsapp.json for WhatsApp…), keyed by the English text.
//
//go:embed i18n
var locales embed.FS

// Catalog loads the embedded translations.
func Catalog() (*i18n.Catalog, error) {
	sub, err := fs.Sub(locales, "i18n")
	if err != nil {
		return nil, err
	}
	return i18n.Load(sub)
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

// langFuncs are the template functions that depend on the language of
// the page.
func (u *ui) langFuncs(lang string) template.FuncMap {
	cat := u.s.Catalog
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

// lang is the language to answer r in: the signed-in user's, or for
// anybody else the browser's preference.
func (u *ui) lang(r *http.Request, a policy.Actor) string {
	if !a.Anonymous() {
		if l, err := u.s.Auth.Language(r.Context(), a.UserID); err == nil && u.s.Catalog.Supported(l) {
			return l
		}
	}
	return u.s.Catalog.Match(r.Header.Get("Accept-Language"))
}

// langOf is lang for handlers that do not have the actor at hand.
func (u *ui) langOf(r *http.Request) string {
	a, err := u.s.authenticate(r)
	if err != nil {
		a = policy.Actor{}
	}
	return u.lang(r, a)
}

// tr translates words built in a handler, in the language of r.
func (u *ui) tr(r *http.Request, format string, args ...any) string {
	return u.s.Catalog.Tf(u.langOf(r), format, args...)
}

// translateDetail translates an error's message and field messages for a
// browser session (API tokens, used by programs, get English).
func (s *Server) translateDetail(r *http.Request, d errorDetail) errorDetail {
	if s.Catalog == nil || strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return d
	}
	return s.translateInto(s.ui.langOf(r), d)
}

// translateInto translates an error's message and field messages into
// lang, where translations exist.
func (s *Server) translateInto(lang string, d errorDetail) errorDetail {
	if lang == i18n.Default {
		return d
	}
	d.Message = s.Catalog.Message(lang, d.Message)
	if len(d.Fields) > 0 {
		f := make(map[string]string, len(d.Fields))
		for k, v := range d.Fields {
			f[k] = s.Catalog.Message(lang, v)
		}
		d.Fields = f
	}
	return d
}

// translatePublic translates an error of the widget's API into the
// language its request asks for (Accept-Language: the widget sends the
// site's), where a translation exists.
func (s *Server) translatePublic(r *http.Request, d errorDetail) errorDetail {
	if s.Catalog == nil {
		return d
	}
	return s.translateInto(s.Catalog.Match(r.Header.Get("Accept-Language")), d)
}
