package httpx

import (
	"net/http"
	"strings"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/policy"
)

// Languages choose the language of an answer and translate into it.
type Languages struct {
	cat  *i18n.Catalog
	auth *auth.Service // the signed-in user's language
}

// NewLanguages makes the languages of cat.
func NewLanguages(cat *i18n.Catalog, as *auth.Service) *Languages {
	return &Languages{cat: cat, auth: as}
}

// Of is the language to answer r in: the signed-in user's, or for
// anybody else the browser's preference.
func (l *Languages) Of(r *http.Request, a policy.Actor) string {
	if !a.Anonymous() {
		if lang, err := l.auth.Language(r.Context(), a.UserID); err == nil && l.cat.Supported(lang) {
			return lang
		}
	}
	return l.cat.Match(r.Header.Get("Accept-Language"))
}

// OfRequest is of for handlers that do not have the actor at hand.
func (l *Languages) OfRequest(r *http.Request) string {
	a, err := authenticate(l.auth, r)
	if err != nil {
		a = policy.Actor{}
	}
	return l.Of(r, a)
}

// Tr translates words built in a handler, in the language of r.
func (l *Languages) Tr(r *http.Request, format string, args ...any) string {
	return l.cat.Tf(l.OfRequest(r), format, args...)
}

// Codes are the languages a user may choose.
func (l *Languages) Codes() []string {
	var out []string
	for _, lang := range l.cat.Languages() {
		out = append(out, lang.Code)
	}
	return out
}

// Detail translates an error's message and field messages for a
// browser session (API tokens, used by programs, get English).
func (l *Languages) Detail(r *http.Request, d ErrorDetail) ErrorDetail {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return d
	}
	return l.Into(l.OfRequest(r), d)
}

// Into translates an error's message and field messages into
// lang, where translations exist.
func (l *Languages) Into(lang string, d ErrorDetail) ErrorDetail {
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

// Public translates an error of the widget's API into the
// language its request asks for (Accept-Language: the widget sends the
// site's), where a translation exists.
func (l *Languages) Public(r *http.Request, d ErrorDetail) ErrorDetail {
	return l.Into(l.cat.Match(r.Header.Get("Accept-Language")), d)
}
