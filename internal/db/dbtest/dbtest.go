// Package dbtest gives tests a fresh, migrated database on each engine, so
// that the same test code runs against SQLite and PostgreSQL.
//
// SQLite is always available. PostgreSQL comes from
// SWITCHBOARD_TEST_POSTGRES_URL when it is set; otherwise a throwaway cluster
// is started with the system's initdb and pg_ctl (as the "postgres" user
// when running as root) and stopped when the test binary exits. Without
// PostgreSQL the PostgreSQL half of each test is skipped with the reason,
// except under CI=true, where it fails.
//
// A package whose tests use PostgreSQL must call Main from its TestMain so
// that a cluster it started is stopped.
package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Main runs the tests and stops a PostgreSQL cluster started for them.
func Main(m *testing.M) {
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

// Engines runs fn once per engine, as the subtests "sqlite" and "postgres",
// each with its own fresh, migrated database.
func Engines(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// Engine is a fresh database of one engine, named "sqlite" or "postgres".
type Engine struct {
	Name string
	DB   *db.DB
}

// FuzzEngines returns the databases a fuzz target that touches storage
// runs its inputs against: both engines, so that the seed corpus (run as a
// test) finds on PostgreSQL what SQLite would let through. Without
// PostgreSQL the target runs on SQLite alone, with a log line (under
// CI=true it fails). With SWITCHBOARD_FUZZ_POSTGRES set it is PostgreSQL
// alone: coverage instrumentation makes the pure-Go SQLite engine too slow
// to explore, so fuzzing (-fuzz) is done there.
func FuzzEngines(f *testing.F) []Engine {
	f.Helper()
	if os.Getenv("SWITCHBOARD_FUZZ_POSTGRES") != "" {
		return []Engine{{"postgres", Postgres(f)}}
	}
	es := []Engine{{"sqlite", SQLite(f)}}
	if _, err := server(); err != nil {
		if os.Getenv("CI") == "true" {
			f.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		f.Logf("PostgreSQL not available, fuzzing SQLite only: %v", err)
		return es
	}
	return append(es, Engine{"postgres", Postgres(f)})
}

// SQLite opens a fresh, migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Postgres opens a fresh, migrated PostgreSQL database of its own.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	u := PostgresURL(t)
	d, err := db.Open(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// PostgresURL creates a fresh database (a copy of a migrated template) and
// returns its URL, skipping or failing the test when PostgreSQL cannot be had.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base, err := server()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		t.Skipf("PostgreSQL not available: %v", err)
	}
	name := fmt.Sprintf("sbtest_%d_%d", os.Getpid(), dbCounter.Add(1))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	tmpl, err := template(ctx, admin, base)
	if err != nil {
		t.Fatal(err)
	}
	createMu.Lock() // CREATE DATABASE … TEMPLATE wants the template to itself
	_, err = admin.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("dbtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

var (
	dbCounter atomic.Int64
	createMu  sync.Mutex

	serverOnce sync.Once
	serverURL  string
	serverErr  error
	cluster    *pgCluster

	templateOnce sync.Once
	templateName string
	templateErr  error
)

func server() (string, error) {
	serverOnce.Do(func() {
		if u := os.Getenv("SWITCHBOARD_TEST_POSTGRES_URL"); u != "" {
			serverURL = u
			return
		}
		cluster, serverErr = startCluster()
		if serverErr == nil {
			serverURL = cluster.url
		}
	})
	return serverURL, serverErr
}

// template migrates one database per test binary; each test copies it,
// which is much faster than migrating each time.
func template(ctx context.Context, admin *sql.DB, base string) (string, error) {
	templateOnce.Do(func() {
		templateName = fmt.Sprintf("sbtmpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+templateName); err != nil {
			templateErr = fmt.Errorf("create template database: %w", err)
			return
		}
		d, err := db.Open(ctx, withDatabase(base, templateName), "")
		if err != nil {
			templateErr = err
			return
		}
		_, templateErr = d.Migrate(ctx)
		d.Close()
	})
	return templateName, templateErr
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

type pgCluster struct {
	dir    string
	pgCtl  string
	url    string
	cred   *syscall.Credential
	stopMu sync.Mutex
}

func findPGBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", errors.New("initdb not found (install postgresql or set SWITCHBOARD_TEST_POSTGRES_URL)")
	}
	// The newest version sorts last for single-digit-free majors (13…17).
	return filepath.Dir(matches[len(matches)-1]), nil
}

func startCluster() (*pgCluster, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	c := &pgCluster{pgCtl: filepath.Join(bin, "pg_ctl")}
	dir, err := os.MkdirTemp("", "sbpg-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the cluster as "postgres".
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
	if out, err := c.run(c.pgCtl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *pgCluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// pg_ctl start leaves postgres running with our stdout open unless its
	// output goes to a file; -l takes care of the server, this of pg_ctl.
	return cmd.CombinedOutput()
}

func stopCluster() {
	if cluster == nil {
		return
	}
	cluster.stopMu.Lock()
	defer cluster.stopMu.Unlock()
	cluster.run(cluster.pgCtl, "-D", filepath.Join(cluster.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(cluster.dir)
	cluster = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
