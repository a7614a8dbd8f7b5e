package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboardhq/switchboard/internal/config"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/server"
	"github.com/switchboardhq/switchboard/internal/text"
	"github.com/switchboardhq/switchboard/internal/user"
)

const usage = `Usage: switchboard [command] [flags]

Commands:
  serve                 run the server (the default)
  migrate               apply database migrations and exit
  user create --email E --name N --role R --password-stdin
                        create a user (roles: admin, inbox_manager, service, sales)
  backup FILE           write a consistent copy of the SQLite database to FILE
  demo [-addr A] [-data-dir D] [-fresh]
                        run with a simulated WhatsApp number and a customer phone
                        at /simulator (SQLite in ./data-demo)
  version               print the version

Configuration comes from SWITCHBOARD_* environment variables; run
"switchboard serve -h" for the flags that override them.
`

// run is the whole program: it parses args, does the work and returns.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "user":
		if len(args) == 0 || args[0] != "create" {
			return errors.New(`usage: switchboard user create --email E --name N --role R --password-stdin`)
		}
		return createUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "backup":
		return backup(ctx, args, getenv, stdout, stderr)
	case "demo":
		return demo(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "switchboard", server.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, stderr)
	app, err := server.Open(ctx, cfg, logger, server.Options{})
	if err != nil {
		return err
	}
	defer app.Close()
	ls, err := app.Listen()
	if err != nil {
		return err
	}
	engine := "SQLite at " + filepath.Join(cfg.DataDir, "switchboard.db")
	if cfg.Postgres() {
		engine = "PostgreSQL"
	} else if cfg.DatabaseURL != "" {
		engine = "SQLite at " + cfg.DatabaseURL
	}
	logger.Info("switchboard listening", "addr", ls.HTTP.Addr().String(), "url", cfg.BaseURL.String(), "database", engine, "version", server.Version)
	if ls.Metrics != nil {
		logger.Info("metrics listening", "addr", ls.Metrics.Addr().String())
	}
	if n, err := app.Users.Count(ctx); err == nil && n == 0 {
		fmt.Fprintf(stdout, "\nNo users yet: open %s/setup to create the first administrator.\n\n", cfg.BaseURL)
	}
	return app.Run(ctx, ls)
}

// openDB opens the configured database without starting anything.
func openDB(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) (*db.DB, config.Config, error) {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return nil, cfg, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, cfg, err
	}
	d, err := db.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	return d, cfg, err
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	d, _, err := openDB(ctx, args, getenv, stderr)
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s); schema at version %d\n", n, d.LatestVersion())
	return nil
}

func createUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("switchboard user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "name")
	role := fs.String("role", "admin", "admin, inbox_manager, service or sales")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	dataDir := fs.String("data-dir", "", "data directory (SWITCHBOARD_DATA_DIR)")
	dbURL := fs.String("database-url", "", "database (SWITCHBOARD_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*pwStdin {
		return errors.New("pass the password on standard input with --password-stdin (so it stays out of shell history)")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	// The rule every sign-in applies: a password it refuses could never be used.
	for _, f := range [][2]string{{"email", *email}, {"name", *name}, {"password", password}} {
		if err := text.Check(f[0], f[1]); err != nil {
			return err
		}
	}
	var cfgArgs []string
	if *dataDir != "" {
		cfgArgs = append(cfgArgs, "-data-dir", *dataDir)
	}
	if *dbURL != "" {
		cfgArgs = append(cfgArgs, "-database-url", *dbURL)
	}
	d, cfg, err := openDB(ctx, cfgArgs, getenv, stderr)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	app, err := server.Assemble(cfg, d, newLogger(cfg.LogFormat, stderr), server.Options{})
	if err != nil {
		return err
	}
	defer app.Close()
	u, err := app.Users.Create(ctx, user.NewUser{Email: *email, Name: *name, Role: policy.Role(*role), Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Email, u.ID)
	return nil
}

func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var file string
	var rest []string
	for _, a := range args {
		if file == "" && !strings.HasPrefix(a, "-") {
			file = a
			continue
		}
		rest = append(rest, a)
	}
	if file == "" {
		return errors.New("usage: switchboard backup FILE")
	}
	d, _, err := openDB(ctx, rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Backup(ctx, file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", file)
	return nil
}
