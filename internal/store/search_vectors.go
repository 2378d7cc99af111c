package store

import (
	"context"
	"math"
	"sync"
)

// vectorCache mirrors a vector column in memory for the exact scan (on
// SQLite, and on PostgreSQL when pgvector is not installed), so that a query compares vectors in Go without reading
// every row from the database. Both engines then find the same nearest
// vectors in the same order, and a query embedding of a few words (a
// handful of non-zero dimensions) costs a few multiplications per vector
// rather than a 512-dimension distance. Rows are only ever added or
// deleted, never changed: a refresh loads the rows above the highest id it
// has, and reloads everything when the row count says some were deleted.
// Each process keeps its own copy.
type vectorCache struct {
	query string // SELECT id, vector … WHERE id > $1 ORDER BY id (vectors in search.EncodeVector's form)
	count string // SELECT COUNT(*), COALESCE(MAX(id), 0)

	mu   sync.Mutex
	snap *vectorSnapshot
}

// vectorSnapshot is an immutable set of vectors; a refresh makes a new one.
type vectorSnapshot struct {
	ids   []int64
	vecs  [][]float32
	norms []float64 // each vector's sum of squares, as search.Cosine adds it
	maxID int64
}

// searchVectorCaches are the mirrored columns.
type searchVectorCaches struct {
	sections vectorCache
	fileSets vectorCache // the combined embeddings of versions' file sets
}

func newSearchVectorCaches() *searchVectorCaches {
	return &searchVectorCaches{
		sections: vectorCache{
			query: `SELECT id, embedding FROM search_vectors WHERE id > $1 ORDER BY id`,
			count: `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM search_vectors`,
		},
		fileSets: vectorCache{
			query: `SELECT id, embedding FROM search_filesets WHERE id > $1 ORDER BY id`,
			count: `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM search_filesets`,
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
		next.norms = append([]float64(nil), s.norms...)
		next.maxID = s.maxID
	}
	keep := func(id int64, v []float32) {
		next.ids = append(next.ids, id)
		next.vecs = append(next.vecs, v)
		next.norms = append(next.norms, sumSquares(v))
		next.maxID = max(next.maxID, id)
	}
	load := func(from int64) error { return db.eachEmbedding(ctx, keep, c.query, from) }
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

// sumSquares is the sum of v's squares in float64, added in the order
// search.Cosine adds them (so a cosine from it is the same to the bit).
func sumSquares(v []float32) float64 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	return n
}

// cosines returns the cosine similarity of vec to every vector of the
// snapshot, equal to the bit to search.Cosine: the sums skip vec's zero
// dimensions, which add nothing to them (a query of a few words has only a
// handful of non-zero dimensions).
func (s *vectorSnapshot) cosines(vec []float32) []float64 {
	var nz []int
	na := 0.0
	for i, x := range vec {
		if x != 0 {
			nz = append(nz, i)
		}
		na += float64(x) * float64(x)
	}
	out := make([]float64, len(s.vecs))
	for j, v := range s.vecs {
		if len(v) != len(vec) || len(v) == 0 || na == 0 || s.norms[j] == 0 {
			continue
		}
		var dot float64
		for _, i := range nz {
			dot += float64(vec[i]) * float64(v[i])
		}
		out[j] = dot / math.Sqrt(na*s.norms[j])
	}
	return out
}
