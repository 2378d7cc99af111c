package store

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// TestFloatEmbeddingEncoding: the float32 form stored before migration
// 00144 (which it reads, and its down writes) reads back to the same
// floats, sparse embeddings small.
func TestFloatEmbeddingEncoding(t *testing.T) {
	sparse := make([]float32, search.Dims)
	sparse[0], sparse[7], sparse[8], sparse[511] = 0.5, -0.25, float32(math.SmallestNonzeroFloat32), 1
	dense := make([]float32, search.Dims)
	for i := range dense {
		dense[i] = float32(i+1) / 1000
	}
	for _, c := range []struct {
		name    string
		v       []float32
		maxSize int
	}{
		{"sparse", sparse, search.Dims/8 + 16},
		{"dense", dense, 4 * search.Dims},
		{"zero", make([]float32, search.Dims), search.Dims / 8},
		{"other size", []float32{1, 0, 2}, 12},
		{"empty", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := encodeFloatEmbedding(c.v)
			if len(b) > c.maxSize {
				t.Errorf("%d bytes; want at most %d", len(b), c.maxSize)
			}
			if got := decodeFloatEmbedding(b); !slices.Equal(got, c.v) && !(len(got) == 0 && len(c.v) == 0) {
				t.Errorf("read back %v…; want %v…", got[:min(len(got), 9)], c.v[:min(len(c.v), 9)])
			}
		})
	}
	// Dense blobs written before (by the migration from vec0) still read.
	if got := decodeFloatEmbedding(encodeVector(sparse)); !slices.Equal(got, sparse) {
		t.Error("a dense blob of a sparse embedding reads back differently")
	}
}

// TestQuantisedVectorsMigration: migration 00144 stores the float32
// embeddings of contents, sections and file sets (a float4[] on
// PostgreSQL for the last two) in search.EncodeVector's form; down writes
// the quantised floats back in the old forms, and up again gives the same
// bytes.
func TestQuantisedVectorsMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 143); err != nil {
			t.Fatal(err)
		}
		dense := make([]float32, search.Dims)
		for i := range dense {
			dense[i] = float32(math.Sin(float64(i)*0.37)) / 16
		}
		sparse := make([]float32, search.Dims)
		sparse[3], sparse[100], sparse[511] = 0.6, -0.48, 0.64
		floats := func(v []float32) any {
			if db.Dialect == Postgres {
				return pgArray(v)
			}
			return encodeFloatEmbedding(v)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		doc := exec(`INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
			VALUES ('a1', 'iv', 'src', 10, 100, $1, $2, $3) RETURNING id`, encodeFloatEmbedding(dense), []byte{1, 2, 3, 4}, now())
		vec := exec(`INSERT INTO search_vectors (key, embedding) VALUES ('iv:ab', $1) RETURNING id`, floats(sparse))
		set := exec(`INSERT INTO search_filesets (key, index_version, signature, embedding) VALUES ('k', 'iv', $1, $2) RETURNING id`,
			[]byte{1, 2, 3, 4}, floats(dense))
		cases := []struct {
			table, column string
			id            int64
			v             []float32
			array         bool
		}{
			{"search_docs", "vector", doc, dense, false},
			{"search_vectors", "embedding", vec, sparse, true},
			{"search_filesets", "embedding", set, dense, true},
		}
		stored := func(table, column string, id int64) []byte {
			t.Helper()
			var b []byte
			if err := db.SQL.QueryRowContext(ctx, `SELECT `+column+` FROM `+table+` WHERE id = $1`, id).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		checkUp := func() {
			t.Helper()
			for _, c := range cases {
				if got, want := stored(c.table, c.column, c.id), search.EncodeVector(c.v); !slices.Equal(got, want) {
					t.Errorf("%s.%s after up: % x…; want % x…", c.table, c.column, got[:min(len(got), 8)], want[:8])
				}
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checkUp()
		snap, err := db.vectorCaches().fileSets.current(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.vecs) != 1 || !slices.Equal(snap.vecs[0], search.Quantize(dense)) {
			t.Errorf("the exact scan reads the file set embeddings as %d vectors; want the quantised one", len(snap.vecs))
		}
		if _, err := p.DownTo(ctx, 143); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			var got []float32
			if c.array && db.Dialect == Postgres {
				var text string
				if err := db.SQL.QueryRowContext(ctx, `SELECT array_to_string(`+c.column+`, ',') FROM `+c.table+` WHERE id = $1`, c.id).Scan(&text); err != nil {
					t.Fatal(err)
				}
				var err error
				if got, err = parseFloatList(text); err != nil {
					t.Fatal(err)
				}
			} else {
				got = decodeFloatEmbedding(stored(c.table, c.column, c.id))
			}
			if want := search.Quantize(c.v); !slices.Equal(got, want) {
				t.Errorf("%s.%s after down: %v…; want %v…", c.table, c.column, got[:4], want[:4])
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checkUp()
	})
}
