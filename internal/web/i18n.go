package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/switchboardhq/switchboard/internal/auth"
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

// languages choose the language of an answer and translate into it.
type languages struct {
	cat  *i18n.Catalog
	auth *auth.Service // the signed-in user's language
}

// of is the language to answer r in: the signed-in user's, or for
// anybody else the browser's preference.
func (l *languages) of(r *http.Request, a policy.Actor) string {
	if !a.Anonymous() {
		if lang, err := l.auth.Language(r.Context(), a.UserID); err == nil && l.cat.Supported(lang) {
			return lang
		}
	}
	return l.cat.Match(r.Header.Get("Accept-Language"))
}

// ofRequest is of for handlers that do not have the actor at hand.
func (l *languages) ofRequest(r *http.Request) string {
	a, err := authenticate(l.auth, r)
	if err != nil {
		a = policy.Actor{}
	}
	return l.of(r, a)
}

// tr translates words built in a handler, in the language of r.
func (l *languages) tr(r *http.Request, format string, args ...any) string {
	return l.cat.Tf(l.ofRequest(r), format, args...)
}

// codes are the languages a user may choose.
func (l *languages) codes() []string {
	var out []string
	for _, lang := range l.cat.Languages() {
		out = append(out, lang.Code)
	}
	return out
}

// detail translates an error's message and field messages for a
// browser session (API tokens, used by programs, get English).
func (l *languages) detail(r *http.Request, d errorDetail) errorDetail {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return d
	}
	return l.into(l.ofRequest(r), d)
}

// into translates an error's message and field messages into
// lang, where translations exist.
func (l *languages) into(lang string, d errorDetail) errorDetail {
	if lang == i18n.Default {
		return d
	}
	d.Message = l.cat.Message(lang, d.Message)
	if len(d.Fields) > 0 {
		f := make(map[string]string, len(d.Fields))
		for k, v := range d.Fields {
			f[k] = l.cat.Message(lang, v)
		}
		d.Fields = f
	}
	return d
}

// public translates an error of the widget's API into the
// language its request asks for (Accept-Language: the widget sends the
// site's), where a translation exists.
func (l *languages) public(r *http.Request, d errorDetail) errorDetail {
	return l.into(l.cat.Match(r.Header.Get("Accept-Language")), d)
}
