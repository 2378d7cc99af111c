package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readStmts holds the read pool's prepared statements for queries of fixed
// text that every request runs (the actor's token or session, a symbol's
// counter). SQLite parses and plans a query on every call otherwise, which
// was a tenth of a symbol lookup's CPU; database/sql prepares a statement
// once per connection and reuses it.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxPrepared bounds the read pool's statement cache: past it, queries run
// unprepared (a page size inlined in a query's text makes one statement per
// size a client asks for).
const maxPrepared = 256

// queryRowR runs a query on the read pool as a prepared statement. Only
// query text from a bounded set may come here (the cache is keyed by it,
// never shrinks, and stops growing at maxPrepared).
func (db *DB) queryRowR(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.prepared(ctx, query)
	if err != nil {
		// The plain query reports the same error through Scan.
		return db.R.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// prepared returns the read pool's statement for query, preparing it once.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if st, ok := db.stmts.m[query]; ok {
		return st, nil
	}
	if len(db.stmts.m) >= maxPrepared {
		return nil, errCacheFull
	}
	st, err := db.R.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts.m == nil {
		db.stmts.m = map[string]*sql.Stmt{}
	}
	db.stmts.m[query] = st
	return st, nil
}

var errCacheFull = errors.New("statement cache full")

func (s *readStmts) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.Close()
	}
	s.m = nil
}

// queryR is queryRowR for a query of many rows.
func (db *DB) queryR(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return db.R.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}
