package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite/vec" // sqlite-vec: migrations 00020 (creates vec0 tables) and 00085/00086 (move their vectors to blobs) need the module

	"github.com/veripost/veripost/internal/search"
)

// The search index (see internal/search and migration 00020):
//
//   - SQLite: FTS5 over each line's terms (unicode61 with '_' as a token
//     character, so SPINDLE_DIR is one term) and an FTS5 trigram table over
//     its text and output for substrings; vectors as int8-quantised
//     blobs (search.EncodeVector), compared by an exact cosine scan in memory.
//   - PostgreSQL: a GIN index over the tsvector of the same terms (built
//     from the term list, as the 'simple' configuration would, without the
//     parser splitting at '_'), a pg_trgm GIN index for substrings (when the
//     extension is available; otherwise substrings are found by a scan), and
//     vectors in pgvector HNSW indexes when pgvector is installed (beside the
//     same int8 bytea columns), else the bytea columns compared in Go.
//
// The store only finds candidates; internal/search decides what matches
// and ranks it, so both engines answer alike.

var (
	_ search.Index = (*DB)(nil)
	_ search.Store = (*DB)(nil)
)

// searchBackend is which index implementations this database uses,
// detected once.
type searchBackend struct {
	mu       sync.Mutex
	done     bool
	vectors  string              // "sqlite-blob", "pgvector" or "exact"
	trigrams string              // "fts5-trigram", "pg_trgm" or "scan"
	caches   *searchVectorCaches // the exact path's in-memory vectors
	gen      *searchGeneration   // what reads keep of the current index generation (search_cache.go)
	commit   string              // the commit generation gen was last found current in
	// latest: the files of every package's latest version as last read,
	// kept from one generation to the next (search_cache.go).
	latestMu sync.Mutex
	latest   map[string]latestPackage
}

// latestPackages returns the packages' files as last read (shared: not
// to be changed).
func (b *searchBackend) latestPackages() map[string]latestPackage {
	b.latestMu.Lock()
	defer b.latestMu.Unlock()
	return b.latest
}

// keepLatestPackages keeps the packages' files as read for a generation.
// Which generation wins when two read at once does not matter: each
// package's files are only reused while its state stays the one they were
// read in.
func (b *searchBackend) keepLatestPackages(m map[string]latestPackage) {
	b.latestMu.Lock()
	defer b.latestMu.Unlock()
	b.latest = m
}

// backendInfo is a detected searchBackend.
type backendInfo struct{ vectors, trigrams string }

// backend detects (once) and logs which search paths are active.
func (db *DB) backend(ctx context.Context) (backendInfo, error) {
	b := &db.search
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		if db.Dialect == SQLite {
			b.vectors, b.trigrams = "sqlite-blob", "fts5-trigram"
		} else {
			var vec, trgm bool
			if err := db.SQL.QueryRowContext(ctx, `SELECT
				EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'search_vectors' AND column_name = 'embedding_v'),
				EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'search_texts_trigrams')`).Scan(&vec, &trgm); err != nil {
				return backendInfo{}, err
			}
			b.vectors, b.trigrams = "exact", "scan"
			if vec {
				b.vectors = "pgvector"
			}
			if trgm {
				b.trigrams = "pg_trgm"
			}
		}
		b.done = true
		db.log.Info("search index paths", "vectors", b.vectors, "substrings", b.trigrams, "means", map[string]string{
			"sqlite-blob": "vectors stored as int8-quantised blobs, nearest neighbours by an exact cosine scan in memory",
			"pgvector":    "vectors in pgvector HNSW indexes",
			"exact":       "pgvector is not installed: vectors are int8-quantised bytea compared by cosine in Go",
		}[b.vectors])
	}
	return backendInfo{b.vectors, b.trigrams}, nil
}

// SearchBackend reports (and on first use logs) the active vector and
// substring index paths.
func (db *DB) SearchBackend(ctx context.Context) (vectors, substrings string, err error) {
	b, err := db.backend(ctx)
	return b.vectors, b.trigrams, err
}

// enableSearchIndexes turns on what PostgreSQL offers beyond the migration:
// pg_trgm for substring search and, when pgvector is on, vector columns
// with HNSW indexes. Neither is required.
func (db *DB) enableSearchIndexes(ctx context.Context) error {
	var trgm bool
	if err := db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&trgm); err != nil {
		return fmt.Errorf("checking for pg_trgm: %w", err)
	}
	if !trgm {
		db.log.Info("pg_trgm is not available on this PostgreSQL server; substring search scans the lines")
	} else if _, err := db.SQL.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
		db.log.Warn("pg_trgm is available but could not be enabled; substring search scans the lines", "err", err)
	} else if _, err := db.SQL.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS search_texts_trigrams ON search_texts
			USING GIN ((text || ' ' || output) gin_trgm_ops)`); err != nil {
		return fmt.Errorf("creating the substring index: %w", err)
	}
	on, err := db.VectorEnabled(ctx)
	if err != nil || !on {
		return err
	}
	for _, table := range []string{"search_vectors", "search_filesets"} {
		if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN IF NOT EXISTS embedding_v vector(512)`); err != nil {
			return fmt.Errorf("preparing pgvector search columns: %w", err)
		}
		if err := db.fillPgvector(ctx, table); err != nil {
			return fmt.Errorf("filling pgvector search columns: %w", err)
		}
		if _, err := db.SQL.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS `+table+`_hnsw ON `+table+` USING hnsw (embedding_v vector_cosine_ops)`); err != nil {
			return fmt.Errorf("preparing pgvector search indexes: %w", err)
		}
	}
	return nil
}

// fillPgvector sets pgvector's column of the rows that have none from
// their stored (quantised) embedding.
func (db *DB) fillPgvector(ctx context.Context, table string) error {
	for {
		var ids []int64
		vecs := map[int64][]float32{}
		if err := db.scanEmbeddings(ctx, &ids, vecs, `SELECT id, embedding FROM `+table+` WHERE embedding_v IS NULL ORDER BY id LIMIT 500`); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			v := vecs[id]
			if len(v) != search.Dims {
				v = make([]float32, search.Dims)
			}
			if _, err := db.SQL.ExecContext(ctx, `UPDATE `+table+` SET embedding_v = $1::vector WHERE id = $2`, vectorLiteral(v), id); err != nil {
				return err
			}
		}
	}
}

// ---------------------------------------------------------------- encoding

func encodeVector(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func decodeVector(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// vectorLiteral is pgvector's text form of a vector.
func vectorLiteral(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

func joinTerms(t []string) string { return strings.Join(t, " ") }

// withPgx runs fn on a pgx connection of the pool (PostgreSQL only), for
// COPY and for reading float4[] vectors in binary.
func (db *DB) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: unexpected driver connection %T", dc)
		}
		return fn(sc.Conn())
	})
}

// idsArg is a list of row ids as one parameter: a JSON array read with
// json_each on SQLite, a bigint[] on PostgreSQL.
func (db *DB) idsArg(ids []int64, n int) (string, any) { return db.listArg(ids, "bigint", n) }

// stringsArg is idsArg for strings (a text[] on PostgreSQL).
func (db *DB) stringsArg(values []string, n int) (string, any) { return db.listArg(values, "text", n) }

// listArg is a list of values as parameter n, for "x IN <list>".
func (db *DB) listArg(values any, pgType string, n int) (string, any) {
	p := "$" + strconv.Itoa(n)
	if db.Dialect == SQLite {
		b, _ := json.Marshal(values)
		return "(SELECT value FROM json_each(" + p + "))", string(b)
	}
	return "(SELECT unnest(" + p + "::" + pgType + "[]))", values
}

// SearchIndexSize reports the bytes the search index takes in the database
// (tables, indexes and FTS5 shadow tables) and the bytes of the
// distinct file contents it indexes.
func (db *DB) SearchIndexSize(ctx context.Context) (indexBytes, sourceBytes int64, err error) {
	if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(bytes), 0) FROM search_docs`).Scan(&sourceBytes); err != nil {
		return 0, 0, err
	}
	q := `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE '%search%'`
	if db.Dialect == Postgres {
		q = `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			WHERE c.relkind = 'r' AND c.relname LIKE 'search%'`
	}
	err = db.R.QueryRowContext(ctx, q).Scan(&indexBytes)
	return indexBytes, sourceBytes, err
}
