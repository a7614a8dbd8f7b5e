package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
)

// groupWriter commits concurrent writes together. Write calls hand their
// function to it over an unbuffered channel; a worker that is free takes
// every call waiting at that moment (up to its batch limit), runs them one
// after the other in one transaction, each inside a SAVEPOINT so that an
// error (or a panic) rolls back that caller's work only, then runs the
// calls' BeforeCommit functions, commits once and wakes them all.
//
// On SQLite there is one worker, the single writer: one transaction per
// batch instead of one per call removes most BEGIN and COMMIT work, and a
// page changed by many calls is written to the WAL once per batch. On
// PostgreSQL a few workers run batches side by side; what they save is the
// event sequence row (see event.Log), which each transaction holds from
// taking the sequence to the end of its commit: once per batch instead of
// once per message. Under light load a batch holds a single call and runs
// as a plain transaction (no savepoint).
type groupWriter struct {
	db       *DB
	reqs     chan *writeReq
	quit     chan struct{}
	workers  sync.WaitGroup
	once     sync.Once
	maxBatch int
	// inCall counts the workers running a call's function, so that
	// mustNotBeInWrite looks at the stack only when one might be.
	inCall atomic.Int32
	// reqPool keeps the writeReqs of finished calls, for reuse (per writer, not
	// per process: a synctest bubble's channels stay in the bubble).
	reqPool sync.Pool
}

// Batch limits: how many calls share a transaction (and so how long the
// first of them waits for the commit). PostgreSQL keeps the first 64
// subtransactions of a transaction in memory; beyond that every snapshot
// gets slower, so its batches stay below.
const (
	maxBatchSQLite   = 128
	maxBatchPostgres = 32
)

// worker is one of the group writer's goroutines with its connection,
// kept with its prepared statements for as long as it works.
type worker struct {
	g    *groupWriter
	conn *cachedConn
}

// writeReq is one Write call waiting for the writer.
type writeReq struct {
	ctx      context.Context
	fn       func(*Tx) error
	tx       *Tx
	err      error
	panicked any
	done     chan struct{}
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("db: closed")

// errPanicked marks a call whose function panicked; the caller re-panics.
var errPanicked = errors.New("db: write function panicked")

func newGroupWriter(d *DB, workers int) *groupWriter {
	g := &groupWriter{db: d, reqs: make(chan *writeReq), quit: make(chan struct{}), maxBatch: maxBatchSQLite}
	g.reqPool.New = func() any { return &writeReq{done: make(chan struct{}, 1)} }
	if d.dialect == Postgres {
		g.maxBatch = maxBatchPostgres
	}
	for range workers {
		g.workers.Add(1)
		go (&worker{g: g}).run()
	}
	return g
}

// write runs fn through the writer and waits for the commit that includes
// it; then it runs fn's OnCommit functions.
func (g *groupWriter) write(ctx context.Context, fn func(*Tx) error) error {
	r := g.reqPool.Get().(*writeReq)
	r.ctx, r.fn = ctx, fn
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		g.recycle(r)
		return ctx.Err()
	case <-g.quit:
		g.recycle(r)
		return errClosed
	}
	// Once handed over, the call's outcome is decided by the writer: wait
	// for it even if ctx ends (a started statement is not interrupted).
	<-r.done
	tx, err, p := r.tx, r.err, r.panicked
	g.recycle(r)
	if p != nil {
		panic(p)
	}
	if err != nil {
		return err
	}
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

func (g *groupWriter) recycle(r *writeReq) {
	*r = writeReq{done: r.done}
	g.reqPool.Put(r)
}

// close stops the workers once the batches in hand are committed.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.quit) })
	g.workers.Wait()
}

func (w *worker) run() {
	g := w.g
	defer g.workers.Done()
	defer w.dropConn()
	batch := make([]*writeReq, 0, g.maxBatch)
	for {
		select {
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		case <-g.quit:
			return
		}
	more:
		for len(batch) < g.maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.commit(batch)
		for _, r := range batch {
			r.done <- struct{}{}
		}
		clear(batch)
	}
}

// commit runs a batch in one transaction and sets each call's outcome.
// A batch of several calls is first run without savepoints: each costs
// two statements per call, and on SQLite a copy of every page a call
// changes first, for undoing a call that almost never fails. If one does
// fail, that transaction is rolled back and the batch runs again, each
// call in a savepoint, so that only the failed call loses its work (the
// functions may run more than once: see Writes in the package doc).
func (w *worker) commit(batch []*writeReq) {
	if !w.begin(batch) {
		return
	}
	if len(batch) > 1 {
		if w.attempt(batch, false) {
			return
		}
		for _, r := range batch {
			r.tx, r.err, r.panicked = nil, nil, nil
		}
		if !w.begin(batch) {
			return
		}
	}
	w.attempt(batch, len(batch) > 1)
}

// begin starts a transaction on the worker's connection (taking one when
// it has none); when it cannot, every call of the batch fails.
func (w *worker) begin(batch []*writeReq) bool {
	ctx := context.Background()
	d := w.g.db
	if w.conn == nil {
		conn, err := d.write.Conn(ctx)
		if err != nil {
			fail(batch, fmt.Errorf("db: begin: %w", MapErr(err)))
			return false
		}
		w.conn = &cachedConn{conn: conn}
		if d.dialect == SQLite {
			w.conn.cache = newStmtCache() // pgx keeps its own
		}
	}
	begin := "BEGIN IMMEDIATE"
	if d.dialect == Postgres {
		begin = "BEGIN"
	}
	if err := w.exec(begin); err != nil {
		fail(batch, fmt.Errorf("db: begin: %w", MapErr(err)))
		w.abort()
		return false
	}
	return true
}

// attempt runs the batch's calls in the transaction begin started, each
// in a savepoint when savepoints is set, and commits. Without savepoints
// a call that fails rolls the whole transaction back and attempt answers
// false, with the calls' outcomes unset, for the batch to run again.
func (w *worker) attempt(batch []*writeReq, savepoints bool) bool {
	shared := &Batch{}
	live := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		r.tx = &Tx{ex: w.conn, db: w.g.db, shared: true, batch: shared}
		if savepoints {
			if err := w.exec("SAVEPOINT w"); err != nil {
				fail(batch, fmt.Errorf("db: savepoint: %w", MapErr(err)))
				w.abort()
				return true
			}
		}
		w.g.inCall.Add(1)
		err := call(r)
		w.g.inCall.Add(-1)
		if err == nil {
			if savepoints {
				if err := w.exec("RELEASE w"); err != nil {
					fail(batch, fmt.Errorf("db: release savepoint: %w", MapErr(err)))
					w.abort()
					return true
				}
			}
			live++
			continue
		}
		if errors.Is(err, errPanicked) {
			r.err = err
		} else {
			r.err = MapErr(err)
		}
		if !savepoints {
			w.abort()
			return len(batch) == 1
		}
		// Undo this call's work only. If that fails, SQLite has already
		// rolled the whole transaction back (an I/O error, a full disk):
		// the calls before this one lost their work too.
		if err := w.exec("ROLLBACK TO w"); err != nil {
			fail(batch, fmt.Errorf("db: transaction aborted by another write in the same commit: %w", MapErr(err)))
			w.abort()
			return true
		}
		if err := w.exec("RELEASE w"); err != nil {
			fail(batch, fmt.Errorf("db: release savepoint: %w", MapErr(err)))
			w.abort()
			return true
		}
	}
	if live == 0 {
		w.abort()
		return true
	}
	// The calls' last steps, in order, after all their work: the event
	// log numbers its events here. A failure here fails the batch.
	for _, r := range batch {
		if r.err != nil || r.tx == nil {
			continue
		}
		for _, f := range r.tx.beforeCommit {
			if err := f(); err != nil {
				fail(batch, fmt.Errorf("db: before commit: %w", MapErr(err)))
				w.abort()
				return true
			}
		}
	}
	if err := w.exec("COMMIT"); err != nil {
		fail(batch, fmt.Errorf("db: commit: %w", MapErr(err)))
		w.abort()
	}
	return true
}

// fail gives err to every call of batch that has no error of its own yet.
func fail(batch []*writeReq, err error) {
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
	}
}

// exec runs one of the worker's own statements (BEGIN, COMMIT, savepoints).
func (w *worker) exec(q string) error {
	w.g.db.statements.Add(1)
	_, err := w.conn.ExecContext(context.Background(), q)
	return err
}

// abort ends a transaction that cannot go on; if even ROLLBACK fails the
// connection is thrown away so the next batch starts clean.
func (w *worker) abort() {
	if w.exec("ROLLBACK") != nil {
		w.conn.conn.Raw(func(any) error { return driver.ErrBadConn })
		w.dropConn()
	}
}

// dropConn closes the worker's statements and gives its connection back.
func (w *worker) dropConn() {
	if w.conn != nil {
		if w.conn.cache != nil {
			w.conn.cache.close()
		}
		w.conn.conn.Close()
		w.conn = nil
	}
}

// call runs a call's function, turning a panic into errPanicked. Its
// frame on a worker's stack is how mustNotBeInWrite recognises the
// function's goroutine: it must not be inlined.
//
//go:noinline
func call(r *writeReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked = p
			err = errPanicked
		}
	}()
	return r.fn(r.tx)
}

// mustNotBeInWrite panics when it is called, through the DB method named
// what, from inside the function of a Write: that function runs on a
// group writer's goroutine, which would wait for itself (on SQLite, and
// on PostgreSQL once every worker does it), or run the statement outside
// the transaction and wait for a row lock the transaction holds. Nothing
// in the context can tell (the function closes over its caller's context,
// which other goroutines may share), so the stack is looked at instead:
// only while some worker is running a function, and only for the frame of
// call. A function that hands a write to another goroutine and waits for
// it is not caught.
func (db *DB) mustNotBeInWrite(what string) {
	if db.group.inCall.Load() == 0 || !onCallStack() {
		return
	}
	panic("db: DB." + what + " called from inside the function of a Write, whose writer would wait for itself: " +
		"use the *db.Tx the function was given (Tx.Alone for a transaction of its own, see Hot rows in the package doc)")
}

// callEntry is where call's code starts; callSpan bounds its length, so
// that only return addresses near it are looked up.
var callEntry = runtime.FuncForPC(reflect.ValueOf(call).Pointer()).Entry()

const callSpan = 8 << 10

// onCallStack reports whether call is on the current goroutine's stack.
func onCallStack() bool {
	var pcs [64]uintptr
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs[:])
		for _, pc := range pcs[:n] {
			if pc > callEntry && pc <= callEntry+callSpan {
				if f := runtime.FuncForPC(pc - 1); f != nil && f.Entry() == callEntry {
					return true
				}
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}

// compile-time check that both ways of running statements fit Tx.
var (
	_ execer = (*sql.Tx)(nil)
	_ execer = (*cachedConn)(nil)
)
