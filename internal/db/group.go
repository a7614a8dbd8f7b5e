package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// groupWriter is SQLite's single writer, committing concurrent writes
// together. Write calls hand their function to it over an unbuffered
// channel; whenever it is free it takes every call waiting at that moment
// (up to maxBatch), runs them one after the other in one IMMEDIATE
// transaction, each inside a SAVEPOINT so that an error (or a panic) rolls
// back that caller's work only, then commits once and wakes them all.
//
// One transaction per batch instead of one per call removes most BEGIN and
// COMMIT work, and a page changed by many calls is written to the WAL once
// per batch instead of once per call. Under light load a batch holds a
// single call and runs exactly as a plain transaction (no savepoint).
type groupWriter struct {
	db   *DB
	reqs chan *writeReq
	quit chan struct{}
	done chan struct{}
	once sync.Once

	// conn is the writer's connection, kept with its prepared statements
	// for as long as it works; only the writer goroutine touches it.
	conn *cachedConn
}

// maxBatch bounds how many calls share a transaction (and so how long the
// first of them waits for the commit).
const maxBatch = 128

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

var reqPool = sync.Pool{New: func() any { return &writeReq{done: make(chan struct{}, 1)} }}

func newGroupWriter(d *DB) *groupWriter {
	g := &groupWriter{db: d, reqs: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// write runs fn through the writer and waits for the commit that includes
// it; then it runs fn's OnCommit functions.
func (g *groupWriter) write(ctx context.Context, fn func(*Tx) error) error {
	r := reqPool.Get().(*writeReq)
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
	reqPool.Put(r)
}

// close stops the writer once the batch in hand is committed.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

func (g *groupWriter) run() {
	defer close(g.done)
	defer g.dropConn()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		case <-g.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		g.commit(batch)
		for _, r := range batch {
			r.done <- struct{}{}
		}
		clear(batch)
	}
}

// commit runs a batch in one transaction and sets each call's outcome.
func (g *groupWriter) commit(batch []*writeReq) {
	ctx := context.Background()
	d := g.db
	// fail gives err to every call that has no error of its own yet.
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	if g.conn == nil {
		conn, err := d.write.Conn(ctx)
		if err != nil {
			fail(fmt.Errorf("db: begin: %w", MapErr(err)))
			return
		}
		g.conn = &cachedConn{conn: conn, cache: newStmtCache()}
	}
	conn := g.conn
	exec := func(q string) error {
		d.statements.Add(1)
		_, err := conn.ExecContext(ctx, q)
		return err
	}
	// abort ends a transaction that cannot go on; if even ROLLBACK fails
	// the connection is thrown away so the next batch starts clean.
	abort := func() {
		if exec("ROLLBACK") != nil {
			conn.conn.Raw(func(any) error { return driver.ErrBadConn })
			g.dropConn()
		}
	}
	if err := exec("BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("db: begin: %w", MapErr(err)))
		abort()
		return
	}
	savepoints := len(batch) > 1
	live := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		r.tx = &Tx{ex: conn, db: d, shared: true}
		if savepoints {
			if err := exec("SAVEPOINT w"); err != nil {
				fail(fmt.Errorf("db: savepoint: %w", MapErr(err)))
				abort()
				return
			}
		}
		err := call(r)
		if err == nil {
			if savepoints {
				if err := exec("RELEASE w"); err != nil {
					fail(fmt.Errorf("db: release savepoint: %w", MapErr(err)))
					abort()
					return
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
			abort()
			return
		}
		// Undo this call's work only. If that fails, SQLite has already
		// rolled the whole transaction back (an I/O error, a full disk):
		// the calls before this one lost their work too.
		if err := exec("ROLLBACK TO w"); err != nil {
			fail(fmt.Errorf("db: transaction aborted by another write in the same commit: %w", MapErr(err)))
			abort()
			return
		}
		if err := exec("RELEASE w"); err != nil {
			fail(fmt.Errorf("db: release savepoint: %w", MapErr(err)))
			abort()
			return
		}
	}
	if live == 0 {
		abort()
		return
	}
	if err := exec("COMMIT"); err != nil {
		fail(fmt.Errorf("db: commit: %w", MapErr(err)))
		abort()
	}
}

// dropConn closes the writer's statements and gives its connection back.
func (g *groupWriter) dropConn() {
	if g.conn != nil {
		g.conn.cache.close()
		g.conn.conn.Close()
		g.conn = nil
	}
}

// call runs a call's function, turning a panic into errPanicked.
func call(r *writeReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked = p
			err = errPanicked
		}
	}()
	return r.fn(r.tx)
}

// compile-time check that both ways of running statements fit Tx.
var (
	_ execer = (*sql.Tx)(nil)
	_ execer = (*cachedConn)(nil)
)
