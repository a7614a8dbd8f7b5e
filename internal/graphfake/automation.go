package graphfake

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Automation is a number's conversational components: ice breakers
// (prompts), commands and the welcome-message switch.
type Automation struct {
	EnableWelcomeMessage bool      `json:"enable_welcome_message"`
	Prompts              []string  `json:"prompts,omitempty"`
	Commands             []Command `json:"commands,omitempty"`
}

// Command is a /command users can pick.
type Command struct {
	Name        string `json:"command_name"`
	Description string `json:"command_description"`
}

var commandNameRE = regexp.MustCompile(`^[a-zA-Z0-9_]{1,32}$`)

func automationJSON(a Automation) object {
	o := object{{"enable_welcome_message", a.EnableWelcomeMessage}}
	if len(a.Prompts) > 0 {
		o = append(o, field{"prompts", a.Prompts})
	}
	if len(a.Commands) > 0 {
		o = append(o, field{"commands", a.Commands})
	}
	return o
}

// hasEmoji reports pictographic characters, which ice breakers and
// commands may not contain.
func hasEmoji(s string) bool {
	for _, r := range s {
		if r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) || (r >= 0x2B00 && r <= 0x2BFF) || r == 0xFE0F || r == 0x20E3 {
			return true
		}
	}
	return false
}

// validate checks the limits of §6.
func (a Automation) validate(maxPrompts int) *Error {
	if len(a.Prompts) > maxPrompts {
		return invalidParamDetails("Too many prompts. Maximum allowed is %d.", maxPrompts)
	}
	for _, p := range a.Prompts {
		switch {
		case strings.TrimSpace(p) == "":
			return invalidParamDetails("Prompt text cannot be empty.")
		case utf8.RuneCountInString(p) > 80:
			return invalidParamDetails("Prompt text exceeds maximum length of 80 characters.")
		case hasEmoji(p):
			return invalidParamDetails("Emojis are not supported in prompts.")
		}
	}
	if len(a.Commands) > 30 {
		return invalidParamDetails("Too many commands. Maximum allowed is 30.")
	}
	seen := map[string]bool{}
	for _, c := range a.Commands {
		switch {
		case !commandNameRE.MatchString(c.Name):
			return invalidParamDetails("Command name %q is not valid: use up to 32 letters, digits or underscores, without the slash.", c.Name)
		case c.Description == "":
			return invalidParamDetails("Command description is required.")
		case utf8.RuneCountInString(c.Description) > 256:
			return invalidParamDetails("Command description exceeds maximum length of 256 characters.")
		case hasEmoji(c.Name) || hasEmoji(c.Description):
			return invalidParamDetails("Emojis are not supported in commands.")
		case seen[strings.ToLower(c.Name)]:
			return invalidParamDetails("Command names must be unique.")
		}
		seen[strings.ToLower(c.Name)] = true
	}
	return nil
}

// SetAutomation sets a number's ice breakers and commands as the Graph
// endpoint would (same validation) and tells subscribers.
func (f *Fake) SetAutomation(pnid string, a Automation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[pnid]
	if !ok {
		return objectMissing(http.MethodPost, pnid)
	}
	if e := a.validate(f.opt.MaxPrompts); e != nil {
		return e
	}
	n.automation = Automation{EnableWelcomeMessage: a.EnableWelcomeMessage, Prompts: slices.Clone(a.Prompts), Commands: slices.Clone(a.Commands)}
	f.publish(Event{Kind: EventAutomation, PhoneNumberID: pnid})
	return nil
}

// Automation returns a number's conversational components.
func (f *Fake) Automation(pnid string) Automation {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.numbers[pnid]
	if !ok {
		return Automation{}
	}
	a := n.automation
	a.Prompts, a.Commands = slices.Clone(a.Prompts), slices.Clone(a.Commands)
	return a
}

// params reads a Graph POST's parameters: a JSON object, or form/query
// values whose JSON-looking values are decoded (Graph accepts both).
func (c *call) params() (map[string]json.RawMessage, *Error) {
	r := c.r
	out := map[string]json.RawMessage{}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, invalidParam("Could not read the request body")
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var form url.Values
	switch {
	case ct == "application/json" || (ct == "" && len(body) > 0 && body[0] == '{'):
		if len(body) > 0 {
			if err := json.Unmarshal(body, &out); err != nil {
				return nil, invalidParam("Invalid JSON in the request body")
			}
		}
	case ct == "application/x-www-form-urlencoded":
		form, _ = url.ParseQuery(string(body))
	}
	q := r.URL.Query()
	for _, vals := range []url.Values{form, q} {
		for k, v := range vals {
			if k == "access_token" || len(v) == 0 {
				continue
			}
			if _, ok := out[k]; ok {
				continue
			}
			s := v[0]
			if json.Valid([]byte(s)) && (strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") || s == "true" || s == "false") {
				out[k] = json.RawMessage(s)
			} else {
				out[k], _ = json.Marshal(s)
			}
		}
	}
	return out, nil
}

// setAutomation answers POST /{phone-number-id}/conversational_automation;
// the keys it names replace the current values.
func (c *call) setAutomation() (any, *Error) {
	p, e := c.params()
	if e != nil {
		return nil, e
	}
	a := c.f.Automation(c.number.ID)
	if v, ok := p["enable_welcome_message"]; ok {
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			var s string
			json.Unmarshal(v, &s)
			if b, err = strconv.ParseBool(s); err != nil {
				return nil, invalidParam("Param enable_welcome_message must be a boolean")
			}
		}
		a.EnableWelcomeMessage = b
	}
	if v, ok := p["prompts"]; ok {
		a.Prompts = nil
		if err := json.Unmarshal(v, &a.Prompts); err != nil {
			return nil, invalidParam("Param prompts must be an array of strings")
		}
	}
	if v, ok := p["commands"]; ok {
		a.Commands = nil
		if err := json.Unmarshal(v, &a.Commands); err != nil {
			return nil, invalidParam("Param commands must be an array of objects with command_name and command_description")
		}
	}
	if err := c.f.SetAutomation(c.number.ID, a); err != nil {
		return nil, err.(*Error)
	}
	return object{{"success", true}}, nil
}

// getAutomation answers GET /{phone-number-id}/conversational_automation
// (the older form of ?fields=conversational_automation).
func (c *call) getAutomation() (any, *Error) {
	return object{{"conversational_automation", automationJSON(c.f.Automation(c.number.ID))}, {"id", c.number.ID}}, nil
}
