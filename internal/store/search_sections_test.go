package store

import (
	"bytes"
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// oldSection is a row of search_sections before migration 00126.
type oldSection struct {
	doc, ord              int64
	name, canonical, kind string
	start, end            int64
	hash                  string
	vector                int64
}

// TestSearchSectionsMigration: sections stored with their hash, canonical
// name and kind as text are converted by migration 00126 and answer
// Section, DocLines and DocStats' section filter as before; down restores
// the rows exactly (the hash from the vector's key), up converts again.
// Migration 00128 packs a posting's section and kind in one column, and
// down splits them again. Migration 00127 repacks a document's lines stored in the old format, and
// down packs them in it again.
func TestSearchSectionsMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 125); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		const iv = "s1/p3.2"
		doc := exec(`INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
			VALUES ('a1', $1, 'src', 10, 100, $2, $2, $3) RETURNING id`, iv, []byte{}, now())
		text := exec(`INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
			VALUES ('a0', 0, 'T', '', 't', '', '', '', '') RETURNING id`)
		emb := any(encodeFloatEmbedding(make([]float32, search.Dims)))
		if db.Dialect == Postgres {
			emb = pgArray(make([]float32, search.Dims))
		}
		hashes := []string{strings.Repeat("ab", 32), strings.Repeat("0c", 32), strings.Repeat("f9", 32)}
		var vecs []int64
		for _, h := range hashes {
			vecs = append(vecs, exec(`INSERT INTO search_vectors (key, embedding) VALUES ($1, $2) RETURNING id`, vectorKey(iv, h), emb))
		}
		old := []oldSection{
			{doc, 0, "START_OF_PROGRAM", "START_OF_PROGRAM", search.SectionSystem, 1, 3, hashes[0], vecs[0]},
			{doc, 1, "Tool Change", "TOOL_CHANGE", search.SectionUser, 4, 6, hashes[1], vecs[1]},
			{doc, 2, "CALC_X", "CALC_X", search.SectionCalc, 7, 8, hashes[2], vecs[2]},
			{doc, 3, "END_OF_FILE", "END_OF_FILE", search.SectionTemplate, 9, 10, hashes[0], vecs[0]},
		}
		for _, s := range old {
			exec(`INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, hash, vector_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ord`, s.doc, s.ord, s.name, s.canonical, s.kind, s.start, s.end, s.hash, s.vector)
		}
		var lines []docLine
		for n := 1; n <= 10; n++ {
			lines = append(lines, docLine{n: n, text: text, section: (n - 1) / 3})
		}
		lines[9].section = 3
		oldLines := encodeOldDocLines(lines)
		exec(`INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2) RETURNING doc_id`, doc, oldLines)
		packed := func() []byte {
			t.Helper()
			var b []byte
			if err := db.SQL.QueryRowContext(ctx, `SELECT lines FROM search_doc_lines WHERE doc_id = $1`, doc).Scan(&b); err != nil {
				t.Fatal(err)
			}
			return b
		}
		exec(`INSERT INTO search_postings (text_id, doc_id, section, kind, hits) VALUES ($1, $2, 1, 4, 3) RETURNING doc_id`, text, doc)

		check := func() {
			t.Helper()
			for _, s := range old {
				got, err := db.Section(ctx, iv, "a1", int(s.ord))
				if err != nil {
					t.Fatal(err)
				}
				want := search.SectionRef{Ord: int(s.ord), Name: s.name, Kind: s.kind, StartLine: int(s.start), EndLine: int(s.end)}
				if got.SectionRef != want || got.Hash != s.hash || got.DocID != doc || got.SHA256 != "a1" || len(got.Vector) != search.Dims {
					t.Errorf("Section %d: %+v; want %+v with hash %s", s.ord, got, want, s.hash)
				}
			}
			got, err := db.sectionsOf(ctx, iv, []int64{vecs[0]})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(got[vecs[0]]); n != 2 || got[vecs[0]][0].Hash != hashes[0] || got[vecs[0]][1].Kind != search.SectionTemplate {
				t.Errorf("sections of a vector: %+v", got)
			}
			refs, err := db.DocLines(ctx, []int64{doc}, []int64{text})
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 10 || refs[4].Section.Name != "Tool Change" || refs[4].Section.Kind != search.SectionUser || refs[9].Section.Kind != search.SectionTemplate {
				t.Errorf("DocLines: %+v", refs)
			}
			for section, in := range map[string]bool{"TOOL_CHANGE": true, "TOOL*": true, "Tool Change": false, "START_OF_PROGRAM": false} {
				stats, err := db.DocStats(ctx, search.DocQuery{IndexVersion: iv, Clauses: 1, Section: section,
					Texts: []search.ScoredText{{ID: text, Score: 1, Mask: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				if len(stats) != 1 || stats[0].InSection != in || stats[0].Kind != search.SectionUser || stats[0].Hits != 3 {
					t.Errorf("DocStats in section %q: %+v; want in section %v", section, stats, in)
				}
			}
		}
		readOld := func() []oldSection {
			t.Helper()
			rows, err := db.SQL.QueryContext(ctx, `SELECT doc_id, ord, name, canonical, kind, start_line, end_line, hash, vector_id FROM search_sections ORDER BY ord`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []oldSection
			for rows.Next() {
				var s oldSection
				if err := rows.Scan(&s.doc, &s.ord, &s.name, &s.canonical, &s.kind, &s.start, &s.end, &s.hash, &s.vector); err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
			return out
		}

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()
		if b := packed(); !bytes.Equal(b, encodeDocLines(lines)) || len(b) >= len(oldLines) {
			t.Errorf("migration 00127 left the lines as % x; want % x", b, encodeDocLines(lines))
		}
		var stored int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_sections WHERE canonical = ''`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != 3 {
			t.Errorf("%d sections keep an empty canonical name; want the 3 whose name is canonical", stored)
		}
		if _, err := db.SQL.ExecContext(ctx, `SELECT hash FROM search_sections`); err == nil {
			t.Error("search_sections.hash is still there after migration 00126")
		}
		if _, err := p.DownTo(ctx, 125); err != nil {
			t.Fatal(err)
		}
		if b := packed(); !bytes.Equal(b, oldLines) {
			t.Errorf("down left the lines as % x; want the old format % x", b, oldLines)
		}
		var section, kind, hits int
		if err := db.SQL.QueryRowContext(ctx, `SELECT section, kind, hits FROM search_postings`).Scan(&section, &kind, &hits); err != nil {
			t.Fatal(err)
		}
		if section != 1 || kind != 4 || hits != 3 {
			t.Errorf("down restored the posting as section %d, kind %d, %d lines; want 1, 4, 3", section, kind, hits)
		}
		back := readOld()
		sort.Slice(back, func(i, j int) bool { return back[i].ord < back[j].ord })
		if !reflect.DeepEqual(back, old) {
			t.Errorf("down restored\n%+v\nwant\n%+v", back, old)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()
	})
}
