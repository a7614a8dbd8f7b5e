package auth

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// inbox captures what the mail and SMS outboxes deliver.
type inbox struct {
	mu    sync.Mutex
	mails []mail.Message
	texts []sms.Message
}

func (b *inbox) Send(_ context.Context, m mail.Message) error {
	b.mu.Lock()
	b.mails = append(b.mails, m)
	b.mu.Unlock()
	return nil
}

type texts struct{ *inbox }

func (t texts) Send(_ context.Context, m sms.Message) error {
	t.mu.Lock()
	t.texts = append(t.texts, m)
	t.mu.Unlock()
	return nil
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// code waits for the n-th code (counting mails and texts to dest).
func (b *inbox) code(t *testing.T, dest string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		var got []string
		for _, m := range b.mails {
			if m.To == dest {
				got = append(got, sixDigits.FindString(m.Text))
			}
		}
		for _, m := range b.texts {
			if m.To == dest {
				got = append(got, sixDigits.FindString(m.Text))
			}
		}
		b.mu.Unlock()
		if len(got) >= n {
			return got[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no code #%d to %s", n, dest)
	return ""
}

type rig struct {
	f     *Factors
	users *user.Store
	box   *inbox
	clock *atomic.Int64 // offset from now, in ns
}

// newRig runs a node's two-factor service on d; nodes of one test share
// what is delivered (whichever node's job runner sends it).
func newRig(t *testing.T, d *db.DB, shared ...*inbox) *rig {
	t.Helper()
	log := event.NewLog(d, event.NewLocal(), slog.New(slog.DiscardHandler))
	sealer, _ := secret.NewBox(make([]byte, 32))
	q := job.NewQueue()
	b := &inbox{}
	if len(shared) > 0 {
		b = shared[0]
	}
	mo := mail.NewOutbox(q, sealer, b)
	so := sms.NewOutbox(q, sealer, texts{b})
	r := job.NewRunner(d, q, job.Config{Poll: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
	r.Handle(mail.Job, mo)
	r.Handle(sms.Job, so)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	cat, err := i18n.Load(fstest.MapFS{"es/x.json": {Data: []byte(`{"Your Switchboard code is %s.": "Tu código de Switchboard es %s."}`)}})
	if err != nil {
		t.Fatal(err)
	}
	users := user.NewStore(d, log, func(string) (string, error) { return dummyHash, nil })
	f := NewFactors(d, log, users, sealer, mo, so, cat)
	clock := &atomic.Int64{}
	f.now = func() time.Time { return db.Time(time.Now().Add(time.Duration(clock.Load()))) }
	return &rig{f: f, users: users, box: b, clock: clock}
}

func (r *rig) newUser(t *testing.T, email string) user.User {
	t.Helper()
	u, err := r.users.Create(context.Background(), user.NewUser{Email: email, Name: "Ana", Role: policy.Service, Password: "long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (r *rig) advance(d time.Duration) { r.clock.Add(int64(d)) }

func field(err error) string {
	p, ok := problem.As(err)
	if !ok {
		if err == nil {
			return "<nil>"
		}
		return err.Error()
	}
	for _, v := range p.Fields {
		return v
	}
	return p.Message
}

// TestEmailCodes: switching on email codes needs a code; a sign-in then
// waits for one. Codes are single use, expire after 5 minutes, and the
// fifth wrong try kills them. Sends are limited per user.
func TestEmailCodes(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		u := r.newUser(t, "ana@example.com")
		if m, _ := r.f.LoginMethod(ctx, u); m != "" {
			t.Fatalf("login method %q before any setting", m)
		}
		if err := r.f.StartChange(ctx, u, MethodEmail, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		c, _ := r.f.PendingChange(ctx, u)
		if c == nil || c.Stage != StageNew || c.Destination != "ana@example.com" {
			t.Fatalf("pending %+v", c)
		}
		code := r.box.code(t, "ana@example.com", 1)
		if out, err := r.f.VerifyChange(ctx, u, code, "10.0.0.1"); err != nil || !out.Done || out.Method != MethodEmail {
			t.Fatalf("verify: %+v %v", out, err)
		}
		if m, _ := r.f.LoginMethod(ctx, u); m != MethodEmail {
			t.Fatalf("method %q", m)
		}

		r.advance(time.Minute) // past the 30 s between sends
		ch, err := r.f.StartLogin(ctx, u, MethodEmail, "10.0.0.1")
		if err != nil || ch.Method != MethodEmail || ch.Wait != 0 {
			t.Fatalf("start login: %+v %v", ch, err)
		}
		code = r.box.code(t, "ana@example.com", 2)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 4; i >= 1; i-- {
			_, err := r.f.FinishLogin(ctx, ch.Token, wrong)
			if !strings.Contains(field(err), "try "+string(rune('0'+i))+" more") {
				t.Fatalf("wrong try: %v", field(err))
			}
		}
		if _, err := r.f.FinishLogin(ctx, ch.Token, wrong); !strings.Contains(field(err), "no longer works") {
			t.Fatalf("fifth wrong try: %v", field(err))
		}
		if _, err := r.f.FinishLogin(ctx, ch.Token, code); !strings.Contains(field(err), "Too many wrong codes") {
			t.Fatalf("the right code after five wrong ones: %v", field(err))
		}

		// A new code is limited to one per 30 seconds.
		if err := r.f.ResendLogin(ctx, ch.Token, "10.0.0.1"); err == nil || !isKind(err, problem.KindRateLimited) {
			t.Fatalf("resend at once: %v", err)
		}
		r.advance(31 * time.Second)
		if err := r.f.ResendLogin(ctx, ch.Token, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		code = r.box.code(t, "ana@example.com", 3)
		uid, err := r.f.FinishLogin(ctx, ch.Token, code[:3]+" "+code[3:])
		if err != nil || uid != u.ID {
			t.Fatalf("finish: %d %v", uid, err)
		}
		// The challenge and the code are used up.
		if _, err := r.f.FinishLogin(ctx, ch.Token, code); !isKind(err, problem.KindUnauthorized) {
			t.Fatalf("second finish: %v", err)
		}

		// Codes expire after 5 minutes.
		r.advance(time.Minute)
		ch, _ = r.f.StartLogin(ctx, u, MethodEmail, "10.0.0.1")
		code = r.box.code(t, "ana@example.com", 4)
		r.advance(CodeTTL + time.Second)
		if _, err := r.f.FinishLogin(ctx, ch.Token, code); !strings.Contains(field(err), "expired") {
			t.Fatalf("expired code: %v", field(err))
		}

		// Ten sends an hour per user, whatever the address.
		for i := range 6 {
			r.advance(31 * time.Second)
			if err := r.f.ResendLogin(ctx, ch.Token, "10.0.0.2"); err != nil {
				t.Fatalf("send %d: %v", 5+i, err)
			}
		}
		r.advance(31 * time.Second)
		if err := r.f.ResendLogin(ctx, ch.Token, "10.0.0.3"); !isKind(err, problem.KindRateLimited) {
			t.Fatalf("eleventh send in an hour: %v", err)
		}

		// A day later, what is left goes.
		r.advance(25 * time.Hour)
		if n, err := r.f.Prune(ctx); err != nil || n == 0 {
			t.Fatalf("prune: %d %v", n, err)
		}
		var left int
		d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM otp_codes) + (SELECT COUNT(*) FROM login_challenges) + (SELECT COUNT(*) FROM rate_counters)`).Scan(&left)
		if left != 0 {
			t.Errorf("%d rows left after pruning", left)
		}
	})
}

func isKind(err error, k problem.Kind) bool {
	p, ok := problem.As(err)
	return ok && p.Kind == k
}

// TestLimitsAcrossNodes: two nodes share the database, so one user's
// codes are limited on both together, and a code is used once even when
// two nodes check it at the same time.
func TestLimitsAcrossNodes(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a := newRig(t, d)
		b := newRig(t, d, a.box)
		u := a.newUser(t, "bo@example.com")
		if err := a.f.StartChange(ctx, u, MethodEmail, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := b.f.ResendChange(ctx, u, "10.0.0.9"); !isKind(err, problem.KindRateLimited) {
			t.Fatalf("the other node sent again at once: %v", err)
		}
		// Per address: 20 an hour, whoever asks.
		for i := range 20 {
			v := a.newUser(t, "user"+string(rune('a'+i))+"@example.com")
			if err := b.f.StartChange(ctx, v, MethodEmail, "10.9.9.9"); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		v := a.newUser(t, "last@example.com")
		if err := a.f.StartChange(ctx, v, MethodEmail, "10.9.9.9"); !isKind(err, problem.KindRateLimited) {
			t.Fatalf("21st send from one address: %v", err)
		}

		code := a.box.code(t, "bo@example.com", 1)
		var wg sync.WaitGroup
		var ok atomic.Int32
		for _, r := range []*rig{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if out, err := r.f.VerifyChange(ctx, u, code, "10.0.0.1"); err == nil && out.Done {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d nodes accepted one code", ok.Load())
		}
	})
}

// TestAuthenticatorApp: moving from email codes to an app needs an email
// code, then an app code; sign-ins take app codes once each, or a
// recovery code once.
func TestAuthenticatorApp(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		u := r.newUser(t, "cy@example.com")
		r.f.StartChange(ctx, u, MethodEmail, "ip")
		r.f.VerifyChange(ctx, u, r.box.code(t, "cy@example.com", 1), "ip")

		r.advance(time.Minute)
		if err := r.f.StartChange(ctx, u, MethodTOTP, "ip"); err != nil {
			t.Fatal(err)
		}
		c, _ := r.f.PendingChange(ctx, u)
		if c.Stage != StageCurrent || c.Current != MethodEmail || c.Target != MethodTOTP {
			t.Fatalf("pending %+v", c)
		}
		if out, err := r.f.VerifyChange(ctx, u, r.box.code(t, "cy@example.com", 2), "ip"); err != nil || out.Done {
			t.Fatalf("current proved: %+v %v", out, err)
		}
		c, _ = r.f.PendingChange(ctx, u)
		if c.Stage != StageNew || c.TOTPSecret == "" || !strings.HasPrefix(c.QR, "data:image/png;base64,") || !strings.HasPrefix(c.TOTPURL, "otpauth://totp/") {
			t.Fatalf("app setup %+v", c)
		}
		if _, err := r.f.VerifyChange(ctx, u, "123", "ip"); err == nil {
			t.Fatal("a wrong app code switched the method")
		}
		now := r.f.now()
		appCode, _ := totp.GenerateCode(c.TOTPSecret, now)
		out, err := r.f.VerifyChange(ctx, u, appCode, "ip")
		if err != nil || !out.Done || out.Method != MethodTOTP || len(out.RecoveryCodes) != RecoveryCodes {
			t.Fatalf("app verified: %+v %v", out, err)
		}
		// The code that set the app up does not sign in again.
		ch, _ := r.f.StartLogin(ctx, u, MethodTOTP, "ip")
		if _, err := r.f.FinishLogin(ctx, ch.Token, appCode); !strings.Contains(field(err), "already used") {
			t.Fatalf("replayed app code: %v", field(err))
		}
		r.advance(totpPeriod * time.Second)
		next, _ := totp.GenerateCode(c.TOTPSecret, r.f.now())
		if uid, err := r.f.FinishLogin(ctx, ch.Token, next); err != nil || uid != u.ID {
			t.Fatalf("app sign-in: %v", err)
		}
		ch, _ = r.f.StartLogin(ctx, u, MethodTOTP, "ip")
		rc := out.RecoveryCodes[0]
		if _, err := r.f.FinishLogin(ctx, ch.Token, strings.ToUpper(rc)); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		ch, _ = r.f.StartLogin(ctx, u, MethodTOTP, "ip")
		if _, err := r.f.FinishLogin(ctx, ch.Token, rc); err == nil {
			t.Fatal("a recovery code worked twice")
		}
		if n, _ := r.f.RecoveryCodesLeft(ctx, u.ID); n != RecoveryCodes-1 {
			t.Errorf("%d recovery codes left", n)
		}

		// Switching off needs an app code too.
		if err := r.f.StartChange(ctx, u, "", "ip"); err != nil {
			t.Fatal(err)
		}
		r.advance(totpPeriod * time.Second)
		off, _ := totp.GenerateCode(c.TOTPSecret, r.f.now())
		if out, err := r.f.VerifyChange(ctx, u, off, "ip"); err != nil || !out.Done || out.Method != "" {
			t.Fatalf("off: %+v %v", out, err)
		}
		if m, _ := r.f.Method(ctx, u.ID); m != "" {
			t.Errorf("method %q after switching off", m)
		}
		if n, _ := r.f.RecoveryCodesLeft(ctx, u.ID); n != 0 {
			t.Errorf("%d recovery codes kept", n)
		}

		// An admin may require codes of everyone: email for those without.
		r.f.SetRequired(ctx, true)
		if m, _ := r.f.LoginMethod(ctx, u); m != MethodEmail {
			t.Errorf("required: method %q", m)
		}
	})
}

// TestPhoneChange: a new mobile number needs a code to the previous
// number, then one to the new; SMS codes go to the number.
func TestPhoneChange(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := newRig(t, d)
		u := r.newUser(t, "di@example.com")
		if err := r.f.StartPhone(ctx, u, "612 34 56 78", "ip"); !strings.Contains(field(err), "international format") {
			t.Fatalf("national number: %v", field(err))
		}
		if err := r.f.StartPhone(ctx, u, "+34 612 34 56 78", "ip"); err != nil {
			t.Fatal(err)
		}
		if ok, err := r.f.VerifyPhone(ctx, u, r.box.code(t, "+34612345678", 1), "ip"); !ok || err != nil {
			t.Fatalf("first number: %v %v", ok, err)
		}
		u, _ = r.users.Get(ctx, u.ID)
		if u.Mobile != "+34612345678" {
			t.Fatalf("mobile %q", u.Mobile)
		}

		r.advance(time.Minute)
		if err := r.f.StartPhone(ctx, u, "+34 622 22 22 22", "ip"); err != nil {
			t.Fatal(err)
		}
		p, _ := r.f.PendingPhone(ctx, u)
		if p.Stage != StageCurrent || p.Destination != "+34612345678" {
			t.Fatalf("pending %+v", p)
		}
		if _, err := r.f.VerifyPhone(ctx, u, "999999", "ip"); !strings.Contains(field(err), "not right") {
			t.Fatalf("wrong code: %v", field(err))
		}
		if ok, err := r.f.VerifyPhone(ctx, u, r.box.code(t, "+34612345678", 2), "ip"); ok || err != nil {
			t.Fatalf("old number proved: %v %v", ok, err)
		}
		p, _ = r.f.PendingPhone(ctx, u)
		if p.Stage != StageNew || p.Destination != "+34622222222" {
			t.Fatalf("pending %+v", p)
		}
		if ok, err := r.f.VerifyPhone(ctx, u, r.box.code(t, "+34622222222", 1), "ip"); !ok || err != nil {
			t.Fatalf("new number proved: %v %v", ok, err)
		}
		u, _ = r.users.Get(ctx, u.ID)
		if u.Mobile != "+34622222222" {
			t.Fatalf("mobile %q", u.Mobile)
		}

		// With SMS codes on, the number cannot simply go.
		r.advance(time.Minute)
		r.f.StartChange(ctx, u, MethodSMS, "ip")
		r.f.VerifyChange(ctx, u, r.box.code(t, "+34622222222", 2), "ip")
		if err := r.f.StartPhone(ctx, u, "", "ip"); !strings.Contains(field(err), "another method first") {
			t.Fatalf("removing the SMS number: %v", field(err))
		}
	})
}

func TestLimitWait(t *testing.T) {
	l := limit{window: time.Hour, max: 2, gap: 30 * time.Second}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		now   time.Time
		hits  int
		last  time.Time
		wantS int
	}{
		{t0, 0, time.Time{}, 0},
		{t0.Add(10 * time.Second), 1, t0, 20},
		{t0.Add(40 * time.Second), 1, t0, 0},
		{t0.Add(40 * time.Second), 2, t0.Add(35 * time.Second), 3560},
		{t0.Add(time.Hour), 2, t0.Add(35 * time.Second), 0},
	}
	for _, tc := range cases {
		if got := l.wait(tc.now, t0, tc.hits, tc.last); got != time.Duration(tc.wantS)*time.Second {
			t.Errorf("wait at %v with %d hits = %v, want %ds", tc.now.Sub(t0), tc.hits, got, tc.wantS)
		}
	}
}

func TestDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                           "Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                "Firefox on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1":       "Safari on iOS",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0": "Edge on macOS",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
	} {
		if got := Device(ua); got != want {
			t.Errorf("Device(%.40q) = %q, want %q", ua, got, want)
		}
	}
}
