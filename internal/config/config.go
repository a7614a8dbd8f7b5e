// Package config reads Switchboard's configuration from the environment
// (SWITCHBOARD_*), lets command-line flags override it, and validates it
// once at start. The result is a plain value passed to whoever needs it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/mail"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/sms"
)

// Config is the server's configuration.
type Config struct {
	// Addr is where the HTTP server listens (SWITCHBOARD_ADDR, default :8080).
	Addr string
	// DataDir holds the SQLite database, uploaded files and the secret key
	// (SWITCHBOARD_DATA_DIR, default ./data).
	DataDir string
	// DatabaseURL selects PostgreSQL with a postgres:// URL; empty means
	// the SQLite file in DataDir (SWITCHBOARD_DATABASE_URL).
	DatabaseURL string
	// BaseURL is the public URL, used in links and to mark cookies Secure
	// (SWITCHBOARD_BASE_URL, default http://localhost + the port of Addr).
	BaseURL *url.URL
	// LogFormat is text or json (SWITCHBOARD_LOG_FORMAT).
	LogFormat string
	// NATSURL, when set, carries events between nodes (SWITCHBOARD_NATS_URL).
	NATSURL string
	// SecretKey encrypts stored secrets (SWITCHBOARD_SECRET_KEY, base64 of
	// 32 bytes); empty means a key file in DataDir. Every node of a
	// scaled-out installation needs the same key.
	SecretKey []byte
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// PublicRateLimit is the web chat API's request rate per client IP, in
	// requests per second (SWITCHBOARD_PUBLIC_RATE_LIMIT, default 50; 0 in
	// the environment means unlimited, for load tests from one address).
	// In the struct, 0 means the default and a negative value unlimited.
	PublicRateLimit float64
	// TrustProxy takes the client address from the last X-Forwarded-For
	// entry (SWITCHBOARD_TRUST_PROXY): only behind a proxy that sets it,
	// or clients could pick their own address for rate limits.
	TrustProxy bool
	// WhatsAppGraphURL is where the WhatsApp Cloud API is reached
	// (SWITCHBOARD_WHATSAPP_GRAPH_URL, default https://graph.facebook.com):
	// a fake or a proxy in tests and demos.
	WhatsAppGraphURL *url.URL
	// WhatsAppAPIVersion is the Graph API version in request paths
	// (SWITCHBOARD_WHATSAPP_API_VERSION, default v23.0).
	WhatsAppAPIVersion string

	// SMTP is the mail server (SWITCHBOARD_SMTP_URL, smtp://user:pass@host:port
	// or smtps:// for implicit TLS); nil writes mail to the log instead.
	SMTP *mail.Config
	// MailFrom is the sender of Switchboard's mail (SWITCHBOARD_MAIL_FROM,
	// default "Switchboard <switchboard@HOST of the base URL>").
	MailFrom *netmail.Address
	// SMS is the text message provider (SWITCHBOARD_SMS_URL,
	// twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550001111);
	// nil writes texts to the log instead.
	SMS *sms.TwilioConfig
	// AwayAfter is how long after an agent's last connection closed they
	// become Away (SWITCHBOARD_AWAY_AFTER, default 5m).
	AwayAfter time.Duration

	// MetricsAddr, when set, is a listener of its own for /metrics (like
	// 127.0.0.1:9090), and the main listener answers 404 there
	// (SWITCHBOARD_METRICS_ADDR).
	MetricsAddr string
	// MetricsToken, when set, is the bearer token /metrics requires
	// (SWITCHBOARD_METRICS_TOKEN).
	MetricsToken string
}

// DefaultAwayAfter is how long agents may be gone before they become Away.
const DefaultAwayAfter = 5 * time.Minute

// The WhatsApp Cloud API defaults.
const (
	DefaultWhatsAppGraphURL   = "https://graph.facebook.com"
	DefaultWhatsAppAPIVersion = "v23.0"
)

var graphVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// DefaultPublicRateLimit is the web chat API's default rate per IP.
const DefaultPublicRateLimit = 50

// Postgres reports whether the database is PostgreSQL.
func (c *Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Load reads the environment through getenv and then the flags in args.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("switchboard serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("SWITCHBOARD_ADDR", ":8080"), "listen address (SWITCHBOARD_ADDR)")
	dataDir := fs.String("data-dir", env("SWITCHBOARD_DATA_DIR", "./data"), "data directory (SWITCHBOARD_DATA_DIR)")
	dbURL := fs.String("database-url", env("SWITCHBOARD_DATABASE_URL", ""), "postgres:// URL, or empty for SQLite in the data directory (SWITCHBOARD_DATABASE_URL)")
	baseURL := fs.String("base-url", env("SWITCHBOARD_BASE_URL", ""), "public URL (SWITCHBOARD_BASE_URL)")
	logFormat := fs.String("log-format", env("SWITCHBOARD_LOG_FORMAT", "text"), "text or json (SWITCHBOARD_LOG_FORMAT)")
	natsURL := fs.String("nats-url", env("SWITCHBOARD_NATS_URL", ""), "NATS server for events between nodes (SWITCHBOARD_NATS_URL)")
	publicRate := fs.String("public-rate-limit", env("SWITCHBOARD_PUBLIC_RATE_LIMIT", ""), "web chat API requests per second per IP; 0 = unlimited (SWITCHBOARD_PUBLIC_RATE_LIMIT, default 50)")
	trustProxy := fs.String("trust-proxy", env("SWITCHBOARD_TRUST_PROXY", "false"), "take client addresses from X-Forwarded-For (SWITCHBOARD_TRUST_PROXY)")
	graphURL := fs.String("whatsapp-graph-url", env("SWITCHBOARD_WHATSAPP_GRAPH_URL", DefaultWhatsAppGraphURL), "WhatsApp Cloud API base URL (SWITCHBOARD_WHATSAPP_GRAPH_URL)")
	graphVer := fs.String("whatsapp-api-version", env("SWITCHBOARD_WHATSAPP_API_VERSION", DefaultWhatsAppAPIVersion), "Graph API version, like v23.0 (SWITCHBOARD_WHATSAPP_API_VERSION)")
	smtpURL := fs.String("smtp-url", env("SWITCHBOARD_SMTP_URL", ""), "mail server, smtp://user:pass@host:port or smtps://… (SWITCHBOARD_SMTP_URL; empty: mail goes to the log)")
	mailFrom := fs.String("mail-from", env("SWITCHBOARD_MAIL_FROM", ""), "sender of mail, like \"Switchboard <support@example.com>\" (SWITCHBOARD_MAIL_FROM)")
	smsURL := fs.String("sms-url", env("SWITCHBOARD_SMS_URL", ""), "text message provider, twilio://SID:TOKEN@api.twilio.com?from=%2B1555… (SWITCHBOARD_SMS_URL; empty: texts go to the log)")
	metricsAddr := fs.String("metrics-addr", env("SWITCHBOARD_METRICS_ADDR", ""), "serve /metrics only on this address, like 127.0.0.1:9090 (SWITCHBOARD_METRICS_ADDR)")
	metricsToken := fs.String("metrics-token", env("SWITCHBOARD_METRICS_TOKEN", ""), "bearer token that /metrics requires (SWITCHBOARD_METRICS_TOKEN)")
	awayAfter := fs.String("away-after", env("SWITCHBOARD_AWAY_AFTER", DefaultAwayAfter.String()), "agents whose connections are all gone this long become Away (SWITCHBOARD_AWAY_AFTER)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := Config{Addr: *addr, DataDir: *dataDir, DatabaseURL: *dbURL, LogFormat: *logFormat, NATSURL: *natsURL, ShutdownTimeout: 8 * time.Second}

	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || port == "" {
		return c, fmt.Errorf("SWITCHBOARD_ADDR %q is not a listen address like :8080 or 127.0.0.1:8080", c.Addr)
	}
	if c.DataDir == "" {
		return c, errors.New("SWITCHBOARD_DATA_DIR must not be empty")
	}
	if c.DatabaseURL != "" && !c.Postgres() && strings.Contains(c.DatabaseURL, "://") && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		return c, fmt.Errorf("SWITCHBOARD_DATABASE_URL must be a postgres:// URL or a SQLite file path, not %q", redact(c.DatabaseURL))
	}
	if c.Postgres() {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			return c, fmt.Errorf("SWITCHBOARD_DATABASE_URL is not a valid URL: %v", redactErr(err))
		}
	}
	if *baseURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		*baseURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(strings.TrimSuffix(*baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("SWITCHBOARD_BASE_URL %q must be an absolute http:// or https:// URL", *baseURL)
	}
	c.BaseURL = u
	switch c.LogFormat {
	case "text", "json":
	default:
		return c, fmt.Errorf("SWITCHBOARD_LOG_FORMAT must be text or json, not %q", c.LogFormat)
	}
	if c.NATSURL != "" {
		if n, err := url.Parse(c.NATSURL); err != nil || (n.Scheme != "nats" && n.Scheme != "tls") {
			return c, fmt.Errorf("SWITCHBOARD_NATS_URL %q must be a nats:// URL", c.NATSURL)
		}
	}
	if *publicRate != "" {
		r, err := strconv.ParseFloat(*publicRate, 64)
		if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return c, fmt.Errorf("SWITCHBOARD_PUBLIC_RATE_LIMIT %q must be a number of requests per second, 0 for unlimited", *publicRate)
		}
		c.PublicRateLimit = r
		if r == 0 {
			c.PublicRateLimit = -1
		}
	}
	if c.TrustProxy, err = strconv.ParseBool(*trustProxy); err != nil {
		return c, fmt.Errorf("SWITCHBOARD_TRUST_PROXY %q must be true or false", *trustProxy)
	}
	g, err := url.Parse(strings.TrimSuffix(*graphURL, "/"))
	if err != nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" || g.RawQuery != "" || g.Fragment != "" {
		return c, fmt.Errorf("SWITCHBOARD_WHATSAPP_GRAPH_URL %q must be an absolute http:// or https:// URL like https://graph.facebook.com", *graphURL)
	}
	c.WhatsAppGraphURL = g
	if !graphVersion.MatchString(*graphVer) {
		return c, fmt.Errorf("SWITCHBOARD_WHATSAPP_API_VERSION %q must be a Graph API version like v23.0", *graphVer)
	}
	c.WhatsAppAPIVersion = *graphVer
	if err := loadPeople(&c, *smtpURL, *mailFrom, *smsURL, *awayAfter); err != nil {
		return c, err
	}
	if err := loadMetrics(&c, *metricsAddr, *metricsToken); err != nil {
		return c, err
	}
	if k := getenv("SWITCHBOARD_SECRET_KEY"); k != "" {
		if c.SecretKey, err = secret.ParseKey(k); err != nil {
			return c, fmt.Errorf("SWITCHBOARD_SECRET_KEY: %v", err)
		}
	}
	return c, nil
}

// loadPeople reads the settings of mail, texts and presence.
func loadPeople(c *Config, smtpURL, mailFrom, smsURL, awayAfter string) error {
	if smtpURL != "" {
		m, err := mail.ParseURL(smtpURL)
		if err != nil {
			return fmt.Errorf("SWITCHBOARD_SMTP_URL %q %v", redact(smtpURL), err)
		}
		c.SMTP = &m
	}
	if mailFrom == "" {
		mailFrom = "Switchboard <switchboard@" + c.BaseURL.Hostname() + ">"
	}
	from, err := mail.ParseFrom(mailFrom)
	if err != nil {
		return fmt.Errorf("SWITCHBOARD_MAIL_FROM %q %v", mailFrom, err)
	}
	c.MailFrom = from
	if smsURL != "" {
		t, err := sms.ParseURL(smsURL)
		if err != nil {
			return fmt.Errorf("SWITCHBOARD_SMS_URL %q %v", redact(smsURL), err)
		}
		c.SMS = &t
	}
	d, err := time.ParseDuration(awayAfter)
	if err != nil || d < 10*time.Second || d > 24*time.Hour {
		return fmt.Errorf("SWITCHBOARD_AWAY_AFTER %q must be a duration from 10s to 24h, like 5m", awayAfter)
	}
	c.AwayAfter = d
	return nil
}

// metricsToken is a bearer token's syntax (RFC 6750's b64token).
var metricsToken = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

// loadMetrics reads where /metrics is served and the token it needs.
func loadMetrics(c *Config, addr, token string) error {
	if addr != "" {
		host, port, err := net.SplitHostPort(addr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("SWITCHBOARD_METRICS_ADDR %q is not a listen address like 127.0.0.1:9090", addr)
		}
		mainHost, mainPort, _ := net.SplitHostPort(c.Addr)
		anyHost := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
		if port == mainPort && (host == mainHost || anyHost(host) || anyHost(mainHost)) {
			return fmt.Errorf("SWITCHBOARD_METRICS_ADDR %q overlaps SWITCHBOARD_ADDR %q: choose another port", addr, c.Addr)
		}
		c.MetricsAddr = addr
	}
	if token != "" {
		if len(token) < 16 || len(token) > 256 || !metricsToken.MatchString(token) {
			return errors.New("SWITCHBOARD_METRICS_TOKEN must be 16 to 256 characters: letters, digits and - . _ ~ + / (openssl rand -hex 32 makes one)")
		}
		c.MetricsToken = token
	}
	return nil
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "parse error"
}
