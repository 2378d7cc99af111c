package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

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
				VALUES ($1, 0, $2, '', $2, '', '', '', '') RETURNING id`, hex.EncodeToString([]byte(h)), h))
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

// TestPostingTailEncoding: a tail row's postings read back as written;
// damaged bytes are an error, never a panic.
func TestPostingTailEncoding(t *testing.T) {
	posts := []posting{{text: 3, section: -1, hits: 1}, {text: 3, section: 2, kind: 4, hits: 7}, {text: 90000, section: 0, kind: 1, hits: 1}}
	b := tailPostings(posts)
	var got []posting
	if err := eachTailPosting(b, func(text, sk int64, hits int) {
		got = append(got, posting{text: text, section: int(sk>>3) - 1, kind: int16(sk & 7), hits: hits})
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, posts) {
		t.Errorf("read back %+v; want %+v", got, posts)
	}
	for cut := 1; cut < len(b); cut++ {
		_ = eachTailPosting(b[:cut], func(int64, int64, int) {}) // no panic
	}
	for _, bad := range [][]byte{{0x80}, {1}, {1, 0x81}, {1, 3, 0x80}} {
		if err := eachTailPosting(bad, func(int64, int64, int) {}); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

// TestPostingTailConcurrent: writers store documents' postings
// concurrently (tail rows, folded into blocks as the ids move on) while
// the collector removes documents; every posting of the documents left
// is stored exactly once, and DocStats counts them. Migrations 00151 and
// 00150 down fold the tail and (SQLite) restore a row per posting with
// the same answers, and up again gives them back.
func TestPostingTailConcurrent(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		const iv, nTexts, writers, perWriter = "s1/p3.2", 12, 4, 50
		var texts []int64
		for i := range nTexts {
			texts = append(texts, queryID(t, db, `INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
				VALUES ($1, 0, $2, '', $2, '', '', '', '') RETURNING id`, []byte(fmt.Sprint("t", i)), fmt.Sprint("t", i)))
		}
		var mu sync.Mutex
		want := map[int64][]posting{}
		var written []int64
		keyOf := map[int64]int{} // document id → k
		// write stores documents k… (their texts and lines follow from k)
		// in one transaction, as SaveDocs does.
		write := func(ks ...int) error {
			var ids []int64
			var posts [][]posting
			var keys []int
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				ids, posts, keys = nil, nil, nil
				if db.Dialect == Postgres {
					if _, err := tx.ExecContext(ctx, searchWriteLock); err != nil {
						return err
					}
				}
				var packed [][]byte
				for _, k := range ks {
					var id int64
					if err := tx.QueryRowContext(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
						VALUES ($1, $2, 'src', 10, 100, $3, $3, $4) RETURNING id`, fmt.Sprint("sha", k), iv, []byte{}, now()).Scan(&id); err != nil {
						return err
					}
					var lines []docLine
					for j, text := range texts {
						if k == 0 || (k+j)%4 == 0 { // document 0 keeps every text in use
							for range 1 + (k+j)%3 {
								lines = append(lines, docLine{n: len(lines) + 1, text: text, section: -1})
							}
						}
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2)`, id, encodeDocLines(lines)); err != nil {
						return err
					}
					ps := postingsOf(lines, func(int) int16 { return 0 })
					ids, posts, packed, keys = append(ids, id), append(posts, ps), append(packed, tailPostings(ps)), append(keys, k)
				}
				return storePostings(ctx, sqlPostings{tx, db.Dialect}, ids, packed)
			})
			if err == nil {
				mu.Lock()
				for i, id := range ids {
					want[id], keyOf[id] = posts[i], keys[i]
					written = append(written, id)
				}
				mu.Unlock()
			}
			return err
		}
		if err := write(0); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers+1)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWriter; {
					n := 1 + i%3
					var ks []int
					for j := range n {
						ks = append(ks, 1+w*1000+i+j)
					}
					if err := write(ks...); err != nil {
						errs <- err
						return
					}
					i += n
				}
			}()
		}
		collected := 0
		wg.Add(1)
		go func() { // the collector: every seventh document written so far
			defer wg.Done()
			for round := 0; round < 20; round++ {
				mu.Lock()
				var gone []int64
				for _, id := range written {
					if id%7 == 3 && want[id] != nil {
						gone = append(gone, id)
					}
				}
				mu.Unlock()
				if len(gone) > 0 {
					list, arg := db.idsArg(gone, 1)
					if err := db.InTx(ctx, func(tx *sql.Tx) error {
						if db.Dialect == Postgres {
							if _, err := tx.ExecContext(ctx, searchLock); err != nil {
								return err
							}
						}
						return db.gcSearch(ctx, tx, `SELECT id FROM search_docs WHERE id IN `+list, arg)
					}); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, id := range gone {
						delete(want, id)
					}
					collected += len(gone)
					mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if collected == 0 {
			t.Fatal("the collector removed nothing while writers wrote")
		}
		var blocks, tail int
		if err := db.SQL.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM search_postings), (SELECT COUNT(*) FROM search_postings_tail)`).Scan(&blocks, &tail); err != nil {
			t.Fatal(err)
		}
		if blocks == 0 || tail == 0 || tail > (postingFoldLag+2)*postingBlockSize {
			t.Errorf("%d block rows and %d tail rows; want both, the tail within the last %d blocks", blocks, tail, postingFoldLag+2)
		}
		// Expected counts: text j scores 1/(j+1), in clause j%2.
		q := search.DocQuery{IndexVersion: iv, Clauses: 2}
		for j, id := range texts {
			q.Texts = append(q.Texts, search.ScoredText{ID: id, Score: 1 / float64(j+1), Mask: 1 << (j % 2)})
		}
		var wantStats []search.DocStat
		for id, ps := range want {
			st := search.DocStat{DocID: id, SHA256: fmt.Sprint("sha", keyOf[id]), Kind: "none"}
			for _, p := range ps {
				j := slices.Index(texts, p.text)
				st.Hits += p.hits
				st.Mask |= 1 << (j % 2)
				st.Best = max(st.Best, 1/float64(j+1))
			}
			wantStats = append(wantStats, st)
		}
		sortStats(wantStats)
		check := func(when string) {
			t.Helper()
			if got := storedPostings(t, db); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: stored postings of %d documents; want %d: %+v", when, len(got), len(want), got)
			}
			got, err := db.DocStats(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			sortStats(got)
			if !reflect.DeepEqual(got, wantStats) {
				t.Errorf("%s: DocStats\n%+v\nwant\n%+v", when, got, wantStats)
			}
		}
		check("written")
		if _, err := p.DownTo(ctx, 149); err != nil {
			t.Fatal(err)
		}
		if got := storedPostings(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("down: stored postings %+v; want %+v", got, want)
		}
		if packed := hasColumn(t, db, "search_postings", "block"); packed != (db.Dialect == Postgres) {
			t.Errorf("down: search_postings packed in blocks: %v", packed)
		}
		if hasColumn(t, db, "search_postings_tail", "posts") {
			t.Error("down: the tail is still there")
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check("up again")
	})
}
