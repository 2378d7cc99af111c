package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// TestDocLinesEncoding: a document's packed lines read back as written;
// damaged bytes are an error, never a panic.
func TestDocLinesEncoding(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []docLine
	}{
		{"empty", nil},
		{"outside sections", []docLine{{n: 1, text: 1, section: -1}}},
		{"gaps and large ids", []docLine{{n: 3, text: 1 << 40, section: 0}, {n: 4, text: 7, section: 12}, {n: 90000, text: 300, section: -1}}},
		{"a long document (compressed)", repeatedLines(400)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeDocLines(encodeDocLines(c.lines))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.lines) || len(got) > 0 && !reflect.DeepEqual(got, c.lines) {
				t.Errorf("read back %+v; want %+v", got, c.lines)
			}
		})
	}
	long := encodeDocLines(repeatedLines(400))
	if long[0] != docLinesZstdMark || len(long) > len(encodeDocLines(repeatedLines(1)))*400/2 {
		t.Errorf("a long document's lines take %d bytes, mark %d: not compressed", len(long), long[0])
	}
	if _, err := decodeDocLines(long[:len(long)-3]); err == nil {
		t.Error("a cut compressed row decoded")
	}
	for _, bad := range [][]byte{{0x80}, {1, 2}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{docLinesMark, 0x80}, {docLinesMark, 2}, {docLinesMark, 3, 2}, {docLinesMark, 2, 1, 2, 3}} {
		if _, err := decodeDocLines(bad); err == nil {
			t.Errorf("% x: decoded", bad)
		}
	}
}

// repeatedLines are n lines of a document whose sections repeat a pattern
// of lines, as posts do.
func repeatedLines(n int) []docLine {
	out := make([]docLine, n)
	for i := range out {
		out[i] = docLine{n: i*2 + 1, text: int64(1000 + i%7*13), section: i / 10}
	}
	return out
}

// TestDocLinesOldFormat: rows packed before the format mark (three
// unsigned varints per line) still read, and the current format is
// smaller for lines that follow each other in one section.
func TestDocLinesOldFormat(t *testing.T) {
	lines := []docLine{{n: 1, text: 500, section: -1}, {n: 2, text: 501, section: 0}, {n: 3, text: 502, section: 0},
		{n: 7, text: 90, section: 0}, {n: 8, text: 1 << 33, section: 4}, {n: 9, text: 3, section: -1}}
	for name, b := range map[string][]byte{"old": encodeOldDocLines(lines), "current": encodeDocLines(lines)} {
		got, err := decodeDocLines(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, lines) {
			t.Errorf("%s format read back %+v; want %+v", name, got, lines)
		}
	}
	if n, o := len(encodeDocLines(lines[1:3])), len(encodeOldDocLines(lines[1:3])); n >= o {
		t.Errorf("two following lines of a section take %d bytes; the old format took %d", n, o)
	}
}

// oldLine is a row of search_lines (before migration 00110).
type oldLine struct {
	doc, line, text, section, kind int64
}

// TestSearchLinesMigration: lines stored a row each (search_lines) are
// converted by migrations 00110-00112 and answer DocLines, ContextLines and
// DocStats as they were stored; down restores the rows, up again converts
// them again; collecting a document removes its postings and the texts
// only it used.
func TestSearchLinesMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 109); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		var docs, texts [3]int64
		for i, sha := range []string{"a1", "b2"} {
			docs[i] = exec(`INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
				VALUES ($1, 'iv', 'lib', 10, 100, $2, $2, $3) RETURNING id`, sha, []byte{}, now())
		}
		for i, text := range []string{"T1", "T2", "T3"} {
			texts[i] = exec(`INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
				VALUES ($1, 0, $2, '', '', '', '', '', '') RETURNING id`, hex.EncodeToString([]byte(text)), text)
		}
		emb := any([]byte{})
		if db.Dialect == Postgres {
			emb = "{}"
		}
		vec := exec(`INSERT INTO search_vectors (key, embedding) VALUES ('k', $1) RETURNING id`, emb)
		exec(`INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, hash, vector_id)
			VALUES ($1, 0, 'SYS', 'sys', $2, 1, 3, 'h', $3) RETURNING ord`, docs[0], search.SectionSystem, vec)
		d1, d2, t1, t2, t3 := docs[0], docs[1], texts[0], texts[1], texts[2]
		old := []oldLine{
			{d1, 1, t1, 0, 1}, {d1, 2, t2, 0, 1}, {d1, 3, t1, 0, 1}, {d1, 5, t3, -1, 0},
			{d2, 2, t1, -1, 0}, {d2, 10, t2, -1, 0},
		}
		for _, l := range old {
			exec(`INSERT INTO search_lines (doc_id, line, text_id, section, kind) VALUES ($1, $2, $3, $4, $5) RETURNING line`,
				l.doc, l.line, l.text, l.section, l.kind)
		}

		sys := search.SectionRef{Ord: 0, Name: "SYS", Kind: search.SectionSystem, StartLine: 1, EndLine: 3}
		outside := search.SectionRef{Ord: -1}
		check := func() {
			t.Helper()
			refs, err := db.DocLines(ctx, []int64{d1, d2}, []int64{t1, t2})
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(refs, func(i, j int) bool {
				return refs[i].DocID < refs[j].DocID || refs[i].DocID == refs[j].DocID && refs[i].N < refs[j].N
			})
			want := []search.LineRef{{DocID: d1, N: 1, TextID: t1, Section: sys}, {DocID: d1, N: 2, TextID: t2, Section: sys}, {DocID: d1, N: 3, TextID: t1, Section: sys}, {DocID: d2, N: 2, TextID: t1, Section: outside}, {DocID: d2, N: 10, TextID: t2, Section: outside}}
			if !reflect.DeepEqual(refs, want) {
				t.Errorf("DocLines:\n%+v\nwant\n%+v", refs, want)
			}
			ctxLines, err := db.ContextLines(ctx, []search.LineSpan{{DocID: d1, From: 2, To: 5}, {DocID: d1, From: 4, To: 9}, {DocID: d2, From: -1, To: 3}})
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(ctxLines, func(i, j int) bool {
				return ctxLines[i].DocID < ctxLines[j].DocID || ctxLines[i].DocID == ctxLines[j].DocID && ctxLines[i].N < ctxLines[j].N
			})
			wantCtx := []search.ContextLine{{DocID: d1, N: 2, Text: "T2"}, {DocID: d1, N: 3, Text: "T1"}, {DocID: d1, N: 5, Text: "T3"}, {DocID: d2, N: 2, Text: "T1"}}
			if !reflect.DeepEqual(ctxLines, wantCtx) {
				t.Errorf("ContextLines:\n%+v\nwant\n%+v", ctxLines, wantCtx)
			}
			for _, section := range []string{"", "sys", "s*", "other"} {
				stats, err := db.DocStats(ctx, search.DocQuery{IndexVersion: "iv", Clauses: 2, Section: section,
					Texts: []search.ScoredText{{ID: t2, Score: 1, Mask: 2}, {ID: t1, Score: 2, Mask: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				sort.Slice(stats, func(i, j int) bool { return stats[i].DocID < stats[j].DocID })
				in := section == "sys" || section == "s*"
				want := []search.DocStat{
					{DocID: d1, SHA256: "a1", Kind: search.SectionSystem, InSection: in, Best: 2, Hits: 3, Mask: 3},
					{DocID: d2, SHA256: "b2", Kind: "none", Best: 2, Hits: 2, Mask: 3},
				}
				if !reflect.DeepEqual(stats, want) {
					t.Errorf("DocStats in section %q:\n%+v\nwant\n%+v", section, stats, want)
				}
			}
		}

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()
		if _, err := db.SQL.ExecContext(ctx, `SELECT 1 FROM search_lines`); err == nil {
			t.Error("search_lines is still there after migration 00112")
		}
		if _, err := p.DownTo(ctx, 109); err != nil {
			t.Fatal(err)
		}
		rows, err := db.SQL.QueryContext(ctx, `SELECT doc_id, line, text_id, section, kind FROM search_lines ORDER BY doc_id, line`)
		if err != nil {
			t.Fatal(err)
		}
		var back []oldLine
		for rows.Next() {
			var l oldLine
			if err := rows.Scan(&l.doc, &l.line, &l.text, &l.section, &l.kind); err != nil {
				t.Fatal(err)
			}
			back = append(back, l)
		}
		rows.Close()
		if !reflect.DeepEqual(back, old) {
			t.Errorf("down restored\n%+v\nwant\n%+v", back, old)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()

		// Collecting d1: its postings go, and T3, which only it used.
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			return db.gcSearch(ctx, tx, `SELECT id FROM search_docs WHERE id = $1`, d1)
		}); err != nil {
			t.Fatal(err)
		}
		var left, lines int
		if err := db.SQL.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM search_texts), (SELECT COUNT(*) FROM search_doc_lines)`).Scan(&left, &lines); err != nil {
			t.Fatal(err)
		}
		postings := len(storedPostings(t, db)[d1])
		if postings != 0 || left != 2 || lines != 1 {
			t.Errorf("after collecting a document: %d of its postings, %d texts, %d documents' lines; want 0, 2, 1", postings, left, lines)
		}
	})
}

// storedPostings reads every stored posting, by document: a row each, or
// unpacked from the blocks (PostgreSQL after migration 00138, SQLite after
// 00150) and the tail (00151).
func storedPostings(t *testing.T, db *DB) map[int64][]posting {
	t.Helper()
	q := `SELECT text_id, doc_id, section_kind, hits FROM search_postings`
	packed, tail := hasColumn(t, db, "search_postings", "block"), hasColumn(t, db, "search_postings_tail", "posts")
	if packed {
		q = `SELECT text_id, block, posts FROM search_postings`
		if tail {
			q += ` UNION ALL SELECT -1, doc_id, posts FROM search_postings_tail`
		}
	}
	rows, err := db.SQL.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][]posting{}
	add := func(text, doc, sk int64, hits int) {
		out[doc] = append(out[doc], posting{text: text, section: int(sk>>3) - 1, kind: int16(sk & 7), hits: hits})
	}
	for rows.Next() {
		if packed {
			var text, block int64
			var posts []byte
			if err := rows.Scan(&text, &block, &posts); err != nil {
				t.Fatal(err)
			}
			if text < 0 {
				if err := eachTailPosting(posts, func(text, sk int64, hits int) { add(text, block, sk, hits) }); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := eachBlockPosting(block, posts, func(doc, sk int64, hits int) { add(text, doc, sk, hits) }); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var text, doc, sk int64
		var hits int
		if err := rows.Scan(&text, &doc, &sk, &hits); err != nil {
			t.Fatal(err)
		}
		add(text, doc, sk, hits)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b posting) int {
			if c := cmp.Compare(a.text, b.text); c != 0 {
				return c
			}
			return cmp.Compare(a.section, b.section)
		})
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b posting) int { return cmp.Or(cmp.Compare(a.text, b.text), cmp.Compare(a.section, b.section)) })
	}
	return out
}

// hasColumn reports whether a table has a column.
func hasColumn(t *testing.T, db *DB, table, column string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`
	if db.Dialect == SQLite {
		q = `SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2`
	}
	var n int
	if err := db.SQL.QueryRow(q, table, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
