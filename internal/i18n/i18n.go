// Package i18n translates Switchboard's words. Keys are the English text
// itself (gettext style): "Send" in a template is {{t "Send"}}, and a
// message built with a format, like "Use at least %d characters.", is
// translated by its format and formatted again. English needs no catalog;
// every other language is a directory of JSON files (one per area of the
// product, so that people adding strings to different areas do not edit
// the same file), each a flat object from English to the translation.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Default is the language of the keys, used when nothing else matches.
const Default = "en"

// Language is a language the interface exists in.
type Language struct {
	Code string `json:"code"`
	// Name is the language's name in itself ("Español").
	Name string `json:"name"`
}

// nativeName is how each language calls itself; a catalog directory
// whose code is not here is refused.
func nativeName(code string) string {
	switch code {
	case "en":
		return "English"
	case "es":
		return "Español"
	case "fr":
		return "Français"
	case "de":
		return "Deutsch"
	case "pt":
		return "Português"
	case "it":
		return "Italiano"
	case "nl":
		return "Nederlands"
	}
	return ""
}

// Catalog holds the translations of every language. It is read-only once
// loaded and safe for concurrent use.
type Catalog struct {
	langs []Language
	msgs  map[string]map[string]string // language → English → translation
	// formats are the keys with verbs (%d, %s…), for translating messages
	// that were formatted before they reached the web layer.
	formats []format
}

// format is a key with verbs, and a pattern that matches what it formats.
type format struct {
	key   string
	re    *regexp.Regexp
	verbs []byte // the verb of each argument, in order: 'd', 's', 'v', 'q'
}

// Load reads every dir/LANG/*.json of fsys. A key defined twice for a
// language with different translations is an error, as is a translation
// whose verbs differ from its key's.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{langs: []Language{{Code: Default, Name: nativeName(Default)}}, msgs: map[string]map[string]string{}}
	dirs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	keys := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		lang := d.Name()
		if nativeName(lang) == "" || lang == Default {
			return nil, fmt.Errorf("i18n: %s: not a supported language code", lang)
		}
		files, err := fs.Glob(fsys, path.Join(lang, "*.json"))
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, f := range files {
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, err
			}
			var entries map[string]string
			if err := json.Unmarshal(b, &entries); err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", f, err)
			}
			for k, v := range entries {
				if prev, ok := m[k]; ok && prev != v {
					return nil, fmt.Errorf("i18n: %s: %q is translated twice, differently", f, k)
				}
				if !slices.Equal(verbsOf(k), verbsOf(v)) {
					return nil, fmt.Errorf("i18n: %s: %q and its translation %q use different verbs", f, k, v)
				}
				m[k] = v
				keys[k] = true
			}
		}
		c.msgs[lang] = m
		c.langs = append(c.langs, Language{Code: lang, Name: nativeName(lang)})
	}
	sort.Slice(c.langs[1:], func(i, j int) bool { return c.langs[i+1].Code < c.langs[j+1].Code })
	for k := range keys {
		if f, ok := compile(k); ok {
			c.formats = append(c.formats, f)
		}
	}
	// Longer formats first: the most specific pattern wins.
	sort.Slice(c.formats, func(i, j int) bool {
		if len(c.formats[i].key) != len(c.formats[j].key) {
			return len(c.formats[i].key) > len(c.formats[j].key)
		}
		return c.formats[i].key < c.formats[j].key
	})
	return c, nil
}

// verbRE finds the verbs of a format (flags and widths are not used in
// Switchboard's messages; %% is a literal percent sign).
var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

func verbsOf(s string) []string {
	var out []string
	for _, v := range verbRE.FindAllString(s, -1) {
		if v == "%%" {
			continue
		}
		// An explicit index reorders arguments: compare the verbs only.
		out = append(out, v[len(v)-1:])
	}
	slices.Sort(out)
	return out
}

// compile makes the pattern of a key with verbs; keys without any, or
// made of nothing but verbs, have none.
func compile(key string) (format, bool) {
	locs := verbRE.FindAllStringIndex(key, -1)
	var b strings.Builder
	b.WriteString("^")
	f := format{key: key}
	last := 0
	literal := 0
	for _, l := range locs {
		v := key[l[0]:l[1]]
		b.WriteString(regexp.QuoteMeta(key[last:l[0]]))
		literal += l[0] - last
		last = l[1]
		if v == "%%" {
			b.WriteString("%")
			continue
		}
		verb := v[len(v)-1]
		switch verb {
		case 'd':
			b.WriteString(`(-?\d+)`)
		default:
			b.WriteString(`(.+?)`)
		}
		f.verbs = append(f.verbs, verb)
	}
	b.WriteString(regexp.QuoteMeta(key[last:]))
	literal += len(key) - last
	b.WriteString("$")
	if len(f.verbs) == 0 || literal == 0 {
		return f, false
	}
	f.re = regexp.MustCompile(b.String())
	return f, true
}

// Languages lists the languages, English first.
func (c *Catalog) Languages() []Language { return c.langs }

// Supported reports whether code is one of the languages.
func (c *Catalog) Supported(code string) bool {
	return slices.ContainsFunc(c.langs, func(l Language) bool { return l.Code == code })
}

// Has reports whether lang translates key (always true for English).
func (c *Catalog) Has(lang, key string) bool {
	if lang == Default {
		return true
	}
	_, ok := c.msgs[lang][key]
	return ok
}

// T translates key into lang; an unknown key or language gives the key.
func (c *Catalog) T(lang, key string) string {
	if v, ok := c.msgs[lang][key]; ok {
		return v
	}
	return key
}

// Tf translates format into lang and formats it with args (which are
// not translated: they are names, numbers, what people typed).
func (c *Catalog) Tf(lang, format string, args ...any) string {
	if len(args) == 0 {
		return c.T(lang, format)
	}
	return fmt.Sprintf(c.T(lang, format), args...)
}

// Message translates a message that was already formatted (a validation
// message of a feature package, say): as a key if it is one, else by the
// first format that matches it, whose arguments are taken back out of the
// message and put into the translation. Anything else stays as it is.
func (c *Catalog) Message(lang, msg string) string {
	m, ok := c.msgs[lang]
	if !ok || msg == "" {
		return msg
	}
	if v, ok := m[msg]; ok {
		return v
	}
	for _, f := range c.formats {
		sub := f.re.FindStringSubmatch(msg)
		if sub == nil {
			continue
		}
		tr, ok := m[f.key]
		if !ok {
			continue
		}
		args := make([]any, len(f.verbs))
		for i, verb := range f.verbs {
			s := sub[i+1]
			if verb == 'd' {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return msg
				}
				args[i] = n
				continue
			}
			if v, ok := m[s]; ok && isUnitWord(s) {
				s = v // "seconds" in "try again in 5 seconds"
			}
			args[i] = s
		}
		return fmt.Sprintf(tr, args...)
	}
	return msg
}

// Match picks the language for an Accept-Language header: the first of
// its languages (by weight) that the catalog has, else English.
func (c *Catalog) Match(acceptLanguage string) string {
	type choice struct {
		code string
		q    float64
		pos  int
	}
	var choices []choice
	for i, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if base != "" && q > 0 {
			choices = append(choices, choice{base, q, i})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	for _, ch := range choices {
		if c.Supported(ch.code) {
			return ch.code
		}
	}
	return Default
}

// isUnitWord reports whether s is a lowercase word (a unit like "seconds"
// that a message took as an argument), as opposed to a name.
func isUnitWord(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return s != ""
}
