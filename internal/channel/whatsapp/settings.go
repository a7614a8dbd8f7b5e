package whatsapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Type is the inbox type of WhatsApp numbers.
const Type inbox.Type = "whatsapp"

// A WhatsApp inbox's settings are kept by the inbox store: Settings are
// its public ones, secrets (access token, app secret, verify token) are
// sealed. The channel checks them (Channel) and keeps the ids Meta routes
// by in whatsapp_numbers, written in the inbox's transaction.

// Settings are a WhatsApp inbox's number as the API shows it (the
// inbox's public settings). Its
// secrets (access token, app secret, verify token) are never shown: only
// whether they are set.
type Settings struct {
	// PhoneNumberID is Meta's id of the number; webhooks are routed by it.
	PhoneNumberID string `json:"phone_number_id"`
	// WABAID is the WhatsApp Business Account (its templates live there).
	WABAID string `json:"waba_id"`
	// DisplayPhoneNumber is the number customers write to, in E.164.
	DisplayPhoneNumber string `json:"display_phone_number"`
	// MessagesPerSecond is the number's throughput limit (Meta's default
	// is 80; upgraded numbers allow 1,000).
	MessagesPerSecond int  `json:"messages_per_second"`
	AccessTokenSet    bool `json:"access_token_set"`
	AppSecretSet      bool `json:"app_secret_set"`
	VerifyTokenSet    bool `json:"verify_token_set"`
}

// Config connects a number: what an admin copies from Meta's app
// dashboard. An empty verify token is made up (and shown once).
type Config struct {
	PhoneNumberID      string `json:"phone_number_id"`
	WABAID             string `json:"waba_id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	AccessToken        string `json:"access_token"`
	AppSecret          string `json:"app_secret"`
	VerifyToken        string `json:"verify_token,omitempty"`
	MessagesPerSecond  int    `json:"messages_per_second,omitempty"`
}

// Patch changes a number's configuration; nil fields, and secrets
// left out, stay as they are.
type Patch struct {
	PhoneNumberID      *string `json:"phone_number_id,omitempty"`
	WABAID             *string `json:"waba_id,omitempty"`
	DisplayPhoneNumber *string `json:"display_phone_number,omitempty"`
	AccessToken        *string `json:"access_token,omitempty"`
	AppSecret          *string `json:"app_secret,omitempty"`
	VerifyToken        *string `json:"verify_token,omitempty"`
	MessagesPerSecond  *int    `json:"messages_per_second,omitempty"`
}

// Number is a WhatsApp inbox with its secrets, as the channel keeps it.
type Number struct {
	InboxID            int64
	Name               string
	PhoneNumberID      string
	WABAID             string
	DisplayPhoneNumber string
	MessagesPerSecond  int
	AccessToken        string
	AppSecret          string
	VerifyToken        string
	// Archived says the inbox is archived: its webhooks are acknowledged
	// and dropped.
	Archived bool
}

// secrets are the inbox's sealed settings.
type secrets struct {
	AccessToken string `json:"access_token"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
}

// DefaultMessagesPerSecond is a number's throughput unless set.
const DefaultMessagesPerSecond = 80

// MaxMessagesPerSecond is the highest throughput Meta grants a number.
const MaxMessagesPerSecond = 1000

// idField is one of Meta's numeric ids, with its messages.
type idField struct{ field, missing, bad string }

var (
	phoneNumberIDField = idField{"whatsapp.phone_number_id", "Enter the phone number ID from Meta's app dashboard.",
		"The phone number ID is a number of at most 32 digits."}
	wabaIDField = idField{"whatsapp.waba_id", "Enter the WhatsApp Business Account ID from Meta's app dashboard.",
		"The WhatsApp Business Account ID is a number of at most 32 digits."}
)

func digitsID(f problem.Fields, id idField, v string) {
	switch {
	case v == "":
		f.Add(id.field, "%s", id.missing)
	case len(v) > 32 || strings.TrimLeft(v, "0123456789") != "":
		f.Add(id.field, "%s", id.bad)
	}
}

// secretField is a secret of the number, with its messages.
type secretField struct {
	field                   string
	max                     int
	missing, long, printing string
}

var (
	accessTokenField = secretField{"whatsapp.access_token", 2048, "Enter the access token.",
		"The access token has at most 2048 characters.", "The access token has no spaces or invisible characters: copy it again."}
	appSecretField = secretField{"whatsapp.app_secret", 256, "Enter the app secret.",
		"The app secret has at most 256 characters.", "The app secret has no spaces or invisible characters: copy it again."}
	verifyTokenField = secretField{"whatsapp.verify_token", 256, "Enter the verify token.",
		"The verify token has at most 256 characters.", "The verify token has no spaces or invisible characters: type it again."}
)

// secretValue checks a secret: present, printable, no spaces, and not
// too long.
func secretValue(f problem.Fields, sf secretField, v string) {
	switch {
	case v == "":
		f.Add(sf.field, "%s", sf.missing)
	case utf8.RuneCountInString(v) > sf.max:
		f.Add(sf.field, "%s", sf.long)
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		f.Add(sf.field, "%s", sf.printing)
	}
}

// displayNumber normalises the number customers see to E.164; Meta shows
// it as digits without "+".
func displayNumber(f problem.Fields, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		f.Add("whatsapp.display_phone_number", "Enter the phone number customers write to, like +14155550123.")
		return v
	}
	if !strings.HasPrefix(v, "+") && !strings.HasPrefix(v, "00") {
		v = "+" + v
	}
	n, msg := phone.Normalize(v, phone.Possible)
	if msg != "" {
		f.Add("whatsapp.display_phone_number", "Enter the phone number customers write to, like +14155550123.")
		return v
	}
	return n
}

func rate(f problem.Fields, n int) int {
	switch {
	case n == 0:
		return DefaultMessagesPerSecond
	case n < 1 || n > MaxMessagesPerSecond:
		f.Add("whatsapp.messages_per_second", "Use a whole number from 1 to %d (Meta's default is %d).", MaxMessagesPerSecond, DefaultMessagesPerSecond)
	}
	return n
}

// validate checks a new number and fills in the verify token when none
// was given; it reports whether it made one up.
func (c *Config) validate(f problem.Fields) bool {
	c.PhoneNumberID = strings.TrimSpace(c.PhoneNumberID)
	c.WABAID = strings.TrimSpace(c.WABAID)
	c.AccessToken = strings.TrimSpace(c.AccessToken)
	c.AppSecret = strings.TrimSpace(c.AppSecret)
	c.VerifyToken = strings.TrimSpace(c.VerifyToken)
	digitsID(f, phoneNumberIDField, c.PhoneNumberID)
	digitsID(f, wabaIDField, c.WABAID)
	c.DisplayPhoneNumber = displayNumber(f, c.DisplayPhoneNumber)
	secretValue(f, accessTokenField, c.AccessToken)
	secretValue(f, appSecretField, c.AppSecret)
	made := false
	if c.VerifyToken == "" {
		c.VerifyToken, made = randomToken(24), true
	} else {
		secretValue(f, verifyTokenField, c.VerifyToken)
	}
	c.MessagesPerSecond = rate(f, c.MessagesPerSecond)
	return made
}

func (c *Config) settings() *Settings {
	return &Settings{PhoneNumberID: c.PhoneNumberID, WABAID: c.WABAID, DisplayPhoneNumber: c.DisplayPhoneNumber,
		MessagesPerSecond: c.MessagesPerSecond, AccessTokenSet: true, AppSecretSet: true, VerifyTokenSet: true}
}

// apply validates p over the current configuration.
func (p *Patch) apply(f problem.Fields, cur *Settings, sec *secrets) {
	if p.PhoneNumberID != nil {
		cur.PhoneNumberID = strings.TrimSpace(*p.PhoneNumberID)
		digitsID(f, phoneNumberIDField, cur.PhoneNumberID)
	}
	if p.WABAID != nil {
		cur.WABAID = strings.TrimSpace(*p.WABAID)
		digitsID(f, wabaIDField, cur.WABAID)
	}
	if p.DisplayPhoneNumber != nil {
		cur.DisplayPhoneNumber = displayNumber(f, *p.DisplayPhoneNumber)
	}
	if p.MessagesPerSecond != nil {
		if *p.MessagesPerSecond == 0 {
			f.Add("whatsapp.messages_per_second", "Use a whole number from 1 to %d (Meta's default is %d).", MaxMessagesPerSecond, DefaultMessagesPerSecond)
		}
		cur.MessagesPerSecond = rate(f, *p.MessagesPerSecond)
	}
	if p.AccessToken != nil {
		sec.AccessToken = strings.TrimSpace(*p.AccessToken)
		secretValue(f, accessTokenField, sec.AccessToken)
	}
	if p.AppSecret != nil {
		sec.AppSecret = strings.TrimSpace(*p.AppSecret)
		secretValue(f, appSecretField, sec.AppSecret)
	}
	if p.VerifyToken != nil {
		sec.VerifyToken = strings.TrimSpace(*p.VerifyToken)
		secretValue(f, verifyTokenField, sec.VerifyToken)
	}
}

// changesSecrets reports whether the patch replaces a secret.
func (p *Patch) changesSecrets() bool {
	return p.AccessToken != nil || p.AppSecret != nil || p.VerifyToken != nil
}

// HashVerifyToken is how a verify token is looked up.
func HashVerifyToken(token string) string { return secret.HashToken(token) }

// errNumberTaken is the field error of a phone number id another inbox has.
var errNumberTaken = problem.Invalid("whatsapp.phone_number_id", "Another inbox is already connected to this phone number ID.")

// writeNumber inserts or updates an inbox's routing row.
func writeNumber(ctx context.Context, tx *db.Tx, inboxID int64, w *Settings, verifyToken string) error {
	now := db.Now()
	_, err := tx.Exec(ctx, `INSERT INTO whatsapp_numbers (inbox_id, phone_number_id, waba_id, verify_token_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (inbox_id) DO UPDATE SET phone_number_id = excluded.phone_number_id, waba_id = excluded.waba_id,
			verify_token_hash = excluded.verify_token_hash, updated_at = excluded.updated_at`,
		inboxID, w.PhoneNumberID, w.WABAID, HashVerifyToken(verifyToken), now)
	if errors.Is(db.MapErr(err), db.ErrConflict) {
		return errNumberTaken
	}
	if err != nil {
		return errorf("number: %w", err)
	}
	return nil
}

// Channel describes WhatsApp inboxes to the inbox store; jobs it needs
// when a number's settings change go to queue.
func Channel(queue *job.Queue) inbox.Channel {
	return inbox.Channel{
		Type:      Type,
		Misplaced: "Only WhatsApp inboxes have WhatsApp settings.",
		Check:     checkSettings,
		Written: func(ctx context.Context, tx *event.Tx, inboxID int64, s inbox.Settings) error {
			return written(ctx, tx, queue, inboxID, s)
		},
	}
}

// checkSettings checks a new number's Config, or a Patch of a number.
func checkSettings(cur *inbox.Settings, given json.RawMessage, f problem.Fields) (inbox.Settings, string) {
	if cur == nil {
		if given == nil {
			f.Add("whatsapp", "Give the number's phone_number_id, waba_id, display_phone_number, access_token and app_secret.")
			return inbox.Settings{}, ""
		}
		var c Config
		if err := json.Unmarshal(given, &c); err != nil {
			f.Add("whatsapp", "Give the number's phone_number_id, waba_id, display_phone_number, access_token and app_secret.")
			return inbox.Settings{}, ""
		}
		made := c.validate(f)
		next := inbox.Settings{Public: mustJSON(c.settings()), Secret: mustJSON(secrets{AccessToken: c.AccessToken, AppSecret: c.AppSecret, VerifyToken: c.VerifyToken})}
		if made {
			return next, c.VerifyToken
		}
		return next, ""
	}
	var p Patch
	if err := json.Unmarshal(given, &p); err != nil {
		f.Add("whatsapp", "Give the number's phone_number_id, waba_id, display_phone_number, access_token and app_secret.")
		return *cur, ""
	}
	var set Settings
	var sec secrets
	if err := json.Unmarshal(cur.Public, &set); err != nil {
		f.Add("whatsapp", "Give the number's phone_number_id, waba_id, display_phone_number, access_token and app_secret.")
		return *cur, ""
	}
	if len(cur.Secret) > 0 {
		json.Unmarshal(cur.Secret, &sec)
	}
	p.apply(f, &set, &sec)
	set.AccessTokenSet, set.AppSecretSet, set.VerifyTokenSet = sec.AccessToken != "", sec.AppSecret != "", sec.VerifyToken != ""
	return inbox.Settings{Public: mustJSON(set), Secret: mustJSON(sec)}, ""
}

// written runs in the transaction that connects a number or changes its
// settings: it keeps the number's routing row, forgets a token error (the
// next refusal flags it again) and has the templates synchronised.
func written(ctx context.Context, tx *event.Tx, queue *job.Queue, inboxID int64, s inbox.Settings) error {
	var set Settings
	var sec secrets
	if err := json.Unmarshal(s.Public, &set); err != nil {
		return errorf("settings of inbox %d: %w", inboxID, err)
	}
	if err := json.Unmarshal(s.Secret, &sec); err != nil {
		return errorf("secrets of inbox %d: %w", inboxID, err)
	}
	if err := writeNumber(ctx, tx.Tx, inboxID, &set, sec.VerifyToken); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE whatsapp_state SET token_error = '', token_error_at = NULL WHERE inbox_id = $1 AND token_error <> ''`, inboxID); err != nil {
		return errorf("clear token error: %w", err)
	}
	_, err := queue.Enqueue(ctx, tx.Tx, TemplatesJob, inboxPayload{InboxID: inboxID}, job.Options{DedupKey: templatesKey(inboxID), MaxAttempts: 8})
	return err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SettingsOf reads a WhatsApp inbox's public settings.
func SettingsOf(in inbox.Inbox) (Settings, error) {
	var s Settings
	if in.Type != Type {
		return s, problem.NotFound("WhatsApp inbox")
	}
	if err := json.Unmarshal(in.Settings, &s); err != nil {
		return s, errorf("settings of inbox %d: %w", in.ID, err)
	}
	return s, nil
}

// numberOf is a WhatsApp inbox with its secrets as the channel uses it.
func numberOf(w inbox.WithSecret) (Number, error) {
	n := Number{InboxID: w.ID, Name: w.Name, Archived: w.ArchivedAt != nil}
	s, err := SettingsOf(w.Inbox)
	if err != nil {
		return n, err
	}
	var sec secrets
	if len(w.Secret) > 0 {
		if err := json.Unmarshal(w.Secret, &sec); err != nil {
			return n, errorf("secrets of inbox %d: %w", w.ID, err)
		}
	}
	n.PhoneNumberID, n.WABAID, n.DisplayPhoneNumber, n.MessagesPerSecond = s.PhoneNumberID, s.WABAID, s.DisplayPhoneNumber, s.MessagesPerSecond
	n.AccessToken, n.AppSecret, n.VerifyToken = sec.AccessToken, sec.AppSecret, sec.VerifyToken
	return n, nil
}

// verifyTokenKnown reports whether token is some WhatsApp inbox's verify
// token (Meta's webhook handshake names no number).
func verifyTokenKnown(ctx context.Context, q db.Querier, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM whatsapp_numbers WHERE verify_token_hash = $1 LIMIT 1`, HashVerifyToken(token)).Scan(&one)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SettingsMessages are the messages of the number's fields that reach
// admins, for the translations' completeness test.
func SettingsMessages() []string {
	var out []string
	for _, id := range []idField{phoneNumberIDField, wabaIDField} {
		out = append(out, id.missing, id.bad)
	}
	for _, sf := range []secretField{accessTokenField, appSecretField, verifyTokenField} {
		out = append(out, sf.missing, sf.long, sf.printing)
	}
	return out
}
