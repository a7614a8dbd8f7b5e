// Package db opens Switchboard's database (SQLite by default, PostgreSQL when
// scaled out), runs its migrations and gives the feature packages a small,
// explicit way to read and to write in transactions.
//
// Feature packages own their SQL and write it in the dialect both engines
// share: $1 placeholders, RETURNING, ON CONFLICT. Where the engines differ the
// difference is isolated in a named method of Dialect.
//
// # Writes
//
// DB.Write runs a function in a transaction. Concurrent calls are committed
// together (group commit): a writer goroutine runs the functions waiting at
// that moment one after the other in one transaction, each in a savepoint,
// and commits once. Three rules follow. The function runs on the writer's
// goroutine, so it must be quick and must run its statements through the
// *Tx it is given: DB.Write and DB.Exec called from inside it panic (the
// writer would wait for itself). It may run more than once: a write that
// fails with ErrRetryable (a deadlock, a serialization failure, SQLite
// busy) is run again by Retry, so its effects must stay in the transaction.
// And it shares its transaction's locks with the other calls of the batch,
// which is what the next section is about.
//
// # Hot rows
//
// A batch holds the row locks of all its calls until it commits. Two calls
// that lock the same two rows in opposite orders deadlock whether or not
// they are batched; batching adds deadlocks between calls that do not: on
// PostgreSQL, with four writers, one batch may hold row A (its first call)
// and wait for row B (its second call) while the batch beside it holds B
// and waits for A. PostgreSQL breaks the cycle after its deadlock_timeout
// (a second), during which every write behind those rows waits, and Write
// runs the victim again (TestCrossingBatches). For a row that only a few
// writes touch this is rare and the retry is the answer. For a row that
// most concurrent writes update — a hot row, like a WhatsApp number's send
// pacing — it happens under load all the time.
//
// Hot rows are written with DB.WriteAlone (from inside a write,
// Tx.Alone): on PostgreSQL the function runs in a transaction of its own,
// not in a batch, so the hot row's lock lasts only as long as that short
// transaction and never crosses a batch's other locks. What it writes is
// committed on its own: keep such a function to the hot row (reserve a
// slot, bump a counter), and let the rest of the work cope with that
// staying when the write around it fails (a reserved slot goes unused).
// On SQLite, with its single writer,
// nothing can cross, and WriteAlone is Write (Tx.Alone runs in tx).
// The event sequence row is hot too; the event log takes it once per
// batch, after every call's work, just before the commit (Tx.BeforeCommit),
// so it is never held while a batch waits for another.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the feature packages test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrRetryable marks a transaction the database gave up on through
	// no fault of its own: a deadlock (PostgreSQL 40P01), a serialization
	// failure (40001), or SQLite still busy after its busy timeout
	// (another process holding the write lock). Running the transaction
	// again can succeed; Write and WriteAlone do so (see Retry).
	ErrRetryable = errors.New("retryable")
)

// Dialect names the database engine.
type Dialect string

// The two engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database: a pool for reads and, on SQLite, a single
// connection for writes (SQLite allows one writer; serialising writers in Go
// is cheaper than letting them spin on the busy timeout).
type DB struct {
	dialect Dialect

	read  *sql.DB
	write *sql.DB

	// group commits concurrent writes together.
	group *groupWriter
	// ckpt runs SQLite checkpoints beside the writer (nil on PostgreSQL).
	ckpt *checkpointer
	// reads keeps the read pool's prepared statements (SQLite only).
	reads *stmtCache
	// path is the SQLite file.
	path string

	// statements counts every statement run through this DB, for the
	// statements-per-message figure in /metrics.
	statements atomic.Int64
}

// Open opens the database named by url: a postgres:// or postgresql:// URL
// selects PostgreSQL, anything else is taken as a SQLite file path (an empty
// url means dataDir/switchboard.db).
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return openPostgres(ctx, url)
	}
	path := strings.TrimPrefix(url, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if path == "" {
		path = filepath.Join(dataDir, "switchboard.db")
	}
	return openSQLite(ctx, path)
}

// sqliteDSN sets the pragmas every connection needs: WAL so readers never
// block the writer, a busy timeout instead of SQLITE_BUSY, foreign keys on,
// immediate transactions so a writer takes its lock up front, and a time
// format SQLite can parse and sort. Temporary storage (the group writer's
// savepoint journals, sorts) stays in memory instead of temporary files.
//
// synchronous=FULL syncs the WAL at every commit, so what the server has
// acknowledged survives a power loss too. With group commit that is one
// fsync per batch of writes: no measurable cost at 1,000 messages/s or
// flat out (docs/benchmarks.md).
func sqliteDSN(path string, readOnly bool) string {
	v := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "temp_store(MEMORY)"} {
		v.Add("_pragma", p)
	}
	v.Set("_time_format", "sqlite")
	if readOnly {
		v.Add("_pragma", "query_only(1)")
	} else {
		v.Set("_txlock", "immediate")
		v.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
	}
	return "file:" + path + "?" + v.Encode()
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create directory: %w", err)
		}
	}
	write, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	// The group writer keeps one connection; a second one serves the
	// checkpointer and Backup.
	write.SetMaxOpenConns(2)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	read.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{dialect: SQLite, read: read, write: write, reads: newStmtCache(), path: path}
	d.group = newGroupWriter(d, 1)
	d.ckpt = newCheckpointer(d)
	return d, nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("db: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(20)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.PingContext(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: connect to postgres: %w", err)
	}
	d := &DB{dialect: Postgres, read: pool, write: pool}
	d.group = newGroupWriter(d, postgresWriters)
	return d, nil
}

// postgresWriters is how many group-commit workers (and connections) write
// on PostgreSQL. Batches side by side hold the row locks of all their calls
// until their commits, so rows that every writer updates (a number's send
// pacing) are written with WriteAlone, not in batches.
const postgresWriters = 4

// Close stops the writer and closes both pools.
func (db *DB) Close() error {
	if db.ckpt != nil {
		db.ckpt.stop()
	}
	if db.group != nil {
		db.group.close()
	}
	if db.reads != nil {
		db.reads.close()
	}
	err := db.read.Close()
	if db.write != db.read {
		err = errors.Join(err, db.write.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Statements reports how many statements have run through db.
func (db *DB) Statements() int64 { return db.statements.Load() }

// Stats reports the read pool's statistics (on PostgreSQL the only pool).
func (db *DB) Stats() sql.DBStats { return db.read.Stats() }

// Querier runs statements: the DB itself (reads outside a transaction) or a
// Tx. Feature packages take a Querier where either will do.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

// Exec runs a statement outside a transaction (on SQLite through the
// writer, in a transaction of its own or committed with others). It
// panics when called from inside the function of a Write (see Write).
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	db.mustNotBeInWrite("Exec")
	if db.dialect == Postgres {
		db.statements.Add(1)
		return db.write.ExecContext(ctx, query, args...)
	}
	var res sql.Result
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		res, err = tx.Exec(ctx, query, args...)
		return err
	})
	return res, err
}

// Query runs a read-only query.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	db.statements.Add(1)
	if db.reads != nil {
		if s := db.reads.get(ctx, query, db.read.PrepareContext); s != nil {
			return s.QueryContext(ctx, args...)
		}
	}
	return db.read.QueryContext(ctx, query, args...)
}

// QueryRow runs a read-only query that returns at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	db.statements.Add(1)
	if db.reads != nil {
		if s := db.reads.get(ctx, query, db.read.PrepareContext); s != nil {
			return s.QueryRowContext(ctx, args...)
		}
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// Dialect reports the engine; it lets code that takes a Querier pick the
// right form of a statement whose syntax differs.
func (db *DB) Dialect() Dialect { return db.dialect }

// LinesAgg is the aggregate that joins the values of expr, ordered by
// orderBy, with a newline between them (string_agg on PostgreSQL,
// group_concat on SQLite); NULL when there are none.
func (d Dialect) LinesAgg(expr, orderBy string) string {
	if d == Postgres {
		return "string_agg(" + expr + ", chr(10) ORDER BY " + orderBy + ")"
	}
	return "group_concat(" + expr + ", char(10) ORDER BY " + orderBy + ")"
}

// Tx is a write transaction. Functions that must run inside one take a *Tx
// explicitly; it is never hidden in a context.
type Tx struct {
	ex           execer
	db           *DB
	onCommit     []func()
	beforeCommit []func() error
	batch        *Batch
	// shared is set when the transaction is committed together with other
	// callers' work. A cancelled caller's statements are then refused
	// before they start, but a statement that has started is never
	// interrupted: SQLite may answer an interrupted write by rolling back
	// the whole transaction, and pgx by closing the connection, and either
	// would take other callers' work with it.
	shared bool
}

// execer is what runs a transaction's statements: a *sql.Tx, or the
// group writer's connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.db.statements.Add(1)
	if tx.shared {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ctx = context.WithoutCancel(ctx)
	}
	return tx.ex.ExecContext(ctx, query, args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.db.statements.Add(1)
	if tx.shared {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ctx = context.WithoutCancel(ctx)
	}
	return tx.ex.QueryContext(ctx, query, args...)
}

// QueryRow runs a query that returns at most one row in the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.db.statements.Add(1)
	if tx.shared {
		if ctx.Err() != nil {
			// database/sql's pool checks the context before taking a
			// connection: the Row carries the context's error.
			return tx.db.read.QueryRowContext(ctx, query, args...)
		}
		ctx = context.WithoutCancel(ctx)
	}
	return tx.ex.QueryRowContext(ctx, query, args...)
}

// Dialect reports the engine.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// OnCommit registers f to run after the transaction has committed (and only
// then): publishing events, waking workers.
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

// Batch is what the calls committed in one transaction share, for work
// that is cheaper done once for all of them (the event log numbers all
// their events in one statement). It lives as long as the transaction.
type Batch struct {
	values map[any]any // only the worker goroutine touches it
}

// Value returns what was stored under key, or nil.
func (b *Batch) Value(key any) any { return b.values[key] }

// SetValue stores v under key.
func (b *Batch) SetValue(key, v any) {
	if b.values == nil {
		b.values = map[any]any{}
	}
	b.values[key] = v
}

// Batch returns what the calls committed with this one share.
func (tx *Tx) Batch() *Batch { return tx.batch }

// BeforeCommit registers f to run in the transaction after the function
// given to Write has returned nil, just before the commit (after the work
// of the other calls committed with it). Its error fails the commit.
func (tx *Tx) BeforeCommit(f func() error) { tx.beforeCommit = append(tx.beforeCommit, f) }

// Write runs fn in a transaction and commits it when fn returns nil; when
// fn returns an error nothing it did persists. Functions registered with
// OnCommit run after the commit, in the caller's goroutine, and only if it
// succeeded. Errors are mapped with MapErr.
//
// Concurrent calls are committed together (group commit, see groupWriter):
// each fn runs inside a SAVEPOINT of a shared transaction (IMMEDIATE on
// SQLite, READ COMMITTED on PostgreSQL), so an error undoes only that fn's
// work, and Write returns once the COMMIT that includes it has succeeded.
// fn runs on the writer's goroutine and must therefore be quick, and run
// its statements through tx: DB.Write (or WriteAlone on SQLite) and
// DB.Exec called from inside fn panic, since the writer would wait for
// itself.
//
// A write the database gave up on through no fault of its own
// (ErrRetryable: on PostgreSQL a deadlock or a serialization failure,
// possible between batches of unrelated writes and between nodes) is run
// again, in a later batch, as Retry does. fn must therefore keep its
// effects to the transaction (and to variables it sets afresh).
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	db.mustNotBeInWrite("Write")
	return Retry(ctx, func() error { return db.group.write(ctx, fn) })
}

// WriteAlone is Write for a short transaction on rows that many writers
// update (a number's send pacing): on PostgreSQL fn runs in a transaction
// of its own rather than in a batch, so its row locks last only as long as
// that transaction and cannot cross the locks of a batch's other calls; on
// SQLite, whose single writer cannot cross itself, it is Write.
func (db *DB) WriteAlone(ctx context.Context, fn func(tx *Tx) error) error {
	if db.dialect != Postgres {
		return db.Write(ctx, fn)
	}
	return Retry(ctx, func() error { return db.alone(ctx, fn) })
}

// Alone runs fn like DB.WriteAlone from inside a transaction: on
// PostgreSQL in a transaction of its own (committed even if tx is not), on
// SQLite in tx.
func (tx *Tx) Alone(ctx context.Context, fn func(tx *Tx) error) error {
	if tx.db.dialect != Postgres {
		return fn(tx)
	}
	return tx.db.WriteAlone(ctx, fn)
}

func (db *DB) alone(ctx context.Context, fn func(*Tx) error) error {
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return MapErr(err)
	}
	tx := &Tx{ex: stx, db: db, batch: &Batch{}}
	db.statements.Add(1)
	if err := fn(tx); err != nil {
		stx.Rollback()
		return MapErr(err)
	}
	for _, f := range tx.beforeCommit {
		if err := f(); err != nil {
			stx.Rollback()
			return MapErr(err)
		}
	}
	if err := stx.Commit(); err != nil {
		return MapErr(err)
	}
	db.statements.Add(1)
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

// MapErr maps driver errors to ErrNotFound, ErrConflict and ErrRetryable,
// keeping the original error in the chain.
func MapErr(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrRetryable) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var serr *sqlite.Error
	if errors.As(err, &serr) {
		switch code := serr.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case code&0xff == sqlite3.SQLITE_BUSY:
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		}
	}
	var perr *pgconn.PgError
	if errors.As(err, &perr) {
		switch perr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "40P01", "40001": // deadlock_detected, serialization_failure
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		}
	}
	return err
}

// Now is the current time as the database stores it: UTC, to the
// microsecond (PostgreSQL's precision), so that a value read back compares
// equal to the value written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Time normalises t the way Now does.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// IDList renders ids as the items of an IN list: "3,5,8". They are
// numbers, so the text is safe to put in a query.
func IDList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// IDs runs query, whose rows are one integer column, and returns its
// values in order (an empty slice for none).
func IDs(ctx context.Context, q Querier, query string, args ...any) ([]int64, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
