// Package whatsapp is the WhatsApp channel, on Meta's Cloud API: one
// inbox per business phone number.
//
// A number's settings and secrets are kept by the inbox store, checked by
// this package (Channel); the ids Meta routes by are its whatsapp_numbers
// rows, written in the inbox's transaction.
//
// Receiving: Meta posts webhooks to one endpoint for every number. Ingest
// checks the X-Hub-Signature-256 over the raw body with the app secrets of
// the numbers before reading it, reads the whole delivery (Parse), routes
// each change by phone_number_id, and stores what came (messages of every
// type, reactions, statuses, template events) before the endpoint answers
// 200. Redeliveries change nothing: messages are unique per inbox by their
// WhatsApp id, statuses only move forward. Media is fetched at once by a
// durable job committed with its message.
//
// Sending: agents' messages go through the durable outbox; Deliver is the
// outbox's sender for WhatsApp. Each number's throughput and each
// customer's pair rate are paced in the database (GCRA: a "next allowed
// at" per number and per number and customer, updated atomically), so
// they hold across nodes: jobs are scheduled against the plan when they
// are committed and admitted against the limit when they are sent. Errors
// are handled by Meta's code: throttling backs off, the pair rate retries
// that customer later, transient errors retry with bounded backoff,
// permanent ones fail the message with Meta's reason, an expired token
// flags the inbox and tells the admins. A send whose answer was lost
// waits for Meta's status webhook (which carries Switchboard's id in
// biz_opaque_callback_data) before it is tried again, so a restart does
// not send twice.
//
// The 24-hour customer-service window is computed from the customer's last
// message: free-form messages outside it are refused before Graph is
// called. Templates are synchronised from the business account (on demand
// and by a periodic job) and checked before sending; ice breakers are kept
// and pushed to Graph.
package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/realtime"
)

// The jobs of the channel.
const (
	MediaJob      = "whatsapp.media"
	ReadJob       = "whatsapp.read"
	TemplatesJob  = "whatsapp.templates"
	AutomationJob = "whatsapp.automation"
)

// AlertEvent tells admins about a number's trouble (an expired token,
// Meta's errors about the number); it is not about a conversation, so
// the hubs give it to admins.
const AlertEvent = "whatsapp.alert"

// Alert is the data of an AlertEvent.
type Alert struct {
	InboxID int64  `json:"inbox_id"`
	Inbox   string `json:"inbox"`
	Code    string `json:"code"`
	// Message says it in English; Title is Meta's title of the error.
	Message string `json:"message"`
	Title   string `json:"title,omitempty"`
	Details string `json:"details,omitempty"`
}

// Options tune the channel.
type Options struct {
	// GraphURL and APIVersion say where Graph is (config:
	// SWITCHBOARD_WHATSAPP_GRAPH_URL, SWITCHBOARD_WHATSAPP_API_VERSION).
	GraphURL   string
	APIVersion string
	// HTTPClient calls Graph; nil makes one with Timeouts' connection
	// timeouts.
	HTTPClient *http.Client
	// Timeouts bound each phase of a call to Graph (defaults: see
	// Timeouts).
	Timeouts Timeouts
	// Window is the customer-service window (24 hours).
	Window time.Duration
	// InFlightGrace is how long a send whose answer was lost waits for
	// Meta's status webhook before it is sent again (default 30 s).
	InFlightGrace time.Duration
	// TemplateSync is how often templates are synchronised (default 6 h).
	TemplateSync time.Duration
	// MaxPacingWait is the longest a send waits for its slot before it is
	// scheduled again instead (default 2 s).
	MaxPacingWait time.Duration
	// ThrottleWait is the least a throttled number waits when Meta gives
	// no Retry-After (default 2 s).
	ThrottleWait time.Duration
	// PairRate is how often one customer may be written to (Meta: one
	// message per 6 s, bursts of 45).
	PairInterval time.Duration
	PairBurst    int
	// Clock is the time of the typing indicator's throttle (tests);
	// time.Now when nil.
	Clock func() time.Time
}

// Service is the WhatsApp channel.
type Service struct {
	db      *db.DB
	log     *event.Log
	queue   *job.Queue
	inboxes Inboxes
	conv    *conversation.Service
	// media keeps inbound media (Meta's size limits); uploads are agents'
	// files, read for sending.
	media   *attachment.Store
	uploads *attachment.Store
	graph   *Graph
	logger  *slog.Logger
	opt     Options
	m       *metrics.Metrics

	signatureFailures prometheus.Counter
	unknownNumbers    prometheus.Counter

	mu      sync.Mutex // guards cache and loading
	cache   *numbers
	loading time.Time // last reload on a miss
	// now is the clock, for tests.
	now func() time.Time
	// typing throttles the typing indicator per conversation (typing.go).
	typing *realtime.Throttle[int64]
}

// Inboxes is what the channel reads of the inbox store: the WhatsApp
// inboxes with their secrets.
type Inboxes interface {
	ListWithSecrets(ctx context.Context, typ inbox.Type) ([]inbox.WithSecret, error)
}

// numbers are the WhatsApp inboxes with their secrets, cached: every
// webhook needs them.
type numbers struct {
	byInbox map[int64]*Number
	byPNID  map[string]*Number
	secrets []string // distinct app secrets
	at      time.Time
}

// numbersTTL bounds how long a change of another node's is not seen
// (changes on this node, and InboxChanged events, clear the cache).
const numbersTTL = 30 * time.Second

// New returns the channel. Register its hooks on the conversation
// service and its jobs on the runner with Register.
func New(d *db.DB, log *event.Log, queue *job.Queue, inboxes Inboxes, conv *conversation.Service, media, uploads *attachment.Store,
	m *metrics.Metrics, logger *slog.Logger, opt Options) *Service {
	if opt.GraphURL == "" {
		opt.GraphURL = "https://graph.facebook.com"
	}
	if opt.APIVersion == "" {
		opt.APIVersion = "v23.0"
	}
	if opt.Window <= 0 {
		opt.Window = 24 * time.Hour
	}
	if opt.InFlightGrace <= 0 {
		opt.InFlightGrace = 30 * time.Second
	}
	if opt.TemplateSync <= 0 {
		opt.TemplateSync = 6 * time.Hour
	}
	if opt.MaxPacingWait <= 0 {
		opt.MaxPacingWait = 2 * time.Second
	}
	if opt.ThrottleWait <= 0 {
		opt.ThrottleWait = 2 * time.Second
	}
	if opt.PairInterval <= 0 {
		opt.PairInterval = 6 * time.Second
	}
	if opt.PairBurst <= 0 {
		opt.PairBurst = 45
	}
	s := &Service{db: d, log: log, queue: queue, inboxes: inboxes, conv: conv, media: media, uploads: uploads,
		graph: NewGraph(opt.GraphURL, opt.APIVersion, opt.HTTPClient, opt.Timeouts), logger: logger, opt: opt, m: m, now: time.Now,
		typing: realtime.NewThrottle[int64](TypingEvery, opt.Clock)}
	s.signatureFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_whatsapp_webhook_signature_failures_total",
		Help: "WhatsApp webhooks refused because X-Hub-Signature-256 was missing or wrong.",
	})
	s.unknownNumbers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_whatsapp_webhook_unknown_numbers_total",
		Help: "Changes of WhatsApp webhooks for a phone_number_id no inbox has (acknowledged and dropped).",
	})
	if m != nil {
		m.Registry.MustRegister(s.signatureFailures, s.unknownNumbers)
	}
	return s
}

// Register adds the channel's rules to the conversation service (send
// checks, the reply window, read receipts) and its job handlers to the
// runner.
func (s *Service) Register(r *job.Runner) {
	s.conv.CheckSends(s.checkSend)
	s.conv.SetReplyWindow(s.replyWindow)
	s.conv.OnRead(s.onRead)
	r.Handle(MediaJob, job.HandlerFunc(s.handleMedia))
	r.Handle(ReadJob, job.HandlerFunc(s.handleRead))
	r.Handle(TemplatesJob, job.HandlerFunc(s.handleTemplates))
	r.Handle(AutomationJob, job.HandlerFunc(s.handleAutomation))
}

// Graph returns the client of Graph.
func (s *Service) Graph() *Graph { return s.graph }

// Forget drops the cached numbers (an inbox changed).
func (s *Service) Forget() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// NumberCache is the consumer that drops this node's cached numbers when
// an inbox changes on any node.
func (s *Service) NumberCache() event.Consumer {
	return event.Consumer{Name: "whatsapp.numbers", Scope: event.PerNode, Types: []string{event.InboxChanged},
		Handle: func(context.Context, []event.Event) error { s.Forget(); return nil }}
}

// numbers returns the WhatsApp inboxes, from the cache while it is fresh.
func (s *Service) numbers(ctx context.Context) (*numbers, error) {
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c != nil && time.Since(c.at) < numbersTTL {
		return c, nil
	}
	return s.reload(ctx)
}

func (s *Service) reload(ctx context.Context) (*numbers, error) {
	list, err := s.inboxes.ListWithSecrets(ctx, Type)
	if err != nil {
		return nil, errorf("numbers: %w", err)
	}
	c := &numbers{byInbox: map[int64]*Number{}, byPNID: map[string]*Number{}, at: time.Now()}
	for _, w := range list {
		n, err := numberOf(w)
		if err != nil {
			return nil, err
		}
		c.byInbox[n.InboxID], c.byPNID[n.PhoneNumberID] = &n, &n
		if n.AppSecret != "" && !containsString(c.secrets, n.AppSecret) {
			c.secrets = append(c.secrets, n.AppSecret)
		}
	}
	s.mu.Lock()
	s.cache = c
	s.mu.Unlock()
	return c, nil
}

// reloadOnMiss reloads the numbers when something is not found, at most
// once a second (a new inbox on another node; not every unknown webhook).
func (s *Service) reloadOnMiss(ctx context.Context) (*numbers, bool, error) {
	s.mu.Lock()
	if time.Since(s.loading) < time.Second {
		c := s.cache
		s.mu.Unlock()
		return c, false, nil
	}
	s.loading = time.Now()
	s.mu.Unlock()
	c, err := s.reload(ctx)
	return c, true, err
}

// errNoNumber is an inbox that is not a WhatsApp number (or no longer
// exists).
var errNoNumber = problem.NotFound("WhatsApp inbox")

// number returns the WhatsApp number of an inbox: errNoNumber (a
// not-found problem) when it has none, another error when the numbers
// could not be read, which says nothing about the inbox.
func (s *Service) number(ctx context.Context, inboxID int64) (*Number, error) {
	c, err := s.numbers(ctx)
	if err != nil {
		return nil, err
	}
	if n := c.byInbox[inboxID]; n != nil {
		return n, nil
	}
	if c, _, err = s.reloadOnMiss(ctx); err != nil {
		return nil, err
	}
	if c != nil && c.byInbox[inboxID] != nil {
		return c.byInbox[inboxID], nil
	}
	return nil, errNoNumber
}

// IsWhatsApp reports whether an inbox is a WhatsApp number. An error
// means the numbers could not be read: the inbox may be one.
func (s *Service) IsWhatsApp(ctx context.Context, inboxID int64) (bool, error) {
	_, err := s.number(ctx, inboxID)
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	}
	return false, err
}

// verifySignature finds the app secret that signed body; "" when none did.
func verifySignature(body []byte, header string, secrets []string) string {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return ""
	}
	got, err := hex.DecodeString(strings.TrimSpace(hexSum))
	if err != nil || len(got) != sha256.Size {
		return ""
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return secret
		}
	}
	return ""
}

// Sign computes the X-Hub-Signature-256 header Meta sends with a body.
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyToken answers Meta's webhook handshake: whether token is one of
// the numbers' verify tokens.
func (s *Service) VerifyToken(ctx context.Context, token string) (bool, error) {
	return verifyTokenKnown(ctx, s.db, token)
}

// alert tells admins about a number's trouble.
func (s *Service) alert(ctx context.Context, n *Number, code, message, title, details string) {
	s.logger.Warn("whatsapp: "+message, "inbox", n.InboxID, "code", code, "details", details)
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		tx.Emit(event.New(AlertEvent, Alert{InboxID: n.InboxID, Inbox: n.Name, Code: code, Message: message, Title: title, Details: details}))
		return nil
	})
	if err != nil {
		s.logger.Error("whatsapp: alert", "err", err)
	}
}

// flagToken records that Meta refused the inbox's access token and tells
// the admins, once per change.
func (s *Service) flagToken(ctx context.Context, n *Number, f failure) {
	msg := f.Message
	if f.Details != "" {
		msg += " (" + f.Details + ")"
	}
	var changed bool
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := db.Now()
		res, err := tx.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, token_error, token_error_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (inbox_id) DO UPDATE SET token_error = excluded.token_error, token_error_at = excluded.token_error_at, updated_at = excluded.updated_at
			WHERE whatsapp_state.token_error = ''`, n.InboxID, msg, now)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		changed = k > 0
		return nil
	})
	if err != nil {
		s.logger.Error("whatsapp: flag token", "inbox", n.InboxID, "err", err)
		return
	}
	if changed {
		s.alert(ctx, n, "190", "The access token of "+n.Name+" was refused by Meta: enter a new one in the inbox settings.", f.Message, f.Details)
	}
}

// clearToken forgets a token error once Graph accepts the token again.
func (s *Service) clearToken(ctx context.Context, inboxID int64) {
	if _, err := s.db.Exec(ctx, `UPDATE whatsapp_state SET token_error = '', token_error_at = NULL WHERE inbox_id = $1 AND token_error <> ''`, inboxID); err != nil {
		s.logger.Warn("whatsapp: clear token error", "inbox", inboxID, "err", err)
	}
}

// Run keeps the channel's periodic work going until ctx ends: templates
// synchronised every TemplateSync (as durable jobs, enqueued once however
// many nodes run this) and old pacing rows pruned.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("whatsapp: sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) sweep(ctx context.Context) error {
	c, err := s.reload(ctx)
	if err != nil {
		return err
	}
	for id := range c.byInbox {
		var synced *time.Time
		err := s.db.QueryRow(ctx, `SELECT templates_synced_at FROM whatsapp_state WHERE inbox_id = $1`, id).Scan(&synced)
		if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
			return err
		}
		if synced == nil || time.Since(*synced) >= s.opt.TemplateSync {
			if err := s.enqueue(ctx, TemplatesJob, inboxPayload{InboxID: id}, templatesKey(id), time.Time{}); err != nil {
				return err
			}
		}
	}
	// Ice breakers saved but never answered by Graph (a node died before
	// its job was enqueued) get a job again.
	rows, err := s.db.Query(ctx, `SELECT inbox_id FROM whatsapp_state WHERE ice_breakers_status = 'pending' AND updated_at < $1`, db.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	var pending []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		pending = append(pending, id)
	}
	rows.Close()
	for _, id := range pending {
		if err := s.enqueueAutomation(ctx, id); err != nil {
			return err
		}
	}
	cutoff := s.now().Add(-time.Hour).UnixMicro()
	if _, err := s.db.Exec(ctx, `DELETE FROM whatsapp_pacing WHERE tat < $1`, cutoff); err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `DELETE FROM whatsapp_sends WHERE updated_at < $1`, db.Now().Add(-24*time.Hour))
	return err
}

type inboxPayload struct {
	InboxID int64 `json:"inbox_id"`
}

// enqueue adds a job in a transaction of its own.
func (s *Service) enqueue(ctx context.Context, kind string, payload any, dedup string, at time.Time) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := s.queue.Enqueue(ctx, tx, kind, payload, job.Options{DedupKey: dedup, RunAt: at, MaxAttempts: 8})
		return err
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// errorf wraps an error with the package's prefix.
func errorf(format string, args ...any) error { return fmt.Errorf("whatsapp: "+format, args...) }

// templatesKey deduplicates a number's template synchronisations.
func templatesKey(inboxID int64) string { return "wa-templates:" + strconv.FormatInt(inboxID, 10) }
