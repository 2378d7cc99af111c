package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// TestBlockPostingsEncoding: a block's packed postings read back as
// written, in the order written; damaged bytes are an error, never a panic.
func TestBlockPostingsEncoding(t *testing.T) {
	type entry struct {
		doc, sk int64
		hits    int
	}
	const block = 7
	base := int64(block) << postingBlockShift
	for _, c := range []struct {
		name    string
		entries []entry
	}{
		{"one", []entry{{base, 8, 1}}},
		{"many", []entry{{base + 63, 8*40 + 4, 1}, {base + 1, 0, 12}, {base + 1, 8*2000 + 3, 300}, {base + 2, 9, 1}}},
	} {
		var b []byte
		for _, e := range c.entries {
			b = appendBlockPosting(b, e.doc, e.sk, e.hits)
		}
		var got []entry
		if err := eachBlockPosting(block, b, func(doc, sk int64, hits int) { got = append(got, entry{doc, sk, hits}) }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.entries) {
			t.Errorf("%s: read back %+v; want %+v", c.name, got, c.entries)
		}
		for cut := 1; cut < len(b); cut++ {
			_ = eachBlockPosting(block, b[:cut], func(int64, int64, int) {}) // no panic
		}
	}
	for _, bad := range [][]byte{{0x80}, {64, 2}, {1, 0x81}, {1, 3, 0x80}} {
		if err := eachBlockPosting(0, bad, func(int64, int64, int) {}); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

// TestPostingBlocksMigration: postings stored a row each are packed into
// blocks by migrations 00136–00138 on PostgreSQL and 00150 on SQLite and
// counted by DocStats as before; collecting a document takes
// its postings out of the blocks it shares; down restores the rows
// exactly, and up packs them again.
func TestPostingBlocksMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 135); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		const iv = "s1/p3.2"
		// Documents in three blocks, two in the same one.
		var docs []int64
		for _, id := range []int64{3, 40, 70, 200} {
			docs = append(docs, exec(`INSERT INTO search_docs (id, sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
				VALUES ($1, $2, $3, 'src', 10, 100, $4, $4, $5) RETURNING id`, id, "sha"+string(rune('a'+len(docs))), iv, []byte{}, now()))
		}
		var texts []int64
		for _, h := range []string{"t1", "t2", "t3"} {
			texts = append(texts, exec(`INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
				VALUES ($1, 0, $1, '', $1, '', '', '', '') RETURNING id`, h))
		}
		for ord, name := range []string{"START_OF_PROGRAM", "TOOL_CHANGE"} {
			for _, d := range docs {
				exec(`INSERT INTO search_vectors (key, embedding) VALUES ($1, $2) RETURNING id`, vectorKey(iv, fmt.Sprint(name, d)), pgOrBlob(db))
				exec(`INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, vector_id)
					VALUES ($1, $2, $3, '', 4, 1, 5, (SELECT MAX(id) FROM search_vectors)) RETURNING ord`, d, ord, name)
			}
		}
		// section_kind: (ord + 1) * 8 + kind.
		want := map[int64][]posting{
			docs[0]: {{text: texts[0], section: -1, kind: 0, hits: 1}, {text: texts[0], section: 1, kind: 4, hits: 3}, {text: texts[1], section: 0, kind: 4, hits: 1}},
			docs[1]: {{text: texts[0], section: 0, kind: 4, hits: 2}},
			docs[2]: {{text: texts[0], section: 1, kind: 4, hits: 1}, {text: texts[2], section: 1, kind: 4, hits: 1}},
			docs[3]: {{text: texts[1], section: -1, kind: 0, hits: 130}},
		}
		for d, ps := range want {
			for _, p := range ps {
				exec(`INSERT INTO search_postings (text_id, doc_id, section_kind, hits) VALUES ($1, $2, $3, $4) RETURNING doc_id`, p.text, d, p.sectionKind(), p.hits)
			}
		}
		stats := func(section string) []search.DocStat {
			t.Helper()
			got, err := db.DocStats(ctx, search.DocQuery{IndexVersion: iv, Clauses: 2, Section: section, Texts: []search.ScoredText{
				{ID: texts[0], Score: 0.5, Mask: 1}, {ID: texts[1], Score: 0.9, Mask: 2}, {ID: texts[2], Score: 0.1, Mask: 3}}})
			if err != nil {
				t.Fatal(err)
			}
			sortStats(got)
			return got
		}
		// Texts by score: t2 (0.9), t1 (0.5), t3 (0.1); masks of two clauses.
		st := func(doc int, kind string, in bool, best float64, hits int, mask uint32) search.DocStat {
			return search.DocStat{DocID: docs[doc], SHA256: "sha" + string(rune('a'+doc)), Kind: kind, InSection: in, Best: best, Hits: hits, Mask: mask}
		}
		const user = search.SectionUser
		before := map[string][]search.DocStat{
			"": {st(0, "none", false, 0.5, 1, 1), st(0, user, false, 0.9, 4, 3), st(1, user, false, 0.5, 2, 1),
				st(2, user, false, 0.5, 2, 3), st(3, "none", false, 0.9, 130, 2)},
			"TOOL*": {st(0, "none", false, 0.5, 1, 1), st(0, user, false, 0.9, 1, 2), st(0, user, true, 0.5, 3, 1),
				st(1, user, false, 0.5, 2, 1), st(2, user, true, 0.5, 2, 3), st(3, "none", false, 0.9, 130, 2)},
			"START_OF_PROGRAM": {st(0, "none", false, 0.5, 1, 1), st(0, user, false, 0.5, 3, 1), st(0, user, true, 0.9, 1, 2),
				st(1, user, true, 0.5, 2, 1), st(2, user, false, 0.5, 2, 3), st(3, "none", false, 0.9, 130, 2)},
		}
		check := func(want map[int64][]posting) {
			t.Helper()
			if got := storedPostings(t, db); !reflect.DeepEqual(got, want) {
				t.Errorf("stored postings %+v; want %+v", got, want)
			}
			for section, w := range before {
				if got := stats(section); !reflect.DeepEqual(got, w) {
					t.Errorf("DocStats in section %q: %+v; want %+v", section, got, w)
				}
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(want)
		{
			var rows int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_postings`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 5 { // t1 in blocks 0 and 1, t2 in blocks 0 and 3, t3 in block 1
				t.Errorf("%d blocks; want 5", rows)
			}
		}
		if _, err := p.DownTo(ctx, 135); err != nil {
			t.Fatal(err)
		}
		if got := storedPostings(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("down: stored postings %+v; want %+v", got, want)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(want)

		exec(`INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2) RETURNING doc_id`, docs[1],
			encodeDocLines([]docLine{{n: 1, text: texts[0], section: 0}, {n: 2, text: texts[0], section: 0}}))
		exec(`INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2) RETURNING doc_id`, docs[2],
			encodeDocLines([]docLine{{n: 1, text: texts[0], section: 1}, {n: 2, text: texts[2], section: 1}}))
		// Collecting docs[1] (block 0, shared with docs[0]) and docs[2]
		// (alone in block 1, the only user of t3).
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				if _, err := tx.ExecContext(ctx, searchLock); err != nil {
					return err
				}
			}
			return db.gcSearch(ctx, tx, `SELECT id FROM search_docs WHERE id IN ($1, $2)`, docs[1], docs[2])
		}); err != nil {
			t.Fatal(err)
		}
		delete(want, docs[1])
		delete(want, docs[2])
		if got := storedPostings(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("after collecting: stored postings %+v; want %+v", got, want)
		}
		var left, rows int
		if err := db.SQL.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM search_texts), (SELECT COUNT(*) FROM search_postings)`).Scan(&left, &rows); err != nil {
			t.Fatal(err)
		}
		const wantRows = 3 // t1 in block 0, t2 in blocks 0 and 3
		if left != 2 || rows != wantRows {
			t.Errorf("after collecting: %d texts and %d posting rows; want 2 and %d", left, rows, wantRows)
		}
	})
}

// pgOrBlob is an all-zero section embedding as the engine stores it.
func pgOrBlob(db *DB) any {
	if db.Dialect == Postgres {
		return pgArray(make([]float32, search.Dims))
	}
	return search.EncodeVector(make([]float32, search.Dims))
}

// sortStats orders DocStats' rows (engines return them in any order).
func sortStats(st []search.DocStat) {
	sort.Slice(st, func(i, j int) bool {
		a, b := st[i], st[j]
		if a.DocID != b.DocID {
			return a.DocID < b.DocID
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return !a.InSection && b.InSection
	})
}
