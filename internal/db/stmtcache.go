package db

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite compiles a statement on every call unless it is prepared once
// and kept: parsing and planning were a quarter of the server's CPU time
// when taking in messages. PostgreSQL needs none of this (pgx keeps
// prepared statements per connection itself).
//
// A statement is kept from its second use on, so that statements built
// with values in their text (IN lists of ids) do not fill the cache; the
// cache stops growing at maxStmts.
const (
	maxStmts = 256
	maxSeen  = 4096
)

// stmtCache keeps prepared statements of one *sql.DB (the read pool) or
// one *sql.Conn (the writer's).
type stmtCache struct {
	mu    sync.Mutex // guards stmts and seen
	stmts map[string]*sql.Stmt
	seen  map[string]bool
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, seen: map[string]bool{}}
}

// get returns the prepared statement for query, preparing it with
// prepare when it is used for the second time; nil means run it
// unprepared.
func (c *stmtCache) get(ctx context.Context, query string, prepare func(context.Context, string) (*sql.Stmt, error)) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	if len(c.stmts) >= maxStmts {
		return nil
	}
	if !c.seen[query] {
		if len(c.seen) >= maxSeen {
			clear(c.seen)
		}
		c.seen[query] = true
		return nil
	}
	s, err := prepare(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	delete(c.seen, query)
	c.stmts[query] = s
	return s
}

// close closes every statement and forgets them.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		s.Close()
	}
	clear(c.stmts)
	clear(c.seen)
}

// cachedConn runs statements on a group writer's connection, through its
// cache when it has one (SQLite).
type cachedConn struct {
	conn  *sql.Conn
	cache *stmtCache
}

func (c *cachedConn) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.cache == nil {
		return nil
	}
	return c.cache.get(ctx, query, c.conn.PrepareContext)
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := c.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return c.conn.ExecContext(ctx, query, args...)
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := c.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return c.conn.QueryContext(ctx, query, args...)
}

func (c *cachedConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := c.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return c.conn.QueryRowContext(ctx, query, args...)
}
