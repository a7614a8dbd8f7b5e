package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/graphfake"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/simulator"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web"
)

// demoSecrets are the demo's identities, kept in the data directory so
// that a restarted demo finds the same number, inbox and administrator.
type demoSecrets struct {
	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password"`
	PhoneNumberID string `json:"phone_number_id"`
	WABAID        string `json:"waba_id"`
	Phone         string `json:"phone"`
	AccessToken   string `json:"access_token"`
	AppSecret     string `json:"app_secret"`
	VerifyToken   string `json:"verify_token"`
}

const demoFile = "demo.json"

// demoAddr is where the demo listens by default: a port other than the
// server's (:8080), so that it runs beside one.
const demoAddr = "127.0.0.1:8090"

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomDigits(n int) string {
	out := make([]byte, n)
	for i := range out {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		out[i] = byte('0' + d.Int64())
	}
	out[0] = '1'
	return string(out)
}

// loadDemoSecrets reads demo.json, creating it on the first run.
func loadDemoSecrets(dir string) (demoSecrets, bool, error) {
	path := filepath.Join(dir, demoFile)
	var s demoSecrets
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &s)
		return s, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return s, false, err
	}
	s = demoSecrets{
		AdminEmail: "admin@demo.test", AdminPassword: randomString(12),
		PhoneNumberID: randomDigits(15), WABAID: randomDigits(15), Phone: "1555" + randomDigits(7),
		AccessToken: "EAAG" + randomString(30), AppSecret: randomString(24), VerifyToken: randomString(12),
	}
	b, _ = json.MarshalIndent(s, "", "  ")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return s, false, err
	}
	return s, true, os.WriteFile(path, b, 0o600)
}

// demoTemplates are the approved templates of the demo number.
var demoTemplates = []graphfake.Template{
	{Name: "order_update", Category: "UTILITY", Components: []graphfake.TemplateComponent{
		{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}", Example: json.RawMessage(`{"header_text":["#1024"]}`)},
		{Type: "BODY", Text: "Hi {{1}}, your order {{2}} has shipped and arrives on {{3}}.", Example: json.RawMessage(`{"body_text":[["Ann","#1024","Monday"]]}`)},
		{Type: "FOOTER", Text: "Lucky Shrub"},
		{Type: "BUTTONS", Buttons: []graphfake.TemplateButton{{Type: "QUICK_REPLY", Text: "Thanks!"}, {Type: "QUICK_REPLY", Text: "Change delivery"}}},
	}},
	{Name: "we_miss_you", Category: "MARKETING", Components: []graphfake.TemplateComponent{
		{Type: "BODY", Text: "Hello {{1}}! Your plants miss you: 10% off this week with code {{2}}.", Example: json.RawMessage(`{"body_text":[["Ann","GREEN10"]]}`)},
		{Type: "BUTTONS", Buttons: []graphfake.TemplateButton{{Type: "URL", Text: "Shop now", URL: "https://example.com/shop"}, {Type: "QUICK_REPLY", Text: "Stop promotions"}}},
	}},
	{Name: "hello_world", Language: "en_US", Category: "UTILITY", Components: []graphfake.TemplateComponent{
		{Type: "HEADER", Format: "TEXT", Text: "Hello World"},
		{Type: "BODY", Text: "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API."},
		{Type: "FOOTER", Text: "WhatsApp Business Platform sample message"},
	}},
}

// demoPrompts are the demo number's ice breakers.
var demoPrompts = []string{"Where is my order?", "Do you deliver on weekends?", "Talk to a person"}

// demo runs a whole Switchboard with the WhatsApp Graph API fake in the
// same process: a demo number, an administrator, a WhatsApp inbox, and
// the customer-phone simulator, on one listener.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("switchboard demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", demoAddr, "listen address")
	dataDir := fs.String("data-dir", "./data-demo", "data directory (SQLite database, files, the demo's secrets in demo.json)")
	fresh := fs.Bool("fresh", false, "start over: delete the demo data directory first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *fresh {
		if _, err := os.Stat(filepath.Join(*dataDir, demoFile)); err == nil {
			if err := os.RemoveAll(*dataDir); err != nil {
				return err
			}
		} else if _, err := os.Stat(*dataDir); err == nil {
			return fmt.Errorf("%s has no %s: not a demo directory, not deleting it", *dataDir, demoFile)
		}
	}
	// The demo always runs on SQLite in its own directory, whatever the
	// environment says about a production database or NATS.
	env := map[string]string{
		"SWITCHBOARD_ADDR":       *addr,
		"SWITCHBOARD_DATA_DIR":   *dataDir,
		"SWITCHBOARD_LOG_FORMAT": getenv("SWITCHBOARD_LOG_FORMAT"),
		"SWITCHBOARD_BASE_URL":   getenv("SWITCHBOARD_BASE_URL"),
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, stderr)
	if err != nil {
		return err
	}
	base := cfg.BaseURL.String()
	// Switchboard reaches the fake over HTTP like it reaches Meta.
	env["SWITCHBOARD_WHATSAPP_GRAPH_URL"] = base + "/graphfake"
	if cfg, err = config.Load(nil, func(k string) string { return env[k] }, stderr); err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, stderr)
	sec, _, err := loadDemoSecrets(*dataDir)
	if err != nil {
		return fmt.Errorf("demo secrets: %w", err)
	}

	fake := graphfake.New(graphfake.Options{
		BaseURL: base + "/graphfake", WebhookURL: base + "/webhooks/whatsapp", AppSecret: sec.AppSecret,
		Retry:    graphfake.Retry{First: 500 * time.Millisecond, Max: 30 * time.Second, GiveUp: 24 * time.Hour},
		Statuses: []graphfake.Step{{Status: "sent", After: 100 * time.Millisecond}, {Status: "delivered", After: 600 * time.Millisecond}},
		Logger:   logger,
	})
	defer fake.Close()
	num := fake.AddNumber(graphfake.Number{ID: sec.PhoneNumberID, WABAID: sec.WABAID, Phone: sec.Phone,
		VerifiedName: "Lucky Shrub", Token: sec.AccessToken, VerifyToken: sec.VerifyToken})
	for _, t := range demoTemplates {
		if _, err := fake.AddTemplate(num.WABAID, t); err != nil {
			return err
		}
	}
	if err := fake.SetAutomation(num.ID, graphfake.Automation{EnableWelcomeMessage: true, Prompts: demoPrompts,
		Commands: []graphfake.Command{{Name: "order", Description: "Ask about an order"}, {Name: "hours", Description: "Opening hours"}}}); err != nil {
		return err
	}
	catalog, err := web.Catalog()
	if err != nil {
		return err
	}
	sim, err := simulator.New(fake, simulator.Options{Logger: logger, Catalog: catalog})
	if err != nil {
		return err
	}
	mount := func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/graphfake/", http.StripPrefix("/graphfake", fake))
		mux.Handle("/simulator", sim)
		mux.Handle("/simulator/", sim)
		mux.Handle("/", h)
		return mux
	}
	app, err := server.Open(ctx, cfg, logger, server.Options{Handler: mount})
	if err != nil {
		return err
	}
	defer app.Close()
	if n, err := app.Users.Count(ctx); err != nil {
		return err
	} else if n == 0 {
		if _, err := app.Users.Create(ctx, user.NewUser{Email: sec.AdminEmail, Name: "Demo Admin", Role: policy.Admin, Password: sec.AdminPassword}); err != nil {
			return fmt.Errorf("demo administrator: %w", err)
		}
	}
	ls, err := app.Listen()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return app.Run(gctx, ls) })
	g.Go(func() error {
		<-gctx.Done()
		sim.Close() // its event streams would hold the graceful stop
		return nil
	})
	g.Go(func() error {
		inbox, err := provisionDemo(gctx, base, sec)
		if err != nil {
			return fmt.Errorf("demo inbox: %w", err)
		}
		fmt.Fprintf(stdout, `
Switchboard demo, with a WhatsApp number played by the built-in Graph API fake.

  Agent inbox   %[1]s/inbox
                sign in as %[2]s, password %[3]s
  Customer      %[1]s/simulator
                a phone to write to "Lucky Shrub" (%[4]s) as any customer
  WhatsApp      inbox %[5]q, number id %[6]s; webhooks go to %[1]s/webhooks/whatsapp,
                Graph calls to %[1]s/graphfake

Data: %[7]s (SQLite; secrets in %[8]s). Ctrl-C stops; run again to go on, or add -fresh to start over.

`, base, sec.AdminEmail, sec.AdminPassword, num.DisplayPhoneNumber, inbox, num.ID, *dataDir, filepath.Join(*dataDir, demoFile))
		return nil
	})
	return g.Wait()
}

// provisionDemo makes sure the demo WhatsApp inbox exists, through the
// REST API as the administrator, and returns its name.
func provisionDemo(ctx context.Context, base string, sec demoSecrets) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("server not ready: %v", err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	call := func(method, path string, body, out any) error {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		if out != nil {
			return json.Unmarshal(data, out)
		}
		return nil
	}
	if err := call("POST", "/api/v1/auth/login", map[string]string{"email": sec.AdminEmail, "password": sec.AdminPassword}, nil); err != nil {
		return "", fmt.Errorf("sign in as %s (was the demo administrator changed?): %w", sec.AdminEmail, err)
	}
	const name = "WhatsApp · Lucky Shrub"
	var inboxes []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := call("GET", "/api/v1/inboxes", nil, &inboxes); err != nil {
		return "", err
	}
	for _, in := range inboxes {
		if in.Type == "whatsapp" && in.Name == name {
			return name, nil
		}
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := call("POST", "/api/v1/inboxes", demoInbox(name, sec), &created); err != nil {
		return "", err
	}
	// Through Switchboard, as an administrator would: the welcome
	// message is switched on, the ice breakers are pushed to Graph (the
	// fake) with the switch, and the templates read from it.
	id := fmt.Sprint(created.ID)
	if err := call("PUT", "/api/v1/inboxes/"+id+"/automation", map[string]any{"welcome": map[string]any{"enabled": true}}, nil); err != nil {
		return "", err
	}
	if err := call("PUT", "/api/v1/inboxes/"+id+"/whatsapp/ice-breakers", map[string]any{"prompts": demoPrompts}, nil); err != nil {
		return "", err
	}
	if err := call("POST", "/api/v1/inboxes/"+id+"/whatsapp/templates/sync", nil, nil); err != nil {
		return "", err
	}
	return name, nil
}

// demoInbox is the request that creates the demo WhatsApp inbox.
func demoInbox(name string, sec demoSecrets) any {
	return map[string]any{
		"type": "whatsapp",
		"name": name,
		"whatsapp": map[string]any{
			"phone_number_id":      sec.PhoneNumberID,
			"waba_id":              sec.WABAID,
			"display_phone_number": sec.Phone,
			"access_token":         sec.AccessToken,
			"app_secret":           sec.AppSecret,
			"verify_token":         sec.VerifyToken,
		},
	}
}
