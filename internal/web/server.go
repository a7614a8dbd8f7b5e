// Package web is Switchboard's HTTP face: the REST API under /api/v1 (with
// its OpenAPI description), the agents' WebSocket, the web chat widget's
// public API and Meta's webhooks; the pages of the agent workspace are in
// package ui (the administrators' in ui/admin), and what both halves share
// in package httpx. Every route, API and page, is declared in routes.go
// with the policy action it needs; one middleware authenticates the
// request and asks the policy before any handler runs.
//
// The handlers of a feature are the methods of one small struct that holds
// what they use (conversationsAPI, publicAPI, meAPI, ...; ui.InboxPages,
// admin.People, ...). routeTable builds every one of them from Deps and the
// parts several of them share, and lists their routes; no handler reaches
// Deps or the Server.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/flash"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/reply/welcome"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web/httpx"
	"github.com/switchboardhq/switchboard/internal/web/ui"
)

// Deps are what the web layer is built from.
type Deps struct {
	BaseURL       *url.URL
	Version       string
	DB            *db.DB
	Log           *event.Log
	Hub           *realtime.Hub
	Auth          *auth.Service
	Users         *user.Store
	Inboxes       *inbox.Store
	Conversations *conversation.Service
	// Routing gives conversations to agents: rules, limits, the queue,
	// claims and transfers.
	Routing *routing.Service
	// Bots hold conversations before routing and hand them off.
	Bots *bot.Service
	// Automation is a number's automation (welcome, reminders, surveys).
	Automation *automation.Service
	Files      *attachment.Store
	Webchat    *webchat.Service
	WhatsApp   *whatsapp.Service
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
	// PublicRate is the public API's request rate per IP (per second);
	// PublicBurst its burst.
	PublicRate  float64
	PublicBurst int
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// MetricsElsewhere says /metrics has a listener of its own
	// (MetricsHandler); this handler answers 404 there.
	MetricsElsewhere bool
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string

	// People: languages, two-factor authentication, invitations, changes
	// of address, teams, availability and presence, avatars.
	Catalog      *i18n.Catalog
	Factors      *auth.Factors
	Invites      *invite.Service
	EmailChanges *emailchange.Service
	Teams        *team.Store
	Availability *availability.Service
	Presence     *availability.Presence
	Avatars      *avatar.Store

	// Links signs the widget's links to files and avatars and its event
	// stream tickets (see links.go).
	Links *secret.Signer
	// Now is the clock of those links and tickets and of the typing
	// throttles; time.Now when nil.
	Now func() time.Time
	// Resets send and honour password reset links.
	Resets *auth.Resets
	// Accounts deactivate and reactivate users.
	Accounts *account.Service
	// Welcome keeps agents' personal welcome messages.
	Welcome *welcome.Store
	// Flashes keep what a page shows once after the redirect that
	// follows a form (a new secret, an invitation link).
	Flashes *flash.Store
	// MailToLog says no mail server is configured: mail goes to the
	// server log.
	MailToLog bool
	// Canned keeps the canned responses.
	Canned *reply.CannedStore
}

// Server handles every HTTP request: it keeps the route table, the
// middleware that authenticates and authorises each route, and the
// lifecycle of the long-lived handlers. The handlers themselves are the
// methods of one small struct per feature (see routes.go), built from
// Deps with what each one uses.
type Server struct {
	logger   *slog.Logger
	handler  http.Handler
	routes   []route
	sessions *httpx.Sessions  // who a request comes from
	langs    *httpx.Languages // the language of an API error
	pages    *ui.Renderer     // the workspace's error pages
	metrics  *metrics.Metrics // request durations
	life     *lifecycle
	// serveMetrics serves /metrics (MetricsHandler).
	serveMetrics http.HandlerFunc
	// version and baseURL are written in the OpenAPI document.
	version string
	baseURL *url.URL
	apiDoc  openapiDoc
}

// lifecycle is what long-lived handlers (WebSockets, event streams) know
// of the server's end.
type lifecycle struct {
	// closing is closed when the server shuts down; long-lived handlers
	// end on it, and conns waits for them.
	closing   chan struct{}
	closeOnce sync.Once
	conns     sync.WaitGroup
	// shutdown is cancelled with closing, for handlers that react to it
	// without a goroutine of their own (context.AfterFunc).
	shutdown     context.Context
	stopShutdown context.CancelFunc
}

func newLifecycle() *lifecycle {
	l := &lifecycle{closing: make(chan struct{})}
	l.shutdown, l.stopShutdown = context.WithCancel(context.Background())
	return l
}

// New builds the server. It fails if a template does not parse.
func New(d Deps) (*Server, error) {
	if d.Links == nil {
		return nil, errors.New("web: Deps.Links is needed to sign the widget's links")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PublicRate == 0 {
		d.PublicRate, d.PublicBurst = 50, 100
	}
	var err error
	if d.Catalog == nil {
		if d.Catalog, err = Catalog(); err != nil {
			return nil, err
		}
	}
	if d.Flashes == nil {
		d.Flashes = flash.NewStore(d.DB)
	}
	s := &Server{logger: d.Logger, metrics: d.Metrics, life: newLifecycle(), version: d.Version, baseURL: d.BaseURL}
	s.sessions = httpx.NewSessions(d.Auth, d.Factors, d.Availability, d.Logger, d.BaseURL.Scheme == "https", d.TrustProxy)
	s.langs = httpx.NewLanguages(d.Catalog, d.Auth)
	if s.pages, err = ui.NewRenderer(d.Catalog, s.langs, d.Users, d.Hub, s.sessions, d.Logger); err != nil {
		return nil, err
	}
	s.routes = s.routeTable(d)
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.Handle("/", s.notFound())
	s.handler = s.middleware(mux)
	return s, nil
}

// MetricsHandler serves /metrics and nothing else, for a listener of its
// own (config.Config.MetricsAddr).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	return mux
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Shutdown ends WebSockets and event streams (with a close frame) and
// waits for them, up to ctx.
func (s *Server) Shutdown(ctx context.Context) {
	l := s.life
	l.closeOnce.Do(func() { close(l.closing); l.stopShutdown() })
	done := make(chan struct{})
	go func() { l.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// notFound answers unknown paths: JSON under the API prefixes, a page
// elsewhere.
func (s *Server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			httpx.WriteJSON(w, http.StatusNotFound, httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "not_found", Message: "There is no " + r.Method + " " + r.URL.Path + "."}})
			return
		}
		s.pages.NotFound(w, r)
	})
}

func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/public/")
}

// statusRecorder remembers the status a handler wrote, for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and WebSocket hijacking) reach the
// connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush supports event streams.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// middleware gives each request an id, security headers, and CSRF
// protection for cookie-authenticated writes.
func (s *Server) middleware(next http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	// The widget's API is called from customers' sites with a bearer token
	// (no cookies), and Meta's webhooks come from Meta: neither is CSRF.
	csrf.AddInsecureBypassPattern("/public/")
	csrf.AddInsecureBypassPattern("/webhooks/")
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusForbidden, httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "forbidden", Message: "Cross-site request refused."}})
	}))
	protected := csrf.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = httpx.NewRequestID()
			r.Header.Set("X-Request-Id", id)
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/widget") && !strings.HasPrefix(r.URL.Path, "/public/") {
			h.Set("X-Frame-Options", "DENY")
		}
		// Requests with a bearer token carry no ambient credentials.
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			next.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// wrap authenticates, authorises, times and runs one route; the route's
// path values and query parameters must follow the text rule.
func (s *Server) wrap(rt route) http.Handler {
	names := wildcards(rt.path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.RequestDuration.WithLabelValues(rt.method+" "+rt.path, statusClass(code)).Observe(time.Since(start).Seconds())
		}()
		a, err := s.sessions.Authenticate(r)
		if err != nil && rt.action != policy.Public {
			rt.deny(s, rec, r, err)
			return
		}
		if !policy.Allow(a, rt.action) {
			rt.deny(s, rec, r, errForbidden)
			return
		}
		if err := checkURL(r, names); err != nil {
			rt.fail(s, rec, r, err)
			return
		}
		if err := rt.h(rec, r, a); err != nil {
			rt.fail(s, rec, r, err)
		}
	})
}

func statusClass(code int) string {
	switch {
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	}
	return "5xx"
}
