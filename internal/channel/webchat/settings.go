package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Type is the inbox type of web chat sites.
const Type inbox.Type = "webchat"

// Settings configure a web chat widget: an inbox's public settings. Its
// identity secret is sealed by the inbox store.
type Settings struct {
	// RequireIdentity refuses visitors whose identifier is not signed with
	// the inbox secret (HMAC-SHA256).
	RequireIdentity bool `json:"require_identity"`
	// Greeting is shown at the top of the chat.
	Greeting string `json:"greeting"`
	// Color is the widget's accent colour, #rrggbb.
	Color string `json:"color"`
	// AllowedOrigins are the sites that may embed the widget; empty means any.
	AllowedOrigins []string `json:"allowed_origins"`
	// PreChatForm has the widget ask the visitor's name and email before
	// their first message; the contact gets them.
	PreChatForm bool `json:"pre_chat_form"`
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (w *Settings) validate(f problem.Fields) {
	if utf8.RuneCountInString(w.Greeting) > 500 {
		f.Add("webchat.greeting", "A greeting has at most 500 characters.")
	}
	if w.Color == "" {
		w.Color = "#2563eb"
	} else if !colorRE.MatchString(w.Color) {
		f.Add("webchat.color", "Use a colour like #2563eb.")
	}
	if len(w.AllowedOrigins) > 20 {
		f.Add("webchat.allowed_origins", "List at most 20 sites.")
	}
	for i, o := range w.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			f.Add("webchat.allowed_origins", "Origin %d is not a site like https://www.example.com.", i+1)
			continue
		}
		w.AllowedOrigins[i] = u.Scheme + "://" + u.Host
	}
	if w.AllowedOrigins == nil {
		w.AllowedOrigins = []string{}
	}
}

// Channel describes web chat inboxes to the inbox store: each has a
// public token (the snippet names its inbox by it) and an identity
// secret, made up at creation and shown once.
func Channel() inbox.Channel {
	return inbox.Channel{
		Type:        Type,
		PublicToken: true,
		Misplaced:   "Only web chat inboxes have web chat settings.",
		Check:       checkSettings,
	}
}

// checkSettings checks a site's Settings, new or replacing the current
// ones (the identity secret stays).
func checkSettings(cur *inbox.Settings, given json.RawMessage, f problem.Fields) (inbox.Settings, string) {
	var set Settings
	if given != nil {
		if err := json.Unmarshal(given, &set); err != nil {
			f.Add("webchat", "Give the widget's settings: require_identity, greeting, color and allowed_origins.")
		}
	}
	set.validate(f)
	public, _ := json.Marshal(set)
	if cur != nil {
		return inbox.Settings{Public: public, Secret: cur.Secret}, ""
	}
	secret := randomString(32)
	sealed, _ := json.Marshal(secret)
	return inbox.Settings{Public: public, Secret: sealed}, secret
}

// SettingsOf reads a web chat inbox's settings.
func SettingsOf(in inbox.Inbox) (Settings, error) {
	var s Settings
	if in.Type != Type {
		return s, problem.NotFound("Inbox")
	}
	if err := json.Unmarshal(in.Settings, &s); err != nil {
		return s, fmt.Errorf("webchat: settings of inbox %d: %w", in.ID, err)
	}
	return s, nil
}

// Site is a web chat inbox with its settings.
type Site struct {
	inbox.Inbox
	Settings Settings
}

func siteOf(in inbox.Inbox) (Site, error) {
	set, err := SettingsOf(in)
	return Site{Inbox: in, Settings: set}, err
}

// Secret returns the identity secret of a web chat inbox.
func (s *Service) Secret(ctx context.Context, id int64) (string, error) {
	raw, err := s.inboxes.Secret(ctx, id)
	if err != nil {
		return "", err
	}
	var secret string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &secret); err != nil {
			return "", fmt.Errorf("webchat: secret of inbox %d: %w", id, err)
		}
	}
	return secret, nil
}

// RotateSecret replaces a web chat inbox's identity secret and returns
// the new one (shown once).
func (s *Service) RotateSecret(ctx context.Context, id int64) (string, error) {
	in, err := s.inboxes.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if in.Type != Type {
		return "", problem.Conflict("Only web chat inboxes have an identity secret.")
	}
	secret := randomString(32)
	raw, _ := json.Marshal(secret)
	err = s.inboxes.SetSecret(ctx, id, Type, raw)
	if errors.Is(err, db.ErrNotFound) {
		return "", problem.NotFound("Inbox")
	}
	return secret, err
}
