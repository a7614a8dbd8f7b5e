package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Method is how a user proves the second factor.
type Method string

// The methods ("" is none: two-factor authentication is off).
const (
	MethodEmail Method = "email" // a code sent by email
	MethodSMS   Method = "sms"   // a code sent by text message to the mobile number
	MethodTOTP  Method = "totp"  // a code from an authenticator app (or a recovery code)
)

// Valid reports whether m is a method.
func (m Method) Valid() bool { return m == MethodEmail || m == MethodSMS || m == MethodTOTP }

// Label names the method for people (English; translated by the web
// layer).
func (m Method) Label() string {
	switch m {
	case MethodEmail:
		return "Email"
	case MethodSMS:
		return "Text message (SMS)"
	case MethodTOTP:
		return "Authenticator app"
	}
	return "Off"
}

// Purpose is what a one-time code is for; a code works for its purpose
// only.
type Purpose string

// The purposes.
const (
	PurposeLogin   Purpose = "login"
	PurposeCurrent Purpose = "2fa_current" // proving the current method before a change
	PurposeNew     Purpose = "2fa_new"     // proving the new method
	PurposePhoneA  Purpose = "phone_old"   // proving the previous mobile number
	PurposePhoneB  Purpose = "phone_new"   // proving the new mobile number
)

// One-time codes: 6 digits, valid 5 minutes, once; the fifth wrong try
// kills the code.
const (
	CodeTTL      = 5 * time.Minute
	MaxCodeTries = 5
	// ChallengeTTL is how long a sign-in waits for its second factor.
	ChallengeTTL = 10 * time.Minute
	// ChangeTTL is how long a change of two-factor settings or of the
	// mobile number may take.
	ChangeTTL = 15 * time.Minute
	// RecoveryCodes is how many recovery codes an authenticator app user
	// gets.
	RecoveryCodes = 10
)

// Send limits, held in the database so that they hold across nodes: per
// user 10 codes an hour, and 30 seconds between two codes for the same
// purpose to the same destination; per address 20 an hour. Wrong authenticator-app codes: 10 per
// 15 minutes per user.
var (
	userSendLimit    = limit{window: time.Hour, max: 10}
	purposeSendLimit = limit{window: time.Hour, max: 1 << 30, gap: 30 * time.Second}
	ipSendLimit      = limit{window: time.Hour, max: 20}
	totpFailLimit    = limit{window: 15 * time.Minute, max: 10}
)

// Factors runs two-factor authentication: the method each user chose,
// one-time codes by email and SMS, authenticator apps and recovery codes,
// sign-ins that wait for their second factor, and changes of the method
// and of the mobile number (which need codes too).
type Factors struct {
	db    *db.DB
	log   *event.Log
	users *user.Store
	box   *secret.Box
	mail  *mail.Outbox
	sms   *sms.Outbox
	cat   *i18n.Catalog
	// now is the clock (tests move it).
	now func() time.Time
}

// NewFactors returns the two-factor service. Codes go out through the
// mail and SMS outboxes, worded in each user's language.
func NewFactors(d *db.DB, log *event.Log, users *user.Store, box *secret.Box, mailbox *mail.Outbox, texts *sms.Outbox, cat *i18n.Catalog) *Factors {
	return &Factors{db: d, log: log, users: users, box: box, mail: mailbox, sms: texts, cat: cat, now: db.Now}
}

// ---- Settings ----

const settingRequire = "require_two_factor"

// Required reports whether an admin requires two-factor authentication
// of everyone (users who have not chosen a method then get codes by
// email).
func (f *Factors) Required(ctx context.Context) (bool, error) {
	var v string
	err := f.db.QueryRow(ctx, `SELECT value FROM app_settings WHERE key = $1`, settingRequire).Scan(&v)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return false, nil
	}
	return v == "true", err
}

// SetRequired turns the requirement on or off.
func (f *Factors) SetRequired(ctx context.Context, on bool) error {
	_, err := f.db.Exec(ctx, `INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, settingRequire, strconv.FormatBool(on), f.now())
	return err
}

// Method returns the method userID chose, "" for none.
func (f *Factors) Method(ctx context.Context, userID int64) (Method, error) {
	var m Method
	err := f.db.QueryRow(ctx, `SELECT method FROM two_factor WHERE user_id = $1`, userID).Scan(&m)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return "", nil
	}
	return m, err
}

// LoginMethod is the method a sign-in of u must pass: theirs, email when
// an admin requires two-factor authentication of users without one, ""
// for none.
func (f *Factors) LoginMethod(ctx context.Context, u user.User) (Method, error) {
	m, err := f.Method(ctx, u.ID)
	if err != nil || m != "" {
		return m, err
	}
	req, err := f.Required(ctx)
	if err != nil || !req {
		return "", err
	}
	return MethodEmail, nil
}

// RecoveryCodesLeft counts u's unused recovery codes.
func (f *Factors) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := f.db.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

// ---- Codes ----

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

func hashCode(salt []byte, code string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(code))
	return hex.EncodeToString(salt) + ":" + hex.EncodeToString(h.Sum(nil))
}

func codeMatches(stored, code string) bool {
	saltHex, _, ok := strings.Cut(stored, ":")
	salt, err := hex.DecodeString(saltHex)
	if !ok || err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashCode(salt, code)), []byte(stored)) == 1
}

// normalizeCode keeps the digits (and letters, for recovery codes) of
// what was typed: "123 456" and "123-456" are 123456.
func normalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}

// destination is where a code of method m goes for u.
func destination(u user.User, m Method) (string, error) {
	switch m {
	case MethodEmail:
		return u.Email, nil
	case MethodSMS:
		if u.Mobile == "" {
			return "", problem.Invalid("method", "Add a mobile number to your profile first: text messages go there.")
		}
		return u.Mobile, nil
	}
	return "", fmt.Errorf("auth: no code is sent for method %q", m)
}

// sendCode makes a new code for u and purpose (the previous one stops
// working), and queues it to dest by mail or text, within the send
// limits. ip is the requester's address.
func (f *Factors) sendCode(ctx context.Context, tx *db.Tx, u user.User, purpose Purpose, m Method, dest, ip string) error {
	now := f.now()
	wait, err := hit(ctx, tx, now, []counter{
		{fmt.Sprintf("otp:user:%d", u.ID), userSendLimit},
		{fmt.Sprintf("otp:user:%d:%s:%s", u.ID, purpose, dest), purposeSendLimit},
		{"otp:ip:" + ip, ipSendLimit},
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		return problem.RateLimited(wait)
	}
	code := newCode()
	salt := make([]byte, 16)
	rand.Read(salt)
	if _, err := tx.Exec(ctx, `DELETE FROM otp_codes WHERE user_id = $1 AND purpose = $2`, u.ID, purpose); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO otp_codes (user_id, purpose, channel, destination, code_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, purpose, m, dest, hashCode(salt, code), now, now.Add(CodeTTL))
	if err != nil {
		return fmt.Errorf("auth: store code: %w", err)
	}
	lang := u.Language
	why := f.cat.T(lang, purposeText(purpose))
	switch m {
	case MethodEmail:
		return f.mail.Queue(ctx, tx, mail.Message{To: dest,
			Subject: f.cat.Tf(lang, "Your Switchboard code: %s", code),
			Text: f.cat.Tf(lang, "Your Switchboard code is %s.", code) + "\n\n" + why + "\n" +
				f.cat.T(lang, "It works once, for 5 minutes. If you did not ask for it, change your password.")})
	case MethodSMS:
		return f.sms.Queue(ctx, tx, sms.Message{To: dest, Text: f.cat.Tf(lang, "Switchboard code: %s (valid 5 minutes).", code) + " " + why})
	}
	return fmt.Errorf("auth: cannot send a code by %q", m)
}

func purposeText(p Purpose) string {
	switch p {
	case PurposeLogin:
		return "Use it to sign in."
	case PurposeCurrent, PurposeNew:
		return "Use it to change your two-factor authentication."
	default:
		return "Use it to confirm your mobile number."
	}
}

// errCode is a refused code; the web layer shows it next to the code
// field.
func errCode(format string, args ...any) error { return problem.Invalid("code", format, args...) }

// checkCode checks a code for u and purpose. A right code is used up; a
// wrong one counts, and the fifth wrong try kills the code. It commits
// the count even though it returns an error.
func (f *Factors) checkCode(ctx context.Context, userID int64, purpose Purpose, code string) error {
	code = normalizeCode(code)
	if code == "" {
		return errCode("Enter the code.")
	}
	var outcome error
	err := f.db.Write(ctx, func(tx *db.Tx) error {
		outcome = nil
		var id int64
		var stored string
		var tries int
		var expires time.Time
		err := tx.QueryRow(ctx, `SELECT id, code_hash, attempts, expires_at FROM otp_codes WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
			ORDER BY id DESC LIMIT 1`, userID, purpose).Scan(&id, &stored, &tries, &expires)
		switch {
		case errors.Is(db.MapErr(err), db.ErrNotFound):
			outcome = errCode("There is no code waiting: send a new one.")
			return nil
		case err != nil:
			return err
		case tries >= MaxCodeTries:
			outcome = errCode("Too many wrong codes: this code no longer works. Send a new one.")
			return nil
		case f.now().After(expires):
			outcome = errCode("This code has expired: send a new one.")
			return nil
		}
		if !codeMatches(stored, code) {
			if err := tx.QueryRow(ctx, `UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&tries); err != nil {
				return err
			}
			if left := MaxCodeTries - tries; left > 0 {
				outcome = errCode("This code is not right. You can try %d more times.", left)
			} else {
				outcome = errCode("Too many wrong codes: this code no longer works. Send a new one.")
			}
			return nil
		}
		res, err := tx.Exec(ctx, `UPDATE otp_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND attempts < $3`, id, f.now(), MaxCodeTries)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			outcome = errCode("This code was already used: send a new one.")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: check code: %w", err)
	}
	return outcome
}

// ---- Authenticator apps ----

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep returns the time step (of 30 s) whose code is code, looking
// one step either side for clocks that drift, or 0.
func totpStep(secret, code string, now time.Time) int64 {
	step := now.Unix() / totpPeriod
	for _, d := range []int64{0, -1, 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d
		}
	}
	return 0
}

// checkTOTP checks an app code (or, failing that, a recovery code) of
// userID. A code works once: a step at or before the last used one is
// refused. Wrong codes are counted per user.
func (f *Factors) checkTOTP(ctx context.Context, userID int64, code string) error {
	code = normalizeCode(code)
	if code == "" {
		return errCode("Enter the code from your authenticator app, or a recovery code.")
	}
	var outcome error
	err := f.db.Write(ctx, func(tx *db.Tx) error {
		outcome = nil
		now := f.now()
		key := fmt.Sprintf("totp-fail:user:%d", userID)
		if wait, err := peek(ctx, tx, now, key, totpFailLimit); err != nil {
			return err
		} else if wait > 0 {
			outcome = problem.RateLimited(wait)
			return nil
		}
		var sealed string
		if err := tx.QueryRow(ctx, `SELECT totp_secret FROM two_factor WHERE user_id = $1 AND method = 'totp'`, userID).Scan(&sealed); err != nil {
			return fmt.Errorf("auth: totp secret: %w", db.MapErr(err))
		}
		secret, err := f.box.Open(sealed)
		if err != nil {
			return err
		}
		if len(code) == 6 {
			if step := totpStep(secret, code, now); step != 0 {
				res, err := tx.Exec(ctx, `UPDATE two_factor SET totp_last_step = $2 WHERE user_id = $1 AND totp_last_step < $2`, userID, step)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 1 {
					return nil
				}
				outcome = errCode("This code was already used: wait for the next one in your app.")
				return nil
			}
		} else if ok, err := useRecoveryCode(ctx, tx, userID, code); err != nil || ok {
			return err
		}
		if _, err := hit(ctx, tx, now, []counter{{key, totpFailLimit}}); err != nil {
			return err
		}
		outcome = errCode("This code is not right.")
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: check app code: %w", err)
	}
	return outcome
}

// newRecoveryCodes replaces userID's recovery codes and returns them
// (shown once): ten codes like "k3v9q-7xm2p".
func newRecoveryCodes(ctx context.Context, tx *db.Tx, userID int64) ([]string, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, err
	}
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	codes := make([]string, RecoveryCodes)
	for i := range codes {
		b := make([]byte, 7)
		rand.Read(b)
		s := enc.EncodeToString(b)[:10]
		codes[i] = s[:5] + "-" + s[5:]
		sum := sha256.Sum256([]byte(normalizeCode(codes[i])))
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, hex.EncodeToString(sum[:])); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

func useRecoveryCode(ctx context.Context, tx *db.Tx, userID int64, code string) (bool, error) {
	sum := sha256.Sum256([]byte(code))
	res, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		userID, hex.EncodeToString(sum[:]), db.Now())
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// check checks a code of method m for userID and purpose.
func (f *Factors) check(ctx context.Context, userID int64, m Method, purpose Purpose, code string) error {
	if m == MethodTOTP {
		return f.checkTOTP(ctx, userID, code)
	}
	return f.checkCode(ctx, userID, purpose, code)
}

// ---- Sign-in ----

// Challenge is a sign-in waiting for its second factor.
type Challenge struct {
	// Token identifies the challenge to the browser (a cookie); it is
	// secret.
	Token  string
	Method Method
	// Wait is set when no new code could be sent yet (one was sent moments
	// ago and still works): how long until another may be sent.
	Wait time.Duration
}

// StartLogin begins the second step of u's sign-in by method m: a code
// goes out by email or SMS (an app needs nothing sent).
func (f *Factors) StartLogin(ctx context.Context, u user.User, m Method, ip string) (Challenge, error) {
	token, hash := secret.NewToken("sbc_")
	now := f.now()
	err := f.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_challenges WHERE expires_at < $1`, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO login_challenges (token_hash, user_id, method, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hash, u.ID, m, now, now.Add(ChallengeTTL)); err != nil {
			return err
		}
		if m == MethodTOTP {
			return nil
		}
		dest, err := destination(u, m)
		if err != nil {
			return err
		}
		return f.sendCode(ctx, tx, u, PurposeLogin, m, dest, ip)
	})
	if p, ok := problem.As(err); ok && p.Kind == problem.KindRateLimited {
		// A code sent moments ago still works: keep the challenge.
		if err := f.db.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO login_challenges (token_hash, user_id, method, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
				hash, u.ID, m, now, now.Add(ChallengeTTL))
			return err
		}); err != nil {
			return Challenge{}, err
		}
		return Challenge{Token: token, Method: m, Wait: p.RetryAfter}, nil
	}
	if err != nil {
		return Challenge{}, err
	}
	return Challenge{Token: token, Method: m}, nil
}

// errChallenge sends the browser back to the password step.
var errChallenge = &problem.Error{Kind: problem.KindUnauthorized, Message: "This sign-in has expired: enter your email and password again."}

// challenge returns the live challenge of token.
func (f *Factors) challenge(ctx context.Context, token string) (int64, Method, error) {
	if !strings.HasPrefix(token, "sbc_") || len(token) > 100 {
		return 0, "", errChallenge
	}
	var uid int64
	var m Method
	var expires time.Time
	err := f.db.QueryRow(ctx, `SELECT user_id, method, expires_at FROM login_challenges WHERE token_hash = $1`, secret.HashToken(token)).Scan(&uid, &m, &expires)
	if errors.Is(db.MapErr(err), db.ErrNotFound) || (err == nil && f.now().After(expires)) {
		return 0, "", errChallenge
	}
	return uid, m, err
}

// ChallengeMethod returns the method a challenge waits for.
func (f *Factors) ChallengeMethod(ctx context.Context, token string) (Method, error) {
	_, m, err := f.challenge(ctx, token)
	return m, err
}

// ResendLogin sends a new code for a challenge.
func (f *Factors) ResendLogin(ctx context.Context, token, ip string) error {
	uid, m, err := f.challenge(ctx, token)
	if err != nil {
		return err
	}
	if m == MethodTOTP {
		return problem.Conflict("Codes come from your authenticator app: nothing is sent.")
	}
	u, err := f.users.Get(ctx, uid)
	if err != nil {
		return err
	}
	dest, err := destination(u, m)
	if err != nil {
		return err
	}
	return f.db.Write(ctx, func(tx *db.Tx) error { return f.sendCode(ctx, tx, u, PurposeLogin, m, dest, ip) })
}

// FinishLogin checks the code of a challenge and returns the user, whose
// session may now start. The challenge is used up.
func (f *Factors) FinishLogin(ctx context.Context, token, code string) (int64, error) {
	uid, m, err := f.challenge(ctx, token)
	if err != nil {
		return 0, err
	}
	if err := f.check(ctx, uid, m, PurposeLogin, code); err != nil {
		return 0, err
	}
	res, err := f.db.Exec(ctx, `DELETE FROM login_challenges WHERE token_hash = $1`, secret.HashToken(token))
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, errChallenge // finished by a concurrent request
	}
	return uid, nil
}

// ---- Changing the method ----

// Pending changes in pending_changes.kind.
const (
	kindTwoFactor = "two_factor"
	kindPhone     = "phone"
)

// Change is a change of the two-factor method in progress.
type Change struct {
	// Target is the method being switched to, "" to switch off.
	Target Method
	// Current is the method now ("" for none).
	Current Method
	// Stage is what the next code proves: "current" (the method now) or
	// "new" (the target).
	Stage string
	// Destination is where the awaited code was sent ("" for an app).
	Destination string
	// TOTPURL and TOTPSecret set up an authenticator app (target totp,
	// stage new); QR is a PNG of TOTPURL as a data: URL.
	TOTPURL    string
	TOTPSecret string
	QR         string
}

// Stages of a change.
const (
	StageCurrent = "current"
	StageNew     = "new"
)

func (f *Factors) pending(ctx context.Context, q db.Querier, userID int64, kind string) (target, sealed string, proved bool, ok bool, err error) {
	var expires time.Time
	var p int
	err = q.QueryRow(ctx, `SELECT target, secret, proved, expires_at FROM pending_changes WHERE user_id = $1 AND kind = $2`, userID, kind).
		Scan(&target, &sealed, &p, &expires)
	if errors.Is(db.MapErr(err), db.ErrNotFound) || (err == nil && f.now().After(expires)) {
		return "", "", false, false, nil
	}
	return target, sealed, p == 1, err == nil, err
}

func putPending(ctx context.Context, tx *db.Tx, userID int64, kind, target, sealed string, proved bool, expires time.Time) error {
	p := 0
	if proved {
		p = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO pending_changes (user_id, kind, target, secret, proved, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, kind) DO UPDATE SET target = excluded.target, secret = excluded.secret, proved = excluded.proved, expires_at = excluded.expires_at`,
		userID, kind, target, sealed, p, expires)
	return err
}

// PendingChange returns u's change of method in progress, or nil.
func (f *Factors) PendingChange(ctx context.Context, u user.User) (*Change, error) {
	target, sealed, proved, ok, err := f.pending(ctx, f.db, u.ID, kindTwoFactor)
	if err != nil || !ok {
		return nil, err
	}
	cur, err := f.Method(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	c := &Change{Target: Method(target), Current: cur, Stage: StageCurrent}
	m := cur
	if proved {
		c.Stage, m = StageNew, c.Target
	}
	if m == MethodEmail || m == MethodSMS {
		c.Destination, _ = destination(u, m)
	}
	if c.Stage == StageNew && c.Target == MethodTOTP {
		secret, err := f.box.Open(sealed)
		if err != nil {
			return nil, err
		}
		key, err := otp.NewKeyFromURL(totpURL(u.Email, secret))
		if err != nil {
			return nil, err
		}
		c.TOTPURL, c.TOTPSecret = key.URL(), secret
		if img, err := key.Image(240, 240); err == nil {
			var b bytes.Buffer
			if png.Encode(&b, img) == nil {
				c.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
			}
		}
	}
	return c, nil
}

func totpURL(account, secret string) string {
	return "otpauth://totp/Switchboard:" + strings.ReplaceAll(account, " ", "%20") + "?secret=" + secret + "&issuer=Switchboard&algorithm=SHA1&digits=6&period=30"
}

// StartChange begins switching u's method to target ("" to switch off).
// The current method must be proved first (a code goes out now), then the
// new one.
func (f *Factors) StartChange(ctx context.Context, u user.User, target Method, ip string) error {
	if target != "" && !target.Valid() {
		return problem.Invalid("method", "Choose a method from the list.")
	}
	cur, err := f.Method(ctx, u.ID)
	if err != nil {
		return err
	}
	switch {
	case target == cur && cur == "":
		return problem.Invalid("method", "Two-factor authentication is already off.")
	case target == cur:
		return problem.Invalid("method", "This is already your method.")
	case target == MethodSMS && u.Mobile == "":
		return problem.Invalid("method", "Add a mobile number to your profile first: text messages go there.")
	}
	sealed := ""
	if target == MethodTOTP {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "Switchboard", AccountName: u.Email, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		if sealed, err = f.box.Seal(key.Secret()); err != nil {
			return err
		}
	}
	proved := cur == ""
	return f.db.Write(ctx, func(tx *db.Tx) error {
		if err := putPending(ctx, tx, u.ID, kindTwoFactor, string(target), sealed, proved, f.now().Add(ChangeTTL)); err != nil {
			return err
		}
		return f.sendStage(ctx, tx, u, cur, target, proved, ip)
	})
}

// sendStage sends the code the stage waits for (none for an app).
func (f *Factors) sendStage(ctx context.Context, tx *db.Tx, u user.User, cur, target Method, proved bool, ip string) error {
	m, purpose := cur, PurposeCurrent
	if proved {
		m, purpose = target, PurposeNew
	}
	if m != MethodEmail && m != MethodSMS {
		return nil
	}
	dest, err := destination(u, m)
	if err != nil {
		return err
	}
	return f.sendCode(ctx, tx, u, purpose, m, dest, ip)
}

// ResendChange sends the awaited code of u's change again.
func (f *Factors) ResendChange(ctx context.Context, u user.User, ip string) error {
	target, _, proved, ok, err := f.pending(ctx, f.db, u.ID, kindTwoFactor)
	if err != nil {
		return err
	}
	if !ok {
		return problem.Conflict("There is no change in progress: start again.")
	}
	cur, err := f.Method(ctx, u.ID)
	if err != nil {
		return err
	}
	return f.db.Write(ctx, func(tx *db.Tx) error { return f.sendStage(ctx, tx, u, cur, Method(target), proved, ip) })
}

// CancelChange drops u's change in progress.
func (f *Factors) CancelChange(ctx context.Context, userID int64) error {
	_, err := f.db.Exec(ctx, `DELETE FROM pending_changes WHERE user_id = $1 AND kind = $2`, userID, kindTwoFactor)
	return err
}

// Outcome is where a verified code of a change leaves it.
type Outcome struct {
	// Done is true when the change has been made.
	Done bool
	// Method is the method now.
	Method Method
	// RecoveryCodes are new recovery codes to show once (an app was set
	// up).
	RecoveryCodes []string
}

// VerifyChange checks the code of the stage u's change waits for: after
// the current method, the new one; after the new one, the change is
// made.
func (f *Factors) VerifyChange(ctx context.Context, u user.User, code, ip string) (Outcome, error) {
	target, sealed, proved, ok, err := f.pending(ctx, f.db, u.ID, kindTwoFactor)
	if err != nil {
		return Outcome{}, err
	}
	if !ok {
		return Outcome{}, problem.Conflict("There is no change in progress (or it took more than 15 minutes): start again.")
	}
	cur, err := f.Method(ctx, u.ID)
	if err != nil {
		return Outcome{}, err
	}
	t := Method(target)
	if !proved {
		if err := f.check(ctx, u.ID, cur, PurposeCurrent, code); err != nil {
			return Outcome{}, err
		}
		if t != "" {
			err := f.db.Write(ctx, func(tx *db.Tx) error {
				if err := putPending(ctx, tx, u.ID, kindTwoFactor, target, sealed, true, f.now().Add(ChangeTTL)); err != nil {
					return err
				}
				return f.sendStage(ctx, tx, u, cur, t, true, ip)
			})
			return Outcome{Method: cur}, err
		}
	} else if t == MethodTOTP {
		secret, err := f.box.Open(sealed)
		if err != nil {
			return Outcome{}, err
		}
		c := normalizeCode(code)
		if c == "" {
			return Outcome{}, errCode("Enter the code from your authenticator app.")
		}
		if totpStep(secret, c, f.now()) == 0 {
			return Outcome{}, errCode("This code is not right: check the app shows Switchboard and try the code it shows now.")
		}
	} else if err := f.checkCode(ctx, u.ID, PurposeNew, code); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Done: true, Method: t}
	err = f.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pending_changes WHERE user_id = $1 AND kind = $2`, u.ID, kindTwoFactor); err != nil {
			return err
		}
		if t == "" {
			_, err := tx.Exec(ctx, `DELETE FROM two_factor WHERE user_id = $1`, u.ID)
			if err == nil {
				_, err = tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, u.ID)
			}
			return err
		}
		step := int64(0)
		if t == MethodTOTP {
			secret, _ := f.box.Open(sealed)
			step = totpStep(secret, normalizeCode(code), f.now())
		}
		if _, err := tx.Exec(ctx, `INSERT INTO two_factor (user_id, method, totp_secret, totp_last_step, enabled_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET method = excluded.method, totp_secret = excluded.totp_secret,
			totp_last_step = excluded.totp_last_step, enabled_at = excluded.enabled_at`, u.ID, t, sealed, step, f.now()); err != nil {
			return err
		}
		if t == MethodTOTP {
			var err error
			out.RecoveryCodes, err = newRecoveryCodes(ctx, tx, u.ID)
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, u.ID)
		return err
	})
	return out, err
}

// ---- Changing the mobile number ----

// PhoneChange is a change of the mobile number in progress.
type PhoneChange struct {
	// Target is the new number ("" removes the number).
	Target string
	// Stage is StageCurrent (a code went to the previous number) or
	// StageNew (a code went to the new one).
	Stage       string
	Destination string
}

// PendingPhone returns u's change of mobile number in progress, or nil.
func (f *Factors) PendingPhone(ctx context.Context, u user.User) (*PhoneChange, error) {
	target, _, proved, ok, err := f.pending(ctx, f.db, u.ID, kindPhone)
	if err != nil || !ok {
		return nil, err
	}
	c := &PhoneChange{Target: target, Stage: StageCurrent, Destination: u.Mobile}
	if proved {
		c.Stage, c.Destination = StageNew, target
	}
	return c, nil
}

// StartPhone begins changing u's mobile number to number ("" removes it).
// The previous number, if any, receives a code first; then the new one.
func (f *Factors) StartPhone(ctx context.Context, u user.User, number, ip string) error {
	target := ""
	if strings.TrimSpace(number) != "" {
		n, msg := phone.Normalize(number, phone.Mobile)
		if msg != "" {
			return problem.Invalid("mobile", "%s", msg)
		}
		target = n
	}
	switch {
	case target == u.Mobile && target == "":
		return problem.Invalid("mobile", "Enter your mobile number in international format, like +34 612 34 56 78.")
	case target == u.Mobile:
		return problem.Invalid("mobile", "This is already your mobile number.")
	}
	if target == "" {
		if m, err := f.Method(ctx, u.ID); err != nil {
			return err
		} else if m == MethodSMS {
			return problem.Invalid("mobile", "Your sign-in codes go to this number: switch two-factor authentication to another method first.")
		}
	}
	proved := u.Mobile == ""
	return f.db.Write(ctx, func(tx *db.Tx) error {
		if err := putPending(ctx, tx, u.ID, kindPhone, target, "", proved, f.now().Add(ChangeTTL)); err != nil {
			return err
		}
		return f.sendPhoneStage(ctx, tx, u, target, proved, ip)
	})
}

func (f *Factors) sendPhoneStage(ctx context.Context, tx *db.Tx, u user.User, target string, proved bool, ip string) error {
	if proved {
		return f.sendCode(ctx, tx, u, PurposePhoneB, MethodSMS, target, ip)
	}
	return f.sendCode(ctx, tx, u, PurposePhoneA, MethodSMS, u.Mobile, ip)
}

// ResendPhone sends the awaited code of u's number change again.
func (f *Factors) ResendPhone(ctx context.Context, u user.User, ip string) error {
	target, _, proved, ok, err := f.pending(ctx, f.db, u.ID, kindPhone)
	if err != nil {
		return err
	}
	if !ok {
		return problem.Conflict("There is no change in progress: start again.")
	}
	return f.db.Write(ctx, func(tx *db.Tx) error { return f.sendPhoneStage(ctx, tx, u, target, proved, ip) })
}

// CancelPhone drops u's number change in progress.
func (f *Factors) CancelPhone(ctx context.Context, userID int64) error {
	_, err := f.db.Exec(ctx, `DELETE FROM pending_changes WHERE user_id = $1 AND kind = $2`, userID, kindPhone)
	return err
}

// VerifyPhone checks the awaited code of u's number change; it reports
// whether the number has now changed.
func (f *Factors) VerifyPhone(ctx context.Context, u user.User, code, ip string) (bool, error) {
	target, _, proved, ok, err := f.pending(ctx, f.db, u.ID, kindPhone)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, problem.Conflict("There is no change in progress (or it took more than 15 minutes): start again.")
	}
	if !proved {
		if err := f.checkCode(ctx, u.ID, PurposePhoneA, code); err != nil {
			return false, err
		}
		if target != "" {
			err := f.db.Write(ctx, func(tx *db.Tx) error {
				if err := putPending(ctx, tx, u.ID, kindPhone, target, "", true, f.now().Add(ChangeTTL)); err != nil {
					return err
				}
				return f.sendPhoneStage(ctx, tx, u, target, true, ip)
			})
			return false, err
		}
	} else if err := f.checkCode(ctx, u.ID, PurposePhoneB, code); err != nil {
		return false, err
	}
	err = f.log.Write(ctx, func(tx *event.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pending_changes WHERE user_id = $1 AND kind = $2`, u.ID, kindPhone); err != nil {
			return err
		}
		return user.SetMobile(ctx, tx, u.ID, target)
	})
	return err == nil, err
}

// Prune deletes what two-factor authentication no longer needs: codes and
// sign-ins past their time, changes left half-way, and rate counters
// untouched for a day. It returns how many rows went.
func (f *Factors) Prune(ctx context.Context) (int64, error) {
	now := f.now()
	day := now.Add(-24 * time.Hour)
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM otp_codes WHERE expires_at < $1`, []any{now}},
		{`DELETE FROM login_challenges WHERE expires_at < $1`, []any{now}},
		{`DELETE FROM pending_changes WHERE expires_at < $1`, []any{now}},
		{`DELETE FROM rate_counters WHERE last_at < $1 AND window_start < $1`, []any{day}},
	} {
		res, err := f.db.Exec(ctx, q.sql, q.args...)
		if err != nil {
			return total, fmt.Errorf("auth: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
