package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/mail/mailtest"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/raster/rastertest"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/sms/smstest"
	"github.com/switchboardhq/switchboard/internal/testrig"
)

// peopleRig is a node whose mail goes to an in-process SMTP server and
// whose texts go to a local fake of Twilio.
type peopleRig struct {
	*testrig.Server
	smtp *mailtest.Server
	sms  *smstest.Server
}

func startPeople(t *testing.T, d *db.DB, tune ...func(*config.Config)) *peopleRig {
	t.Helper()
	m, s := mailtest.Start(t), smstest.Start(t)
	srv := testrig.Start(t, d, testrig.Options{Config: func(c *config.Config) {
		mc, err := mail.ParseURL(m.URL)
		if err != nil {
			t.Fatal(err)
		}
		c.SMTP = &mc
		c.MailFrom, _ = mail.ParseFrom("Switchboard <switchboard@example.com>")
		tc, err := sms.ParseURL(s.SMSURL())
		if err != nil {
			t.Fatal(err)
		}
		c.SMS = &tc
		for _, f := range tune {
			f(c)
		}
	}})
	return &peopleRig{Server: srv, smtp: m, sms: s}
}

// form posts a form as a browser does (same origin).
func form(c *testrig.Client, path string, v url.Values) *testrig.Response {
	return c.Do("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", c.Base)
}

// noRedirects makes c stop at redirects, to look at them.
func noRedirects(c *testrig.Client) *testrig.Client {
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// fieldError finds the message shown next to a field of a refused form.
func fieldError(body []byte, field string) string {
	re := regexp.MustCompile(`<p class="field-error" data-field="` + regexp.QuoteMeta(field) + `"[^>]*>([^<]*)</p>`)
	m := re.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return htmlUnescape(string(m[1]))
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&#43;", "+", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

type meInfo struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	PublicName  string `json:"public_name"`
	Language    string `json:"language"`
	Landline    string `json:"landline"`
	Mobile      string `json:"mobile"`
	Status      string `json:"status"`
	AvatarURL   string `json:"avatar_url"`
	TwoFactor   string `json:"two_factor"`
	Role        string `json:"role"`
	InboxIDs    []int64
	Preferences struct {
		CapitalizeFirst bool `json:"capitalize_first"`
		Notifications   map[string]struct {
			On        bool   `json:"on"`
			Sound     string `json:"sound"`
			SoundWhen string `json:"sound_when"`
			Repeat    string `json:"repeat"`
			Popup     bool   `json:"popup"`
		} `json:"notifications"`
	} `json:"preferences"`
}

func me(t *testing.T, c *testrig.Client) meInfo {
	t.Helper()
	var m meInfo
	c.Do("GET", "/api/v1/me", nil).Expect(http.StatusOK).Decode(&m)
	return m
}

// TestInvitations: an admin invites by email with a role and inboxes;
// the link in the mail (over SMTP) lets the invitee choose a name and
// password and be in. Sending again makes a new link; revoked, used and
// expired links say so plainly.
func TestInvitations(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := startPeople(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		in, _ := srv.NewWebchatInbox("Site")

		r := admin.Do("POST", "/api/v1/invitations", map[string]any{"email": "nope", "role": "boss"}).Expect(422)
		if e := r.Err(); e.Fields["email"] == "" || e.Fields["role"] == "" {
			t.Fatalf("bad invitation: %+v", e)
		}
		var inv struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		}
		admin.Do("POST", "/api/v1/invitations", map[string]any{"email": "bo@example.com", "role": "service", "inbox_ids": []int64{in.ID}}).Expect(201).Decode(&inv)
		if inv.State != "pending" {
			t.Fatalf("invitation %+v", inv)
		}
		m := srv.smtp.Wait(t, "bo@example.com", "invites you")
		link := m.Link()
		if !strings.HasPrefix(link, srv.URL+"/invitations/sbi_") || !strings.Contains(m.Text, "7") {
			t.Fatalf("mail: %+v", m)
		}
		path := strings.TrimPrefix(link, srv.URL)

		bo := noRedirects(srv.Anonymous())
		page := bo.Do("GET", path, nil).Expect(200)
		if !strings.Contains(string(page.Body), "bo@example.com") {
			t.Fatalf("invitation page lacks the email")
		}
		r = form(bo, path, url.Values{"name": {"Bo Berg"}, "password": {"short"}, "repeat_password": {"short"}}).Expect(422)
		if fieldError(r.Body, "password") == "" || !strings.Contains(string(r.Body), `value="Bo Berg"`) {
			t.Fatalf("weak password: %s", r.Body)
		}
		r = form(bo, path, url.Values{"name": {"Bo Berg"}, "password": {"long enough password"}, "repeat_password": {"long enough passwort"}}).Expect(422)
		if fieldError(r.Body, "repeat_password") != "The two passwords are not the same." {
			t.Fatalf("different repeat: %s", r.Body)
		}
		r = form(bo, path, url.Values{"name": {"Bo Berg"}, "password": {"long enough password"}, "repeat_password": {"long enough password"}, "language": {"es"}}).Expect(303)
		if loc := r.Header.Get("Location"); loc != "/preferences?welcome=1" {
			t.Fatalf("after joining: %s", loc)
		}
		who := me(t, bo)
		if who.Name != "Bo Berg" || who.Role != "service" || who.Language != "es" || who.Status != "away" {
			t.Fatalf("the invitee %+v", who)
		}
		// The link worked once.
		r = bo.Do("GET", path, nil).Expect(409)
		if !strings.Contains(string(r.Body), "Esta invitación ya se ha usado") && !strings.Contains(string(r.Body), "already been used") {
			t.Fatalf("used link: %s", r.Body)
		}

		// Send again: a new link, and the old one stops working.
		var cy struct{ ID int64 }
		admin.Do("POST", "/api/v1/invitations", map[string]any{"email": "cy@example.com", "role": "sales"}).Expect(201).Decode(&cy)
		first := strings.TrimPrefix(srv.smtp.Wait(t, "cy@example.com", "invites you").Link(), srv.URL)
		admin.Do("POST", fmt.Sprintf("/api/v1/invitations/%d/resend", cy.ID), nil).Expect(200)
		var second string
		for deadline := time.Now().Add(10 * time.Second); second == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, m := range srv.smtp.Mails() {
				if l := strings.TrimPrefix(m.Link(), srv.URL); m.To[0] == "cy@example.com" && l != first {
					second = l
				}
			}
		}
		if second == "" {
			t.Fatal("no second invitation mail")
		}
		if r := srv.Anonymous().Do("GET", first, nil).Expect(404); !strings.Contains(string(r.Body), "does not work") {
			t.Fatalf("old link: %s", r.Body)
		}
		srv.Anonymous().Do("GET", second, nil).Expect(200)
		admin.Do("DELETE", fmt.Sprintf("/api/v1/invitations/%d", cy.ID), nil).Expect(204)
		if r := srv.Anonymous().Do("GET", second, nil).Expect(409); !strings.Contains(string(r.Body), "withdrawn") {
			t.Fatalf("revoked link: %s", r.Body)
		}

		// An expired link says when it expired.
		admin.Do("POST", "/api/v1/invitations", map[string]any{"email": "di@example.com", "role": "service"}).Expect(201)
		di := strings.TrimPrefix(srv.smtp.Wait(t, "di@example.com", "invites you").Link(), srv.URL)
		if _, err := d.Exec(t.Context(), `UPDATE invitations SET expires_at = $1 WHERE email = 'di@example.com'`, db.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if r := srv.Anonymous().Do("GET", di, nil).Expect(409); !strings.Contains(string(r.Body), "expired on") {
			t.Fatalf("expired link: %s", r.Body)
		}

		var list []struct {
			Email string `json:"email"`
			State string `json:"state"`
		}
		admin.Do("GET", "/api/v1/invitations", nil).Expect(200).Decode(&list)
		states := map[string]string{}
		for _, i := range list {
			states[i.Email] = i.State
		}
		if states["bo@example.com"] != "accepted" || states["cy@example.com"] != "revoked" || states["di@example.com"] != "expired" {
			t.Errorf("states %v", states)
		}
		// The admin page lists them.
		if p := admin.Do("GET", "/admin/invitations", nil).Expect(200); !strings.Contains(string(p.Body), "di@example.com") {
			t.Error("the invitations page lacks an invitation")
		}
	})
}

// TestTeams: create, rename, add and remove agents.
func TestTeams(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		admin := srv.NewUser("admin@example.com", policy.Admin)
		ana := srv.NewUser("ana@example.com", policy.Service)
		bo := srv.NewUser("bo@example.com", policy.Sales)
		type tm struct {
			ID        int64   `json:"id"`
			Name      string  `json:"name"`
			MemberIDs []int64 `json:"member_ids"`
		}
		var sup tm
		admin.Do("POST", "/api/v1/teams", map[string]any{"name": "Support", "member_ids": []int64{ana.UserID}}).Expect(201).Decode(&sup)
		if e := admin.Do("POST", "/api/v1/teams", map[string]any{"name": "support"}).Expect(422).Err(); e.Fields["name"] == "" {
			t.Fatalf("duplicate name: %+v", e)
		}
		admin.Do("PATCH", fmt.Sprintf("/api/v1/teams/%d", sup.ID), map[string]any{"name": "Customer care", "member_ids": []int64{bo.UserID}}).Expect(200).Decode(&sup)
		if sup.Name != "Customer care" || len(sup.MemberIDs) != 1 || sup.MemberIDs[0] != bo.UserID {
			t.Fatalf("team %+v", sup)
		}
		var all []tm
		admin.Do("GET", "/api/v1/teams", nil).Expect(200).Decode(&all)
		if len(all) != 1 {
			t.Fatalf("teams %+v", all)
		}
		// The pages too: create with a member, then edit.
		r := noRedirects(admin)
		form(r, "/admin/teams", url.Values{"name": {"Sales"}, "member_ids": {fmt.Sprint(ana.UserID), fmt.Sprint(bo.UserID)}}).Expect(303)
		page := admin.Do("GET", "/admin/teams", nil).Expect(200)
		if !strings.Contains(string(page.Body), "Sales") || !strings.Contains(string(page.Body), "Ana") {
			t.Fatalf("teams page: %s", page.Body)
		}
		admin.Do("DELETE", fmt.Sprintf("/api/v1/teams/%d", sup.ID), nil).Expect(204)
		admin.Do("GET", fmt.Sprintf("/admin/teams/%d", sup.ID), nil).Expect(404)
	})
}

// TestSignInWithCodes: switching on two-factor authentication needs a
// code; a sign-in then answers otp_required with no session until the
// code (email, SMS or authenticator app) is given. An admin may require
// it of everyone.
func TestSignInWithCodes(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := startPeople(t, d)
		ana := srv.NewUser("ana@example.com", policy.Service)
		mails := 0
		code := func() string {
			var c string
			c, mails = srv.smtp.Code(t, "ana@example.com", mails)
			return c
		}

		// Email codes: switching on needs one.
		form(ana, "/preferences/two-factor", url.Values{"method": {"email"}}).Expect(200)
		r := form(ana, "/preferences/two-factor/verify", url.Values{"code": {"000000"}})
		if r.StatusCode != 422 || !strings.Contains(fieldError(r.Body, "code"), "not right") {
			t.Fatalf("wrong code: %d %s", r.StatusCode, fieldError(r.Body, "code"))
		}
		form(ana, "/preferences/two-factor/verify", url.Values{"code": {code()}}).Expect(200)
		if m := me(t, ana).TwoFactor; m != "email" {
			t.Fatalf("method %q", m)
		}

		login := func(c *testrig.Client) (bool, string) {
			var out struct {
				ID          int64  `json:"id"`
				OTPRequired bool   `json:"otp_required"`
				Method      string `json:"method"`
			}
			c.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(200).Decode(&out)
			return out.OTPRequired, out.Method
		}
		c := srv.Anonymous()
		if otp, m := login(c); !otp || m != "email" {
			t.Fatalf("login: otp=%v method=%q", otp, m)
		}
		c.Do("GET", "/api/v1/me", nil).Expect(401) // no session yet
		if e := c.Do("POST", "/api/v1/auth/otp", map[string]string{"code": "12"}).Expect(422).Err(); e.Fields["code"] == "" {
			t.Fatalf("wrong code: %+v", e)
		}
		// A new code at once is refused (per user, across nodes: the
		// counter is in the database).
		if r := c.Do("POST", "/api/v1/auth/otp/resend", nil); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("resend at once: %d", r.StatusCode)
		}
		c.Do("POST", "/api/v1/auth/otp", map[string]string{"code": code()}).Expect(200)
		if m := me(t, c); m.ID != ana.UserID || m.Status != "away" {
			t.Fatalf("signed in as %+v", m)
		}
		// Signing in again at once in a browser: no new code yet, and the
		// page says the last one still works.
		b := noRedirects(srv.Anonymous())
		r = form(b, "/login", url.Values{"email": {"ana@example.com"}, "password": {testrig.Password}}).Expect(303)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login/code?") || !strings.Contains(loc, "recent=1") {
			t.Fatalf("second sign-in went to %s", loc)
		}
		if p := b.Do("GET", r.Header.Get("Location"), nil).Expect(200); !strings.Contains(string(p.Body), "less than a minute ago") {
			t.Error("the code page does not say a code was sent moments ago")
		}

		// SMS: a verified mobile number first (a code to the new number),
		// then switching the method (a code by email, then one by SMS).
		texts := 0
		text := func(to string) string {
			var c string
			c, texts = srv.sms.Code(t, to, texts)
			return c
		}
		form(ana, "/preferences/phone", url.Values{"mobile": {"+34 612 34 56 78"}}).Expect(200)
		noRedirects(ana)
		form(ana, "/preferences/phone/verify", url.Values{"code": {text("+34612345678")}}).Expect(303)
		ana.HTTP.CheckRedirect = nil
		if m := me(t, ana).Mobile; m != "+34612345678" {
			t.Fatalf("mobile %q", m)
		}
		form(ana, "/preferences/two-factor", url.Values{"method": {"sms"}}).Expect(200)
		form(ana, "/preferences/two-factor/verify", url.Values{"code": {code()}}).Expect(200)
		form(ana, "/preferences/two-factor/verify", url.Values{"code": {text("+34612345678")}}).Expect(200)
		if m := me(t, ana).TwoFactor; m != "sms" {
			t.Fatalf("method %q", m)
		}
		c = srv.Anonymous()
		if otp, m := login(c); !otp || m != "sms" {
			t.Fatalf("login by SMS: otp=%v method=%q", otp, m)
		}
		c.Do("POST", "/api/v1/auth/otp", map[string]string{"code": text("+34612345678")}).Expect(200)

		// An authenticator app: the page shows the QR code and the key.
		form(ana, "/preferences/two-factor", url.Values{"method": {"totp"}}).Expect(200)
		page := form(ana, "/preferences/two-factor/verify", url.Values{"code": {text("+34612345678")}}).Expect(200)
		key := regexp.MustCompile(`class="secret totp-secret">([A-Z2-7]+)<`).FindSubmatch(page.Body)
		if key == nil || !strings.Contains(string(page.Body), `src="data:image/png;base64,`) {
			t.Fatalf("app setup page: %s", page.Body)
		}
		app, _ := totp.GenerateCode(string(key[1]), time.Now())
		page = form(ana, "/preferences/two-factor/verify", url.Values{"code": {app}}).Expect(200)
		codes := regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`).FindAllSubmatch(page.Body, -1)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes shown", len(codes))
		}
		c = srv.Anonymous()
		if otp, m := login(c); !otp || m != "totp" {
			t.Fatalf("login by app: otp=%v method=%q", otp, m)
		}
		c.Do("POST", "/api/v1/auth/otp", map[string]string{"code": string(codes[0][1])}).Expect(200)

		// Required of everyone: a user without a method gets an email code.
		admin := srv.NewUser("admin@example.com", policy.Admin)
		admin.Do("PUT", "/api/v1/settings/security", map[string]bool{"require_two_factor": true}).Expect(200)
		srv.NewUser("bo@example.com", policy.Sales) // made before the rule
		bo := srv.Anonymous()
		var out struct {
			OTPRequired bool   `json:"otp_required"`
			Method      string `json:"method"`
		}
		bo.Do("POST", "/api/v1/auth/login", map[string]string{"email": "bo@example.com", "password": testrig.Password}).Expect(200).Decode(&out)
		if !out.OTPRequired || out.Method != "email" {
			t.Fatalf("required: %+v", out)
		}
		bc, _ := srv.smtp.Code(t, "bo@example.com", 0)
		bo.Do("POST", "/api/v1/auth/otp", map[string]string{"code": bc}).Expect(200)
	})
}

// TestPasswordAndSessions: the Security tab lists sessions with device
// and address; a password change ends every other session.
func TestPasswordAndSessions(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		one := srv.NewUser("ana@example.com", policy.Service)
		two := srv.Anonymous()
		two.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}, "User-Agent",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0").Expect(200)
		var ses []struct {
			ID      int64  `json:"id"`
			Device  string `json:"device"`
			IP      string `json:"ip"`
			Current bool   `json:"current"`
		}
		one.Do("GET", "/api/v1/me/sessions", nil).Expect(200).Decode(&ses)
		if len(ses) != 2 {
			t.Fatalf("sessions %+v", ses)
		}
		if ses[0].Current {
			ses[0], ses[1] = ses[1], ses[0]
		}
		if ses[0].Device != "Firefox on Windows" || ses[0].IP != "127.0.0.1" || ses[0].Current || !ses[1].Current {
			t.Fatalf("sessions %+v", ses)
		}
		page := one.Do("GET", "/preferences/security", nil).Expect(200)
		if !strings.Contains(string(page.Body), "Firefox on Windows") {
			t.Fatal("the security tab lacks the other browser")
		}
		one.Do("DELETE", fmt.Sprintf("/api/v1/me/sessions/%d", ses[0].ID), nil).Expect(204)
		two.Do("GET", "/api/v1/me", nil).Expect(401)

		two.Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": testrig.Password}).Expect(200)
		if e := one.Do("PUT", "/api/v1/me/password", map[string]string{"current_password": "wrong", "new_password": "another long password"}).Expect(422).Err(); e.Fields["current_password"] == "" {
			t.Fatalf("wrong current: %+v", e)
		}
		if e := one.Do("PUT", "/api/v1/me/password", map[string]string{"current_password": testrig.Password, "new_password": "short"}).Expect(422).Err(); e.Fields["new_password"] == "" {
			t.Fatalf("weak: %+v", e)
		}
		one.Do("PUT", "/api/v1/me/password", map[string]string{"current_password": testrig.Password, "new_password": "another long password"}).Expect(200)
		one.Do("GET", "/api/v1/me", nil).Expect(200) // this session stays
		two.Do("GET", "/api/v1/me", nil).Expect(401) // the other one ended
		srv.Anonymous().Do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "another long password"}).Expect(200)
	})
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), 90, uint8(y), 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// multipartFile is a form with a file in field.
func multipartFile(t *testing.T, field, name, ctype string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, field, name)}
	h["Content-Type"] = []string{ctype}
	fw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return &b, mw.FormDataContentType()
}

// TestProfile: name, public name, language, landline; the email shown
// read-only; the avatar uploaded (re-encoded to 640×640, shown in the
// header), refused with a clear message when too large, not an image or
// lying about its type, and deleted.
func TestProfile(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		srv := testrig.Start(t, d)
		ana := srv.NewUser("ana@example.com", policy.Service)
		r := ana.Do("PATCH", "/api/v1/me", map[string]any{"name": "", "language": "xx", "landline": "123"}).Expect(422)
		if e := r.Err(); e.Fields["name"] == "" || e.Fields["language"] == "" || e.Fields["landline"] == "" {
			t.Fatalf("bad profile: %+v", e)
		}
		var m meInfo
		ana.Do("PATCH", "/api/v1/me", map[string]any{"name": "Ana Díaz", "public_name": "Ana", "landline": "+34 912 34 56 78"}).Expect(200).Decode(&m)
		if m.Name != "Ana Díaz" || m.PublicName != "Ana" || m.Landline != "+34912345678" {
			t.Fatalf("profile %+v", m)
		}
		if e := ana.Do("PATCH", "/api/v1/me", map[string]any{"email": "x@example.com"}).Expect(400).Err(); !strings.Contains(e.Message, "email") {
			t.Fatalf("the email changed? %+v", e)
		}
		prefs := ana.Do("GET", "/preferences", nil).Expect(200)
		if !strings.Contains(string(prefs.Body), `<span class="profile-email">ana@example.com</span>`) || strings.Contains(string(prefs.Body), `name="email"`) {
			t.Fatal("the email is not shown read-only")
		}

		// The avatar.
		body, ctype := multipartFile(t, "avatar", "me.png", "image/png", pngOf(t, 900, 700))
		noRedirects(ana)
		ana.Do("POST", "/preferences/avatar", body, "Content-Type", ctype, "Origin", srv.URL).Expect(303)
		ana.HTTP.CheckRedirect = nil
		m = me(t, ana)
		if !strings.HasPrefix(m.AvatarURL, fmt.Sprintf("/avatars/%d?v=", ana.UserID)) {
			t.Fatalf("avatar url %q", m.AvatarURL)
		}
		img := ana.Do("GET", m.AvatarURL, nil).Expect(200)
		if ct := img.Header.Get("Content-Type"); ct != "image/jpeg" || !strings.Contains(img.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("avatar served as %s, %s", ct, img.Header.Get("Cache-Control"))
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img.Body)); err != nil || cfg.Width != 640 || cfg.Height != 640 {
			t.Errorf("avatar %+v %v", cfg, err)
		}
		header := ana.Do("GET", "/preferences", nil).Expect(200)
		if !strings.Contains(string(header.Body), `<span id="me-avatar"><img class="avatar" src="`+strings.ReplaceAll(m.AvatarURL, "&", "&amp;")) {
			t.Error("the header does not show the avatar")
		}
		// Other agents see it too, beside her replies in conversations.
		bo := srv.NewUser("bo@example.com", policy.Service)
		bo.Do("GET", m.AvatarURL, nil).Expect(200)
		in, _ := srv.NewWebchatInbox("Site", ana.UserID, bo.UserID)
		srv.NewVisitor(in.Token, nil).Say("hello")
		var list page[conv]
		bo.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&list)
		ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", list.Items[0].ID), map[string]string{"text": "Hi!"}).Expect(201)
		convPage := bo.Do("GET", fmt.Sprintf("/inbox/conversations/%d", list.Items[0].ID), nil).Expect(200)
		if !strings.Contains(string(convPage.Body), `<img class="avatar small" src="`+strings.ReplaceAll(m.AvatarURL, "&", "&amp;")) {
			t.Error("the conversation does not show the agent's avatar beside her reply")
		}
		if r := srv.Anonymous().Do("GET", m.AvatarURL, nil); r.Request.URL.Path != "/login" {
			t.Errorf("an avatar is served to nobody: %d", r.StatusCode)
		}

		refused := []struct {
			name, file, ctype string
			data              []byte
			status            int
			want              string
		}{
			{"too large", "big.png", "image/png", bytes.Repeat([]byte("x"), 6<<20), 413, "larger than 5 MB"},
			{"not an image", "notes.png", "image/png", []byte("just some text, not a picture"), 422, "not an image"},
			{"lies about its type", "photo.jpg", "image/jpeg", pngOf(t, 50, 50), 422, "says it is a JPEG image but it is a PNG image"},
			// 381 KB that would unpack into 392 MB.
			{"decompression bomb", "bomb.png", "image/png", rastertest.Bomb(7000, 7000), 413, "7000×7000 pixels in 16-bit colour, too large to open"},
		}
		for _, tc := range refused {
			body, ctype := multipartFile(t, "avatar", tc.file, tc.ctype, tc.data)
			r := ana.Do("POST", "/preferences/avatar", body, "Content-Type", ctype, "Origin", srv.URL)
			if r.StatusCode != tc.status || !strings.Contains(fieldError(r.Body, "avatar"), tc.want) {
				t.Errorf("%s: %d %q", tc.name, r.StatusCode, fieldError(r.Body, "avatar"))
			}
		}
		// The API too.
		body, ctype = multipartFile(t, "file", "x.png", "image/png", []byte("<svg/>"))
		if e := ana.Do("PUT", "/api/v1/me/avatar", body, "Content-Type", ctype).Expect(422).Err(); e.Fields["avatar"] == "" {
			t.Errorf("API refusal %+v", e)
		}
		body, ctype = multipartFile(t, "file", "bomb.png", "image/png", rastertest.Bomb(7000, 7000))
		if e := ana.Do("PUT", "/api/v1/me/avatar", body, "Content-Type", ctype).Expect(413).Err(); !strings.Contains(e.Fields["avatar"], "save it in 8-bit colour") {
			t.Errorf("API refusal of a bomb %+v", e)
		}
		ana.Do("DELETE", "/api/v1/me/avatar", nil).Expect(200)
		if me(t, ana).AvatarURL != "" {
			t.Error("avatar not deleted")
		}
		ana.Do("GET", m.AvatarURL, nil).Expect(404)
	})
}

// TestLanguage: switching the language applies at once: the next page
// is in Spanish, its field messages too; other tabs hear of it; API
// errors follow the language for the browser, not for API tokens.
func TestLanguage(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	tok := ana.WithToken()
	ws := dialWS(t, srv, tok, -1)
	read(t, ws) // hello
	noRedirects(ana)
	form(ana, "/preferences", url.Values{"name": {"Ana"}, "language": {"es"}}).Expect(303)
	ana.HTTP.CheckRedirect = nil
	if f := readUntil(t, ws, "profile.changed"); !strings.Contains(string(f.Data), `"language":"es"`) {
		t.Errorf("event %s", f.Data)
	}
	page := ana.Do("GET", "/preferences", nil).Expect(200)
	for _, want := range []string{`<html lang="es">`, "Tus preferencias", "Guardar cambios", "Cerrar sesión"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("Spanish page lacks %q", want)
		}
	}
	r := form(ana, "/preferences", url.Values{"name": {""}, "language": {"es"}}).Expect(422)
	if got := fieldError(r.Body, "name"); got != "Escribe un nombre." {
		t.Errorf("field message %q", got)
	}
	if e := ana.Do("PATCH", "/api/v1/me", map[string]any{"name": ""}).Expect(422).Err(); e.Fields["name"] != "Escribe un nombre." {
		t.Errorf("browser API error %+v", e)
	}
	if e := tok.Do("PATCH", "/api/v1/me", map[string]any{"name": ""}).Expect(422).Err(); e.Fields["name"] != "Enter a name." {
		t.Errorf("token API error %+v", e)
	}
	// Scripts get their words from the page.
	if !strings.Contains(string(page.Body), `"Switchboard cannot be reached. Check the connection and try again.":"No se puede contactar con Switchboard.`) {
		t.Error("the scripts' strings are not translated on the page")
	}
	// Nobody signed in: the browser's language.
	login := srv.Anonymous().Do("GET", "/login", nil, "Accept-Language", "es-ES,es;q=0.9,en;q=0.5").Expect(200)
	if !strings.Contains(string(login.Body), "Iniciar sesión") {
		t.Error("the login page ignores Accept-Language")
	}
	var back meInfo
	ana.Do("PATCH", "/api/v1/me", map[string]any{"language": "en"}).Expect(200).Decode(&back)
	if back.Language != "en" || !strings.Contains(string(ana.Do("GET", "/inbox", nil).Body), `<html lang="en">`) {
		t.Error("back to English")
	}
	_ = json.Valid
}

// TestPublicName: customers see an agent's public name beside the
// agent's replies, and no name when the agent chose none.
func TestPublicName(t *testing.T) {
	t.Parallel()
	srv := testrig.Start(t, dbtest.SQLite(t))
	ana := srv.NewUser("ana@example.com", policy.Service)
	bo := srv.NewUser("bo@example.com", policy.Service)
	in, _ := srv.NewWebchatInbox("Site", ana.UserID, bo.UserID)
	ana.Do("PATCH", "/api/v1/me", map[string]any{"public_name": "Ana from Support"}).Expect(200)
	v := srv.NewVisitor(in.Token, nil)
	v.Say("hello")
	var list page[conv]
	ana.Do("GET", "/api/v1/conversations", nil).Expect(200).Decode(&list)
	id := list.Items[0].ID
	ana.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]string{"text": "Hi, I am Ana"}).Expect(201)
	bo.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), map[string]string{"text": "And I am Bo"}).Expect(201)
	type history struct {
		Items []struct {
			Text  string `json:"text"`
			From  string `json:"from"`
			Agent string `json:"agent"`
		} `json:"items"`
	}
	// Replies reach the visitor once the outbox has sent them.
	var hist history
	for deadline := time.Now().Add(10 * time.Second); len(hist.Items) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replies never reached the visitor: %+v", hist.Items)
		}
		hist = history{}
		v.Do("GET", "/public/v1/messages", nil).Expect(200).Decode(&hist)
	}
	agents := map[string]string{}
	for _, m := range hist.Items {
		agents[m.Text] = m.Agent
	}
	if agents["Hi, I am Ana"] != "Ana from Support" || agents["And I am Bo"] != "" || agents["hello"] != "" {
		t.Errorf("names the customer sees: %v", agents)
	}
}
