package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// SQLite parses and plans a statement's text on every call made with
// QueryContext or ExecContext: for River's job fetch, run by every idle queue
// every poll interval on the writer connection, that parse was 80 % of an
// idle server's CPU, and a tenth of a loaded one's. cachingConnector gives
// each SQLite connection a bounded cache of prepared statements keyed by
// their text, so every caller (River, the store, migrations) reuses them
// without preparing anything itself. pgx keeps such a cache of its own.

// SQLite plans a query whose LIMIT is a bound parameter for the value bound,
// and plans it again (sqlite3Reprepare, as costly as a fresh prepare) on the
// first step after that value changes. River's job fetch is such a query,
// run by every queue's producer on the one writer connection with the
// queue's free worker slots as the LIMIT: with two queues of different
// sizes every poll planned it again (~6 % of a core on an idle server, 2 ms
// of the writer per fetch under load). Such a query is cached once per
// LIMIT value: a handful of small numbers.
var limitParam = regexp.MustCompile(`(?i)\bLIMIT\s+[?$]([0-9]+)`)

// limitOrdinals returns the ordinals of the parameters query binds a LIMIT
// to (LIMIT ?5, LIMIT $2), nil for most queries.
func limitOrdinals(query string) []int {
	if !strings.Contains(query, "LIMIT") && !strings.Contains(query, "limit") {
		return nil
	}
	var out []int
	for _, m := range limitParam.FindAllStringSubmatch(query, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// cacheKey is the key of query's statement: its text, and for a query with
// a bound LIMIT the values bound to it.
func (c *cachingConn) cacheKey(query string, args []driver.NamedValue) string {
	ords, ok := c.limits[query]
	if !ok {
		if len(c.limits) >= 4*stmtCacheSize {
			clear(c.limits) // texts that vary; recomputed when seen again
		}
		ords = limitOrdinals(query)
		c.limits[query] = ords
	}
	if len(ords) == 0 {
		return query
	}
	var b strings.Builder
	b.WriteString(query)
	for _, o := range ords {
		for _, a := range args {
			if a.Ordinal == o {
				fmt.Fprintf(&b, "\x00%v", a.Value)
			}
		}
	}
	return b.String()
}

// stmtCacheSize bounds each connection's cache. Queries whose text varies
// (an inlined list or page size) would otherwise grow it without end; the
// least recently used statement is closed to make room.
const stmtCacheSize = 256

// cachingConnector wraps a driver.Connector so each of its connections
// caches prepared statements.
type cachingConnector struct {
	driver.Connector
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := conn.(driver.ConnPrepareContext); !ok {
		return conn, nil
	}
	return &cachingConn{Conn: conn, byText: map[string]*list.Element{}, order: list.New(), limits: map[string][]int{}}, nil
}

// cachingConn is one connection and its statements. database/sql never uses
// a connection from two goroutines at once, but a transaction may open a
// second query while the rows of a first are still being read: a statement
// whose rows are open is busy, and such a query gets a statement of its own.
type cachingConn struct {
	driver.Conn
	byText map[string]*list.Element // of *cachedStmt, by cacheKey
	order  *list.List               // most recently used first
	limits map[string][]int         // limitOrdinals by query text
}

type cachedStmt struct {
	text string // its cacheKey
	stmt driver.Stmt
	busy bool // its rows are open
	gone bool // evicted while busy: close when the rows are
}

// statement returns the cached statement for query, preparing it on first
// use, or nil when the cached one is busy (the caller then runs the query
// unprepared).
func (c *cachingConn) statement(ctx context.Context, query string, args []driver.NamedValue) (*cachedStmt, error) {
	key := c.cacheKey(query, args)
	if e, ok := c.byText[key]; ok {
		c.order.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	// Only statements database/sql could run through the context interfaces
	// are kept; anything else is run the plain way.
	if _, ok := st.(driver.StmtQueryContext); !ok {
		st.Close()
		return nil, nil
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		st.Close()
		return nil, nil
	}
	cs := &cachedStmt{text: key, stmt: st}
	c.byText[key] = c.order.PushFront(cs)
	for c.order.Len() > stmtCacheSize {
		c.evict(c.order.Back())
	}
	return cs, nil
}

func (c *cachingConn) evict(e *list.Element) {
	cs := c.order.Remove(e).(*cachedStmt)
	delete(c.byText, cs.text)
	if cs.busy {
		cs.gone = true
		return
	}
	cs.stmt.Close()
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(cs) // prepared afresh next time, in case the failure left it in a bad state
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.statement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(cs)
	}
	return res, err
}

// forget drops cs from the cache.
func (c *cachingConn) forget(cs *cachedStmt) {
	if e, ok := c.byText[cs.text]; ok && e.Value == cs {
		c.evict(e)
	}
}

func (c *cachingConn) Close() error {
	for e := c.order.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.byText, c.order = nil, list.New()
	return c.Conn.Close()
}

// The rest of what the driver's connection offers, passed through:
// database/sql looks for these interfaces on the connection it is given.

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return nil, errors.New("store: the database driver cannot begin a transaction with options")
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows frees its statement for the next query when it is closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

// The column type interfaces database/sql's ColumnTypes looks for.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.stmt != nil {
		r.stmt.busy = false
		if r.stmt.gone {
			r.stmt.stmt.Close()
		}
		r.stmt = nil
	}
	return err
}
