package ui

import (
	"encoding/json"
	"html/template"
	"strings"
	"unicode"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// peopleFuncs are the template functions of profiles, statuses and
// preferences.
func peopleFuncs() template.FuncMap {
	return template.FuncMap{
		"statuses":     func() []user.Status { return user.Statuses },
		"statusLabel":  func(s any) string { return statusOf(s).Label() },
		"roleName":     func(r policy.Role) string { return RoleName(r) },
		"initials":     initials,
		"triggers":     func() []user.Trigger { return user.Triggers },
		"sounds":       func() []string { return user.Sounds },
		"soundLabel":   user.SoundLabel,
		"methodLabel":  func(m auth.Method) string { return m.Label() },
		"device":       auth.Device,
		"duration":     duration,
		"triggerLabel": func(t user.Trigger) string { return t.Label() },
		// pngData lets a PNG made here (a QR code) be an image's data: URL.
		"pngData": func(s string) template.URL {
			if strings.HasPrefix(s, "data:image/png;base64,") {
				return template.URL(s)
			}
			return ""
		},
		// json is a value as JSON, for <script type="application/json">.
		"json": func(v any) (template.JS, error) {
			b, err := json.Marshal(v)
			return template.JS(b), err
		},
	}
}

func statusOf(v any) user.Status {
	switch s := v.(type) {
	case user.Status:
		return s
	case string:
		return user.Status(s)
	}
	return ""
}

// initials are what an avatar shows without a picture: "AD" for Ana Díaz.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// RoleChoice describes a role on the user form.
type RoleChoice struct {
	Role policy.Role
	Name string
	Help string
}

var RoleChoices = []RoleChoice{
	{policy.Admin, "Admin", "Everything, including inboxes and users."},
	{policy.InboxManager, "Inbox manager", "Every conversation of every inbox; no settings."},
	{policy.Service, "Service", "Conversations of the inboxes they are a member of."},
	{policy.Sales, "Sales", "Conversations assigned to them or whose contact they own."},
}

func RoleName(r policy.Role) string {
	for _, c := range RoleChoices {
		if c.Role == r {
			return c.Name
		}
	}
	return string(r)
}

// MergeFields adds the fields of a refused change to the form's own.
func MergeFields(fields problem.Fields, err error) (problem.Fields, bool) {
	p, ok := problem.As(err)
	if !ok || p.Kind != problem.KindInvalid {
		return fields, false
	}
	for k, v := range p.Fields {
		fields.Add(k, "%s", v)
	}
	if len(fields) == 0 {
		fields.Add("form", "%s", p.Message)
	}
	return fields, true
}
