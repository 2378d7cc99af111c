package store

import (
	"context"
	"database/sql"
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

// queryRowR runs a fixed-text query on the read pool as a prepared
// statement. Only constant query text may come here (the cache is keyed by
// it and never shrinks).
func (db *DB) queryRowR(ctx context.Context, query string, args ...any) *sql.Row {
	db.stmts.mu.Lock()
	st, ok := db.stmts.m[query]
	if !ok {
		var err error
		if st, err = db.R.PrepareContext(ctx, query); err != nil {
			db.stmts.mu.Unlock()
			// The plain query reports the same error through Scan.
			return db.R.QueryRowContext(ctx, query, args...)
		}
		if db.stmts.m == nil {
			db.stmts.m = map[string]*sql.Stmt{}
		}
		db.stmts.m[query] = st
	}
	db.stmts.mu.Unlock()
	return st.QueryRowContext(ctx, args...)
}

func (s *readStmts) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.Close()
	}
	s.m = nil
}
