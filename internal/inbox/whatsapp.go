package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// WhatsAppSettings is a WhatsApp inbox's number as the API shows it. Its
// secrets (access token, app secret, verify token) are never shown: only
// whether they are set.
type WhatsAppSettings struct {
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

// WhatsAppConfig connects a number: what an admin copies from Meta's app
// dashboard. An empty verify token is made up (and shown once).
type WhatsAppConfig struct {
	PhoneNumberID      string `json:"phone_number_id"`
	WABAID             string `json:"waba_id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	AccessToken        string `json:"access_token"`
	AppSecret          string `json:"app_secret"`
	VerifyToken        string `json:"verify_token,omitempty"`
	MessagesPerSecond  int    `json:"messages_per_second,omitempty"`
}

// WhatsAppPatch changes a number's configuration; nil fields, and secrets
// left out, stay as they are.
type WhatsAppPatch struct {
	PhoneNumberID      *string `json:"phone_number_id,omitempty"`
	WABAID             *string `json:"waba_id,omitempty"`
	DisplayPhoneNumber *string `json:"display_phone_number,omitempty"`
	AccessToken        *string `json:"access_token,omitempty"`
	AppSecret          *string `json:"app_secret,omitempty"`
	VerifyToken        *string `json:"verify_token,omitempty"`
	MessagesPerSecond  *int    `json:"messages_per_second,omitempty"`
}

// WhatsAppNumber is a WhatsApp inbox with its secrets, for the channel.
type WhatsAppNumber struct {
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

// whatsappSecrets is the WhatsApp part of the sealed secrets.
type whatsappSecrets struct {
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
func (c *WhatsAppConfig) validate(f problem.Fields) bool {
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

func (c *WhatsAppConfig) settings() *WhatsAppSettings {
	return &WhatsAppSettings{PhoneNumberID: c.PhoneNumberID, WABAID: c.WABAID, DisplayPhoneNumber: c.DisplayPhoneNumber,
		MessagesPerSecond: c.MessagesPerSecond, AccessTokenSet: true, AppSecretSet: true, VerifyTokenSet: true}
}

// apply validates p over the current configuration.
func (p *WhatsAppPatch) apply(f problem.Fields, cur *WhatsAppSettings, sec *whatsappSecrets) {
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
func (p *WhatsAppPatch) changesSecrets() bool {
	return p.AccessToken != nil || p.AppSecret != nil || p.VerifyToken != nil
}

// HashVerifyToken is how a verify token is looked up.
func HashVerifyToken(token string) string { return secret.HashToken(token) }

// errNumberTaken is the field error of a phone number id another inbox has.
var errNumberTaken = problem.Invalid("whatsapp.phone_number_id", "Another inbox is already connected to this phone number ID.")

// writeNumber inserts or updates an inbox's routing row.
func writeNumber(ctx context.Context, tx *db.Tx, inboxID int64, w *WhatsAppSettings, verifyToken string) error {
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
		return fmt.Errorf("inbox: whatsapp number: %w", err)
	}
	return nil
}

func (s *Store) open(sealed string) (secrets, error) {
	var sec secrets
	if sealed == "" {
		return sec, nil
	}
	plain, err := s.box.Open(sealed)
	if err != nil {
		return sec, err
	}
	err = json.Unmarshal([]byte(plain), &sec)
	return sec, err
}

// WhatsAppNumbers returns every WhatsApp inbox with its secrets: the
// channel keeps them to check webhook signatures and call Graph.
func (s *Store) WhatsAppNumbers(ctx context.Context) ([]WhatsAppNumber, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, settings, secrets, archived_at IS NOT NULL FROM inboxes WHERE type = 'whatsapp' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("inbox: whatsapp numbers: %w", err)
	}
	defer rows.Close()
	var out []WhatsAppNumber
	for rows.Next() {
		var n WhatsAppNumber
		var set, sealed string
		if err := rows.Scan(&n.InboxID, &n.Name, &set, &sealed, &n.Archived); err != nil {
			return nil, err
		}
		var st settings
		if err := json.Unmarshal([]byte(set), &st); err != nil || st.WhatsApp == nil {
			return nil, fmt.Errorf("inbox %d: whatsapp settings: %v", n.InboxID, err)
		}
		sec, err := s.open(sealed)
		if err != nil {
			return nil, fmt.Errorf("inbox %d: %w", n.InboxID, err)
		}
		w := st.WhatsApp
		n.PhoneNumberID, n.WABAID, n.DisplayPhoneNumber, n.MessagesPerSecond = w.PhoneNumberID, w.WABAID, w.DisplayPhoneNumber, w.MessagesPerSecond
		if sec.WhatsApp != nil {
			n.AccessToken, n.AppSecret, n.VerifyToken = sec.WhatsApp.AccessToken, sec.WhatsApp.AppSecret, sec.WhatsApp.VerifyToken
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// WhatsAppVerifyToken reports whether token is some WhatsApp inbox's
// verify token (Meta's webhook handshake names no number).
func (s *Store) WhatsAppVerifyToken(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM whatsapp_numbers WHERE verify_token_hash = $1 LIMIT 1`, HashVerifyToken(token)).Scan(&one)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// WhatsAppMessages are the messages of the number's fields that reach
// admins, for the translations' completeness test.
func WhatsAppMessages() []string {
	var out []string
	for _, id := range []idField{phoneNumberIDField, wabaIDField} {
		out = append(out, id.missing, id.bad)
	}
	for _, sf := range []secretField{accessTokenField, appSecretField, verifyTokenField} {
		out = append(out, sf.missing, sf.long, sf.printing)
	}
	return out
}
