package user

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Status is a user's availability. Only Available agents are given new
// conversations automatically; every other status stops new assignments
// and keeps the conversations an agent has.
type Status string

// The statuses.
const (
	Available     Status = "available"
	Away          Status = "away"
	Unavailable   Status = "unavailable"
	OnBreak       Status = "on_break"
	AfterCallWork Status = "after_call_work"
	DoNotDisturb  Status = "do_not_disturb"
	Busy          Status = "busy"
)

// Statuses lists every status, in the order menus show them.
var Statuses = []Status{Available, Away, Unavailable, OnBreak, AfterCallWork, DoNotDisturb, Busy}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Label is the status as people read it (in English: the web layer
// translates it).
func (s Status) Label() string {
	switch s {
	case Available:
		return "Available"
	case Away:
		return "Away"
	case Unavailable:
		return "Unavailable"
	case OnBreak:
		return "On break"
	case AfterCallWork:
		return "After-call work"
	case DoNotDisturb:
		return "Do Not Disturb"
	case Busy:
		return "Busy"
	}
	return string(s)
}

// Event types of a user's own changes; each goes to that user alone, so
// that every tab they have open follows at once.
const (
	ProfileChanged     = "profile.changed"
	PreferencesChanged = "preferences.changed"
)

var languageCode = regexp.MustCompile(`^[a-z]{2}$`)

// ProfilePatch changes some of a user's own profile and preferences; nil
// fields stay as they are. The name is given in parts (FirstName,
// LastName) or whole (Name). The email and the mobile number are not
// here: an admin changes the email (confirmed from the new address), the
// mobile number changes only with codes.
type ProfilePatch struct {
	FirstName *string `json:"first_name,omitempty"`
	LastName  *string `json:"last_name,omitempty"`
	Name      *string `json:"name,omitempty"`
	// Location is where they work ("Madrid, Spain"); "" removes it.
	Location   *string `json:"location,omitempty"`
	PublicName *string `json:"public_name,omitempty"`
	Language   *string `json:"language,omitempty"`
	Landline   *string `json:"landline,omitempty"`
	// Notifications replaces the settings of the triggers it names.
	Notifications map[Trigger]Alert `json:"notifications,omitempty"`
	// CapitalizeFirst makes the composer capitalise the first letter.
	CapitalizeFirst *bool `json:"capitalize_first,omitempty"`
}

// CheckProfile adds to f what is wrong with p's profile fields, reading
// and writing nothing: a form refused for problems of its own shows every
// field's at once.
func CheckProfile(f problem.Fields, p ProfilePatch, languages []string) { p.check(f, languages) }

// check adds to f what is wrong with p's profile fields and normalises
// them.
func (p *ProfilePatch) check(f problem.Fields, languages []string) nameChange {
	name := readName(f, p.Name, p.FirstName, p.LastName)
	readLocation(f, p.Location)
	if p.PublicName != nil {
		*p.PublicName = strings.TrimSpace(*p.PublicName)
		switch {
		case utf8.RuneCountInString(*p.PublicName) > 100:
			f.Add("public_name", "A public name has at most 100 characters.")
		case !utf8.ValidString(*p.PublicName):
			f.Add("public_name", "The name is not valid text.")
		}
	}
	if p.Language != nil && !slices.Contains(languages, *p.Language) {
		f.Add("language", "Choose a language from the list.")
	}
	if p.Landline != nil && strings.TrimSpace(*p.Landline) != "" {
		n, m := phone.Normalize(*p.Landline, phone.Valid)
		if m != "" {
			f.Add("landline", "%s", m)
		}
		*p.Landline = n
	} else if p.Landline != nil {
		*p.Landline = ""
	}
	return name
}

// UpdateProfile applies p to user id. languages are the codes the
// interface exists in. It tells the user's open tabs.
func (s *Store) UpdateProfile(ctx context.Context, id int64, p ProfilePatch, languages []string) (User, error) {
	f := problem.Fields{}
	name := p.check(f, languages)
	var prefs Preferences
	prefsChanged := len(p.Notifications) > 0 || p.CapitalizeFirst != nil
	if prefsChanged {
		cur, err := s.Preferences(ctx, id)
		if err != nil {
			return User{}, err
		}
		for t, a := range p.Notifications {
			if !t.Valid() {
				f.Add("notifications", "Unknown trigger %q.", string(t))
				continue
			}
			cur.Notifications[t] = a
		}
		if p.CapitalizeFirst != nil {
			cur.CapitalizeFirst = *p.CapitalizeFirst
		}
		cur.validate(f)
		prefs = cur
	}
	if err := f.Err(); err != nil {
		return User{}, err
	}
	var u User
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var prefsJSON *string
		if prefsChanged {
			b, _ := json.Marshal(prefs)
			prefsJSON = new(string(b))
		}
		res, err := tx.Exec(ctx, `UPDATE users SET `+name.columns(8)+`, public_name = COALESCE($2, public_name),
			language = COALESCE($3, language), landline = COALESCE($4, landline), preferences = COALESCE($5, preferences),
			location = COALESCE($6, location), updated_at = $7
			WHERE id = $1`, id, p.PublicName, p.Language, p.Landline, prefsJSON, p.Location, db.Now(), name.First, name.Last)
		if err != nil {
			return fmt.Errorf("user: update profile: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.NotFound("User")
		}
		if u, err = getTx(ctx, tx.Tx, id); err != nil {
			return err
		}
		if name.changes() || p.Location != nil || p.PublicName != nil || p.Language != nil || p.Landline != nil {
			e := event.New(ProfileChanged, u)
			e.UserID = id
			tx.Emit(e)
		}
		if prefsChanged {
			e := event.New(PreferencesChanged, prefs)
			e.UserID = id
			tx.Emit(e)
		}
		return nil
	})
	return u, err
}

func getTx(ctx context.Context, tx *db.Tx, id int64) (User, error) {
	u, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return User{}, fmt.Errorf("user: get %d: %w", id, db.MapErr(err))
	}
	u.InboxIDs, err = Inboxes(ctx, tx, id)
	return u, err
}

// SetMobile stores a verified mobile number ("" removes it) in tx and
// tells the user's tabs.
func SetMobile(ctx context.Context, tx *event.Tx, id int64, phone string) error {
	if _, err := tx.Exec(ctx, `UPDATE users SET mobile = $2, updated_at = $3 WHERE id = $1`, id, phone, db.Now()); err != nil {
		return fmt.Errorf("user: set mobile: %w", err)
	}
	_, err := profileChanged(ctx, tx, id)
	return err
}

// SetEmail makes email, checked and normalised, user id's sign-in
// address in tx and tells the user's tabs. An address another user has is
// a conflict.
func SetEmail(ctx context.Context, tx *event.Tx, id int64, email string) (User, error) {
	_, err := tx.Exec(ctx, `UPDATE users SET email = $2, updated_at = $3 WHERE id = $1`, id, email, db.Now())
	if errors.Is(db.MapErr(err), db.ErrConflict) {
		return User{}, problem.Conflict("Another account has this email address.")
	} else if err != nil {
		return User{}, fmt.Errorf("user: set email: %w", err)
	}
	return profileChanged(ctx, tx, id)
}

// profileChanged tells user id's open tabs their profile as it is now in
// tx, and returns it.
func profileChanged(ctx context.Context, tx *event.Tx, id int64) (User, error) {
	u, err := getTx(ctx, tx.Tx, id)
	if err != nil {
		return u, err
	}
	e := event.New(ProfileChanged, u)
	e.UserID = id
	tx.Emit(e)
	return u, nil
}

// SetAvatarVersion records the user's avatar version ("" for none) in tx
// and tells the user's tabs.
func SetAvatarVersion(ctx context.Context, tx *event.Tx, id int64, version string) (User, error) {
	if _, err := tx.Exec(ctx, `UPDATE users SET avatar_version = $2, updated_at = $3 WHERE id = $1`, id, version, db.Now()); err != nil {
		return User{}, fmt.Errorf("user: set avatar: %w", err)
	}
	return profileChanged(ctx, tx, id)
}

// PasswordHash returns the stored hash of user id's password.
func (s *Store) PasswordHash(ctx context.Context, id int64) (string, error) {
	var h string
	err := s.db.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&h)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return "", problem.NotFound("User")
	}
	return h, err
}

// SetPasswordHash stores a new password hash for user id in tx.
func SetPasswordHash(ctx context.Context, tx *db.Tx, id int64, hash string) error {
	_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, db.Now())
	return err
}

// ---- Preferences ----

// Trigger is something that may call for an agent's attention.
type Trigger string

// The triggers.
const (
	// TriggerAssigned: a new conversation is assigned to me.
	TriggerAssigned Trigger = "assigned"
	// TriggerMessage: a new message in a conversation assigned to me.
	TriggerMessage Trigger = "message"
	// TriggerUnassigned: a new conversation nobody has (for those who
	// may claim it).
	TriggerUnassigned Trigger = "unassigned"
	// TriggerTransferred: someone gave me a conversation of theirs.
	TriggerTransferred Trigger = "transferred"
)

// Triggers lists the triggers in the order the settings show them.
var Triggers = []Trigger{TriggerAssigned, TriggerMessage, TriggerUnassigned, TriggerTransferred}

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool { return slices.Contains(Triggers, t) }

// Label is the trigger as the settings name it (English; translated by
// the web layer).
func (t Trigger) Label() string {
	switch t {
	case TriggerAssigned:
		return "A new conversation is assigned to me"
	case TriggerMessage:
		return "A new message arrives in a conversation assigned to me"
	case TriggerUnassigned:
		return "A new conversation is unassigned or waiting in the queue"
	case TriggerTransferred:
		return "A conversation is transferred to me"
	}
	return string(t)
}

// Sounds are the alert sounds there are (files sounds/NAME.wav).
var Sounds = []string{"chime", "beep", "knock"}

// SoundLabel names a sound for people (English; translated by the web
// layer).
func SoundLabel(s string) string {
	switch s {
	case "chime":
		return "Chime"
	case "beep":
		return "Beep"
	case "knock":
		return "Knock"
	}
	return s
}

// When a sound plays.
const (
	SoundInBackground = "background" // only while the tab is not in front
	SoundAlways       = "always"
)

// How often a sound plays.
const (
	RepeatOnce      = "once"
	RepeatUntilRead = "until_read" // every few seconds until the conversation is read
)

// Alert is how one trigger calls for attention.
type Alert struct {
	// On is whether the trigger alerts at all.
	On bool `json:"on"`
	// Sound is one of Sounds, or "" for no sound.
	Sound     string `json:"sound"`
	SoundWhen string `json:"sound_when"`
	Repeat    string `json:"repeat"`
	// Popup shows a browser notification (the browser asks for
	// permission first).
	Popup bool `json:"popup"`
}

// Preferences are a user's settings of the workspace.
type Preferences struct {
	Notifications   map[Trigger]Alert `json:"notifications"`
	CapitalizeFirst bool              `json:"capitalize_first"`
}

// DefaultPreferences are what a new user has.
func DefaultPreferences() Preferences {
	return Preferences{Notifications: map[Trigger]Alert{
		TriggerAssigned:    {On: true, Sound: "chime", SoundWhen: SoundInBackground, Repeat: RepeatOnce},
		TriggerMessage:     {On: true, Sound: "beep", SoundWhen: SoundInBackground, Repeat: RepeatOnce},
		TriggerUnassigned:  {On: true, Sound: "knock", SoundWhen: SoundInBackground, Repeat: RepeatOnce},
		TriggerTransferred: {On: true, Sound: "chime", SoundWhen: SoundInBackground, Repeat: RepeatOnce},
	}}
}

func (p *Preferences) validate(f problem.Fields) {
	for _, t := range Triggers {
		a := p.Notifications[t]
		key := "notifications." + string(t) + "."
		if a.Sound != "" && !slices.Contains(Sounds, a.Sound) {
			f.Add(key+"sound", "Choose a sound from the list.")
		}
		if a.SoundWhen != SoundInBackground && a.SoundWhen != SoundAlways {
			f.Add(key+"sound_when", "Choose when the sound plays.")
		}
		if a.Repeat != RepeatOnce && a.Repeat != RepeatUntilRead {
			f.Add(key+"repeat", "Choose how often the sound plays.")
		}
	}
}

// Preferences returns user id's preferences, with the defaults for what
// they never set.
func (s *Store) Preferences(ctx context.Context, id int64) (Preferences, error) {
	var raw string
	err := s.db.QueryRow(ctx, `SELECT preferences FROM users WHERE id = $1`, id).Scan(&raw)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return Preferences{}, problem.NotFound("User")
	} else if err != nil {
		return Preferences{}, fmt.Errorf("user: preferences: %w", err)
	}
	return parsePreferences(raw), nil
}

func parsePreferences(raw string) Preferences {
	p := DefaultPreferences()
	var stored Preferences
	if json.Unmarshal([]byte(raw), &stored) == nil {
		for t, a := range stored.Notifications {
			if t.Valid() {
				p.Notifications[t] = a
			}
		}
		p.CapitalizeFirst = stored.CapitalizeFirst
	}
	return p
}
