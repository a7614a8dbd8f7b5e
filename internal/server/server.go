// Package server assembles Switchboard from its parts and supervises them:
// the HTTP server, the real-time hub, the job runner and periodic upkeep.
// Run stops them in order on cancellation: stop accepting, finish
// requests, close WebSockets with a close frame, stop workers.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/internal/account"
	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/automation"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/avatar"
	"github.com/switchboardhq/switchboard/internal/bot"
	"github.com/switchboardhq/switchboard/internal/channel/webchat"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/emailchange"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/i18n"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/invite"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/metrics"
	"github.com/switchboardhq/switchboard/internal/outbox"
	"github.com/switchboardhq/switchboard/internal/raster"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/reply/welcome"
	"github.com/switchboardhq/switchboard/internal/routing"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
	"github.com/switchboardhq/switchboard/internal/team"
	"github.com/switchboardhq/switchboard/internal/user"
	"github.com/switchboardhq/switchboard/internal/web"
)

// Version is set at build time.
var Version = "dev"

// App is an assembled Switchboard node.
type App struct {
	Config        config.Config
	Logger        *slog.Logger
	DB            *db.DB
	Log           *event.Log
	Hub           *realtime.Hub
	Consumers     *event.Consumers
	Queue         *job.Queue
	Runner        *job.Runner
	Users         *user.Store
	Auth          *auth.Service
	Inboxes       *inbox.Store
	Conversations *conversation.Service
	// Routing gives conversations to agents (rules, limits, the queue).
	Routing *routing.Service
	// Bots hold an inbox's new conversations before routing, and hand
	// them off.
	Bots *bot.Service
	// Automation is what Switchboard sends and does by itself.
	Automation *automation.Service
	// Welcome keeps and sends agents' personal welcome messages.
	Welcome  *welcome.Store
	Files    *attachment.Store
	Webchat  *webchat.Service
	WhatsApp *whatsapp.Service
	Metrics  *metrics.Metrics
	Web      *web.Server
	// Images decodes every picture the node opens (avatars), a few at a
	// time and within a memory budget.
	Images *raster.Decoder

	// People: translations, mail and texts, two-factor authentication,
	// invitations, changes of address, teams, availability and presence,
	// avatars.
	Catalog      *i18n.Catalog
	Mail         *mail.Outbox
	SMS          *sms.Outbox
	Factors      *auth.Factors
	Invites      *invite.Service
	EmailChanges *emailchange.Service
	Teams        *team.Store
	Availability *availability.Service
	Presence     *availability.Presence
	Avatars      *avatar.Store
	// Canned keeps canned responses (company presets, agents' own).
	Canned *reply.CannedStore

	handler       http.Handler // a.Web, or what Options.Handler made of it
	work          map[string]func(context.Context) error
	broker        event.Broker
	closeNATS     func()
	unsubHub      func()
	unsubConsumer func()
	closeDB       bool
}

// Options tune an App beyond its configuration (tests and benchmarks).
type Options struct {
	// PublicRate overrides the web chat API's per-IP request rate (0 keeps
	// the configured one, config.Config.PublicRateLimit; <0 means unlimited).
	PublicRate float64
	// JobPoll overrides how often the job runner looks for due jobs.
	JobPoll time.Duration
	// JobBackoff overrides the first retry delay of failed jobs (tests of
	// retries).
	JobBackoff time.Duration
	// Handler, when set, wraps the HTTP handler: the demo mounts the
	// WhatsApp Graph API fake and its simulator beside Switchboard.
	Handler func(http.Handler) http.Handler
	// WhatsApp tunes the WhatsApp channel; its Graph URL and API version
	// come from the configuration when empty.
	WhatsApp whatsapp.Options
	// Attachments replaces attachment.DefaultLimits (tests of the quotas).
	Attachments *attachment.Limits
	// Work is more long-running work, by name, supervised with the node's
	// own: it runs until its context ends, and an error stops the node.
	Work map[string]func(context.Context) error
	// Clock, when set, is the time of the web layer's expiring links and
	// tickets, of the typing indicators' throttles, and of bots' failing
	// deliveries and customers' silence (tests).
	Clock func() time.Time
}

// Open opens the database, applies migrations and assembles the node.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger, opt Options) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	d, err := db.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	a, err := Assemble(cfg, d, logger, opt)
	if err != nil {
		d.Close()
		return nil, err
	}
	a.closeDB = true
	return a, nil
}

// Assemble builds a node on an open, migrated database. It fails when the
// node could not take part: among others, when it cannot subscribe to the
// events of the other nodes.
func Assemble(cfg config.Config, d *db.DB, logger *slog.Logger, opt Options) (_ *App, err error) {
	a := &App{Config: cfg, Logger: logger, DB: d}
	defer func() {
		if err != nil {
			a.Close() // what was acquired so far (not the database, which is the caller's)
		}
	}()
	key := cfg.SecretKey
	if key == nil {
		if key, err = secret.LoadOrCreateKey(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	// The widget's links to files and its event stream tickets are signed
	// with a key of their own, derived from the secret key.
	links, err := secret.NewSigner(key, "public links")
	if err != nil {
		return nil, err
	}
	if cfg.NATSURL != "" {
		nb, err := event.DialNATS(cfg.NATSURL, logger)
		if err != nil {
			return nil, err
		}
		a.broker, a.closeNATS = nb, nb.Close
	} else {
		a.broker = event.NewLocal()
	}
	a.Log = event.NewLog(d, a.broker, logger)
	a.Hub = realtime.NewHub(a.Log, realtime.Config{}, logger)
	if a.unsubHub, err = a.broker.Subscribe(a.Hub.Receive); err != nil {
		return nil, err
	}
	a.Queue = job.NewQueue()
	// Jobs are mostly sends that wait on the network (Graph answers in
	// tens to hundreds of milliseconds) or for their pacing slot: twenty
	// numbers at 80 messages/s need hundreds in flight, and a waiting job
	// costs a goroutine.
	a.Runner = job.NewRunner(d, a.Queue, job.Config{Workers: jobWorkers, Poll: opt.JobPoll, BaseBackoff: opt.JobBackoff}, logger)
	a.Users = user.NewStore(d, a.Log, auth.HashPassword)
	a.Auth = auth.New(d, a.Log, a.Users)
	a.Inboxes = inbox.NewStore(d, a.Log, box, webchat.Channel(), whatsapp.Channel(a.Queue))
	files := attachment.DefaultLimits
	if opt.Attachments != nil {
		files = *opt.Attachments
	}
	a.Files = attachment.NewStore(d, filepath.Join(cfg.DataDir, "attachments"), files)
	a.Routing = routing.New(d, a.Log, a.Queue, logger)
	a.Routing.Register(a.Runner)
	// Number automation hears where routing puts conversations; bots
	// take an inbox's new conversations before both: the conversation
	// core's Assigner is bots over automation over routing.
	a.Automation = automation.New(d, a.Log, a.Queue, logger)
	a.Automation.Register(a.Runner)
	a.Automation.EstimateWith(a.Routing.EstimatedWait)
	a.Bots = bot.Wrap(a.Automation.Route(a.Routing), a.Routing, d, a.Log, a.Queue, box, logger, bot.Options{Clock: opt.Clock})
	a.Bots.Register(a.Runner)
	a.Conversations = conversation.NewService(d, a.Log, a.Queue, a.Files.Limits, a.Bots)
	a.Automation.Serve(a.Conversations)
	a.Bots.SetConversations(a.Conversations)
	a.Auth.SetBotTokens(a.Bots.Identify)
	a.Webchat = webchat.New(d, a.Inboxes, a.Conversations)
	a.Conversations.CheckSends(a.Webchat.CheckSend)
	a.Images = raster.NewDecoder(raster.DefaultLimits)
	a.Metrics = metrics.New(metrics.Sources{
		DBStats:         d.Stats,
		Statements:      d.Statements,
		JobDepth:        func(ctx context.Context) (int64, int64, error) { return job.Depth(ctx, d) },
		WebchatSessions: a.Webchat.Sessions,
		Unattached:      a.Files.Unattached,
	})
	if err := a.assemblePeople(box); err != nil {
		return nil, err
	}
	waOpt := opt.WhatsApp
	if waOpt.GraphURL == "" && cfg.WhatsAppGraphURL != nil {
		waOpt.GraphURL = cfg.WhatsAppGraphURL.String()
	}
	if waOpt.APIVersion == "" {
		waOpt.APIVersion = cfg.WhatsAppAPIVersion
	}
	if waOpt.Clock == nil {
		waOpt.Clock = opt.Clock
	}
	if opt.Clock != nil {
		a.Conversations.SetClock(opt.Clock)
	}
	a.WhatsApp = whatsapp.New(d, a.Log, a.Queue, a.Inboxes, a.Conversations,
		attachment.NewStore(d, filepath.Join(cfg.DataDir, "attachments"), whatsapp.MediaLimits), a.Files, a.Metrics, logger, waOpt)
	a.WhatsApp.Register(a.Runner)
	a.Automation.OnWelcomeSwitch(a.WhatsApp.SetWelcome)
	// Reactions to events outside the transactions that write them.
	a.Consumers = event.NewConsumers(a.Log, event.ConsumerConfig{}, logger)
	a.Consumers.Add(a.Auth.Invalidation())
	a.Consumers.Add(a.WhatsApp.NumberCache())
	a.Consumers.Add(a.Routing.Consumer())
	a.Consumers.Add(a.Automation.Consumer())
	a.Welcome = welcome.NewStore(d, a.Log, a.Conversations, logger)
	a.Consumers.Add(a.Welcome.Consumer())
	a.Consumers.Add(a.Bots.Consumer())
	if a.unsubConsumer, err = a.broker.Subscribe(a.Consumers.Receive); err != nil {
		return nil, err
	}
	a.Runner.Handle(conversation.SendJob, outbox.New(a.Conversations, a.Inboxes,
		map[inbox.Type]outbox.Sender{webchat.Type: a.Webchat, whatsapp.Type: a.WhatsApp}, a.Metrics))

	rate := opt.PublicRate
	if rate == 0 {
		rate = cfg.PublicRateLimit
	}
	burst := 0
	switch {
	case rate < 0:
		rate, burst = -1, 1 // unlimited (the limiter treats rate <= 0 as no limit)
	case rate > 0:
		burst = max(1, int(2*rate)) // the default 50/s allows bursts of 100
	}
	a.Canned = reply.NewCannedStore(d)
	a.Web, err = web.New(web.Deps{
		BaseURL: cfg.BaseURL, Version: Version, DB: d, Log: a.Log, Hub: a.Hub, Auth: a.Auth, Users: a.Users,
		Inboxes: a.Inboxes, Conversations: a.Conversations, Routing: a.Routing, Automation: a.Automation, Bots: a.Bots, Files: a.Files, Webchat: a.Webchat, WhatsApp: a.WhatsApp, Metrics: a.Metrics,
		Logger: logger, PublicRate: rate, PublicBurst: burst, TrustProxy: cfg.TrustProxy,
		MetricsElsewhere: cfg.MetricsAddr != "", MetricsToken: cfg.MetricsToken,
		Catalog: a.Catalog, Factors: a.Factors, Invites: a.Invites, EmailChanges: a.EmailChanges, Teams: a.Teams, Availability: a.Availability,
		Presence: a.Presence, Avatars: a.Avatars, Links: links, Now: opt.Clock, MailToLog: cfg.SMTP == nil,
		Accounts: account.New(a.Log, a.Auth, a.Availability, a.Conversations),
		Welcome:  a.Welcome,
		Resets:   auth.NewResets(a.Auth, a.Mail, a.Catalog, cfg.BaseURL),
		Canned:   a.Canned,
	})
	if err != nil {
		return nil, err
	}
	a.handler = a.Web
	a.work = opt.Work
	if opt.Handler != nil {
		a.handler = opt.Handler(a.Web)
	}
	return a, nil
}

// Subscribe receives the events this node's broker carries (tests watch
// for events that go to no page, like WhatsApp alerts).
func (a *App) Subscribe(fn func([]event.Event)) (unsubscribe func(), err error) {
	return a.broker.Subscribe(fn)
}

// Close releases what Open acquired.
func (a *App) Close() error {
	for _, unsub := range []func(){a.unsubHub, a.unsubConsumer} {
		if unsub != nil {
			unsub()
		}
	}
	if a.closeNATS != nil {
		a.closeNATS()
	}
	if a.closeDB {
		return a.DB.Close()
	}
	return nil
}

// Listeners are where a node serves HTTP.
type Listeners struct {
	// HTTP serves everything (config.Config.Addr).
	HTTP net.Listener
	// Metrics serves /metrics alone (config.Config.MetricsAddr); it is
	// needed exactly when that is set.
	Metrics net.Listener
}

// Listen opens the listeners of the configuration.
func (a *App) Listen() (Listeners, error) {
	var ls Listeners
	var err error
	if ls.HTTP, err = net.Listen("tcp", a.Config.Addr); err != nil {
		return ls, err
	}
	if a.Config.MetricsAddr != "" {
		if ls.Metrics, err = net.Listen("tcp", a.Config.MetricsAddr); err != nil {
			ls.HTTP.Close()
			return ls, fmt.Errorf("SWITCHBOARD_METRICS_ADDR: %w", err)
		}
	}
	return ls, nil
}

// Run serves HTTP on the listeners and runs the background work until ctx
// ends or a part of the node fails, then shuts down gracefully within the
// configured timeout. A worker that fails (or stops on its own) stops the
// node at once, and Run returns its error.
func (a *App) Run(ctx context.Context, ls Listeners) error {
	if (ls.Metrics != nil) != (a.Config.MetricsAddr != "") {
		return errors.New("server: a metrics listener is needed exactly when SWITCHBOARD_METRICS_ADDR is set")
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute, // large uploads on slow links
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
	}
	srv := newServer(a.handler)
	var metricsSrv *http.Server
	if ls.Metrics != nil {
		metricsSrv = newServer(a.Web.MetricsHandler())
	}
	if err := a.Hub.Start(ctx); err != nil {
		return err
	}
	// Workers run on their own context so that they stop after the HTTP
	// server has drained, not before; workCtx also ends when one of them
	// fails, which stops the HTTP server too.
	stopCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	work, workCtx := errgroup.WithContext(stopCtx)
	supervise := func(name string, run func(context.Context) error) {
		work.Go(func() error {
			err := run(workCtx)
			if workCtx.Err() == nil {
				if err == nil {
					err = errors.New("stopped")
				}
				return fmt.Errorf("%s: %w", name, err)
			}
			return err
		})
	}
	supervise("hub", a.Hub.Run)
	supervise("job runner", a.Runner.Run)
	supervise("presence", a.Presence.Run)
	supervise("whatsapp", a.WhatsApp.Run)
	supervise("event consumers", a.Consumers.Run)
	supervise("upkeep", a.upkeep)
	supervise("routing sweep", a.Routing.Run)
	for name, run := range a.work {
		supervise(name, run)
	}

	g, gctx := errgroup.WithContext(ctx)
	serve := func(srv *http.Server, ln net.Listener) func() error {
		return func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	g.Go(serve(srv, ls.HTTP))
	if metricsSrv != nil {
		g.Go(serve(metricsSrv, ls.Metrics))
	}
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-workCtx.Done():
			a.Logger.Error("stopping the node: a worker failed", "err", context.Cause(workCtx))
		}
		sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
		defer cancel()
		a.Logger.Info("shutting down")
		// Stop accepting and finish in-flight requests; WebSockets and
		// event streams are hijacked or long-lived, so close them too.
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(sctx) }()
		a.Web.Shutdown(sctx)
		err := <-shut
		if err != nil {
			srv.Close()
		}
		if metricsSrv != nil {
			if merr := metricsSrv.Shutdown(sctx); merr != nil {
				metricsSrv.Close()
				err = cmp.Or(err, merr)
			}
		}
		stopWork()
		return err
	})
	err := g.Wait()
	stopWork()
	// The failed worker's error first: it is why the node stopped.
	return errors.Join(work.Wait(), err)
}

// upkeep prunes the event log, removes uploads that were never sent and
// web chat sessions whose visitor never wrote, and drops spent sign-in
// codes.
func (a *App) upkeep(ctx context.Context) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.Log.Prune(ctx, 7*24*time.Hour, 100_000); err != nil && ctx.Err() == nil {
			a.Logger.Warn("upkeep: prune events", "err", err)
		} else if n > 0 {
			a.Logger.Info("upkeep: pruned events", "count", n)
		}
		if n, err := a.Files.DeleteUnattached(ctx, 24*time.Hour); err != nil && ctx.Err() == nil {
			a.Logger.Warn("upkeep: unattached uploads", "err", err)
		} else if n > 0 {
			a.Logger.Info("upkeep: removed unsent uploads", "count", n)
		}
		if n, err := a.Webchat.PruneSilent(ctx, time.Now().Add(-silentSessionAge)); err != nil && ctx.Err() == nil {
			a.Logger.Warn("upkeep: silent web chat sessions", "err", err)
		} else if n > 0 {
			a.Logger.Info("upkeep: removed silent web chat sessions", "count", n)
		}
		if _, err := a.Factors.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("upkeep: prune sign-in codes", "err", err)
		}
		if _, err := a.Auth.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("upkeep: prune device cookies", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// silentSessionAge is how long a web chat session whose visitor never
// wrote is kept.
const silentSessionAge = 24 * time.Hour

// jobWorkers is how many jobs a node runs at once.
const jobWorkers = 256
