package store

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// vectorCache mirrors a float4[] vector column of PostgreSQL in memory for
// the exact scan (the path used when pgvector is not installed), so that a
// query compares vectors in Go without reading every row from the server.
// Rows are only ever added or deleted, never changed: a refresh loads the
// rows above the highest id it has, and reloads everything when the row
// count says some were deleted. Each process keeps its own copy.
type vectorCache struct {
	query string // SELECT id, vector … WHERE id > $1 ORDER BY id
	count string // SELECT COUNT(*), COALESCE(MAX(id), 0)

	mu   sync.Mutex
	snap *vectorSnapshot
}

// vectorSnapshot is an immutable set of vectors; a refresh makes a new one.
type vectorSnapshot struct {
	ids   []int64
	vecs  [][]float32
	maxID int64
}

// searchVectorCaches are the mirrored columns.
type searchVectorCaches struct {
	sections vectorCache
	versions vectorCache
}

func newSearchVectorCaches() *searchVectorCaches {
	return &searchVectorCaches{
		sections: vectorCache{
			query: `SELECT id, embedding FROM search_vectors WHERE id > $1 ORDER BY id`,
			count: `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM search_vectors`,
		},
		versions: vectorCache{
			query: `SELECT id, embedding FROM search_versions WHERE id > $1 ORDER BY id`,
			count: `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM search_versions`,
		},
	}
}

// vectorCaches returns the DB's caches, made on first use.
func (db *DB) vectorCaches() *searchVectorCaches {
	db.search.mu.Lock()
	defer db.search.mu.Unlock()
	if db.search.caches == nil {
		db.search.caches = newSearchVectorCaches()
	}
	return db.search.caches
}

// current brings the cache up to date and returns its snapshot.
func (c *vectorCache) current(ctx context.Context, db *DB) (*vectorSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var count, maxID int64
	if err := db.R.QueryRowContext(ctx, c.count).Scan(&count, &maxID); err != nil {
		return nil, err
	}
	s := c.snap
	if s != nil && int64(len(s.ids)) == count && s.maxID == maxID {
		return s, nil
	}
	from := int64(0)
	next := &vectorSnapshot{}
	if s != nil && maxID >= s.maxID {
		// Keep what we have; rows deleted meanwhile make the count
		// disagree below, and then everything is read again.
		from = s.maxID
		next.ids = append([]int64(nil), s.ids...)
		next.vecs = append([][]float32(nil), s.vecs...)
		next.maxID = s.maxID
	}
	load := func(from int64) error {
		return db.withPgx(ctx, func(conn *pgx.Conn) error {
			rows, err := conn.Query(ctx, c.query, from)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var v []float32
				if err := rows.Scan(&id, &v); err != nil {
					return err
				}
				next.ids = append(next.ids, id)
				next.vecs = append(next.vecs, v)
				next.maxID = max(next.maxID, id)
			}
			return rows.Err()
		})
	}
	if err := load(from); err != nil {
		return nil, err
	}
	if int64(len(next.ids)) != count && from > 0 {
		next = &vectorSnapshot{}
		if err := load(0); err != nil {
			return nil, err
		}
	}
	c.snap = next
	return next, nil
}
