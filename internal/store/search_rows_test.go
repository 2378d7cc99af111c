package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// TestSearchRowsMigrations: migration 00158 moves PostgreSQL's file set
// bands onto the set's row (sorted, each once; SQLite keeps its rows),
// 00159 stores a text's hash as its bytes on both engines (MatchTexts
// still answers the hex hash, and the writers find the stored texts);
// down restores the rows exactly, and up converts again.
func TestSearchRowsMigrations(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 157); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		emb := search.EncodeVector(make([]float32, search.Dims))
		sets := map[string][]int64{"a": {30, -7, 12}, "b": {12, 99}}
		ids := map[string]int64{}
		for _, k := range []string{"a", "b"} {
			ids[k] = exec(`INSERT INTO search_filesets (key, index_version, signature, embedding) VALUES ($1, 'iv', $2, $2) RETURNING id`, k, emb)
			for _, band := range sets[k] {
				exec(`INSERT INTO search_fileset_bands (band, fileset_id) VALUES ($1, $2) RETURNING fileset_id`, band, ids[k])
			}
		}
		l := search.Line{Class: 0, Text: "SPINDLE_DIR = 1", Words: []string{"spindle_dir"}, Parts: []string{"spindle", "dir"}, Sets: []string{"SPINDLE_DIR"}}
		key := textKey(l)
		text := exec(`INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
			VALUES ($1, 0, $2, '', 'spindle_dir', '', 'spindle dir', '', 'SPINDLE_DIR') RETURNING id`, key, l.Text)
		if db.Dialect == SQLite {
			exec(`INSERT INTO search_terms (rowid, words, prose, parts) VALUES ($1, 'spindle_dir', '', 'spindle dir') RETURNING rowid`, text)
		}

		bandRows := func() map[int64][]int64 {
			t.Helper()
			rows, err := db.SQL.QueryContext(ctx, `SELECT fileset_id, band FROM search_fileset_bands ORDER BY fileset_id, band`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[int64][]int64{}
			for rows.Next() {
				var id, band int64
				if err := rows.Scan(&id, &band); err != nil {
					t.Fatal(err)
				}
				out[id] = append(out[id], band)
			}
			return out
		}
		want := map[int64][]int64{}
		for k, bands := range sets {
			want[ids[k]] = slices.Sorted(slices.Values(bands))
		}
		checkOld := func() {
			t.Helper()
			if got := bandRows(); !reflect.DeepEqual(got, want) {
				t.Errorf("band rows %v; want %v", got, want)
			}
			var h string
			if err := db.SQL.QueryRowContext(ctx, `SELECT hash AS hex_hash FROM search_texts WHERE id = $1`, text).Scan(&h); err != nil || h != key {
				t.Errorf("hash %q (%v); want %q", h, err, key)
			}
		}
		checkNew := func() {
			t.Helper()
			if db.Dialect == Postgres {
				for id, bands := range want {
					var got string
					if err := db.SQL.QueryRowContext(ctx, `SELECT array_to_string(bands, ' ') FROM search_filesets WHERE id = $1`, id).Scan(&got); err != nil || got != fmt.Sprint(bands)[1:len(fmt.Sprint(bands))-1] {
						t.Errorf("bands of set %d: %v (%v); want %v", id, got, err, bands)
					}
				}
				var shared int64
				if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_filesets WHERE bands && $1::bigint[]`, []int64{12}).Scan(&shared); err != nil || shared != 2 {
					t.Errorf("sets sharing band 12: %d (%v); want 2", shared, err)
				}
			} else if got := bandRows(); !reflect.DeepEqual(got, want) {
				t.Errorf("SQLite band rows %v; want %v", got, want)
			}
			var raw []byte
			if err := db.SQL.QueryRowContext(ctx, `SELECT hash AS raw_hash FROM search_texts WHERE id = $1`, text).Scan(&raw); err != nil || hex.EncodeToString(raw) != key || len(raw) != 20 {
				t.Errorf("hash %x (%v); want the 20 bytes of %s", raw, err, key)
			}
			got, _, err := db.MatchTexts(ctx, []search.Clause{{Kind: search.ClauseWord, Text: "spindle_dir"}}, 10)
			if err != nil || len(got) != 1 || got[0].ID != text || got[0].Hash != key || !slices.Equal(got[0].Sets, l.Sets) {
				t.Errorf("MatchTexts: %+v (%v); want text %d with hash %s", got, err, text, key)
			}
			// The writers find the stored text by its key (and add nothing).
			var found []int64
			if db.Dialect == Postgres {
				err = db.withPgx(ctx, func(c *pgx.Conn) error {
					tx, err := c.Begin(ctx)
					if err != nil {
						return err
					}
					defer tx.Rollback(ctx)
					found, err = pgTexts(ctx, tx, []search.Line{l})
					return err
				})
			} else {
				tx, err2 := db.SQL.BeginTx(ctx, nil)
				if err2 != nil {
					t.Fatal(err2)
				}
				var w *sqliteWriter
				if w, err = newSQLiteWriter(ctx, tx); err == nil {
					found, err = w.textIDs(ctx, []search.Line{l})
					w.close()
				}
				tx.Rollback()
			}
			if err != nil || !slices.Equal(found, []int64{text}) {
				t.Errorf("the writer found texts %v (%v); want [%d]", found, err, text)
			}
		}

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checkNew()
		if _, err := p.DownTo(ctx, 157); err != nil {
			t.Fatal(err)
		}
		checkOld()
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checkNew()
	})
}
