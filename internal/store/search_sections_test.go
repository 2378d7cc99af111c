package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"reflect"
	"sort"
	"strconv"
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

		// 00126's columns, before PostgreSQL packs the rows (00170–00172).
		if _, err := p.UpTo(ctx, 169); err != nil {
			t.Fatal(err)
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
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()
		if b := packed(); !bytes.Equal(b, encodeDocLines(lines)) || len(b) >= len(oldLines) {
			t.Errorf("migration 00127 left the lines as % x; want % x", b, encodeDocLines(lines))
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

// TestSectionsRoundTrip: packed sections decode as they were written,
// whatever their lines (overlapping, descending, at the int4 bounds).
func TestSectionsRoundTrip(t *testing.T) {
	for _, secs := range [][]storedSection{
		nil,
		{{ord: 0, name: "START_OF_PROGRAM", kind: 1, start: 1, end: 3, vector: 7}},
		{
			{ord: 0, name: "Tool Change", canonical: "TOOL_CHANGE", kind: 4, start: 4, end: 60, vector: 1 << 30},
			{ord: 1, name: "", kind: 0, start: 2, end: 1, vector: 1},
			{ord: 2, name: "é ü", canonical: "É_Ü", kind: 3, start: 10, end: 10, vector: 1},
			{ord: 3, name: "MAX", kind: 2, start: -(1 << 31), end: 1<<31 - 1, vector: 2},
		},
	} {
		b, vectors := encodeSections(secs)
		got, err := decodeSections(b, vectors)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(secs) || (len(secs) > 0 && !reflect.DeepEqual(got, secs)) {
			t.Errorf("decoded %+v; want %+v", got, secs)
		}
	}
}

// TestDecodeSectionsCorrupt: bytes that are not a document's packed
// sections are an error, never a panic or sections made up.
func TestDecodeSectionsCorrupt(t *testing.T) {
	secs := []storedSection{
		{ord: 0, name: "START_OF_PROGRAM", kind: 1, start: 1, end: 3, vector: 7},
		{ord: 1, name: "Tool Change", canonical: "TOOL_CHANGE", kind: 4, start: 4, end: 9, vector: 8},
	}
	b, vectors := encodeSections(secs)
	bad := map[string]struct {
		b       []byte
		vectors []int32
	}{
		"fewer vectors":     {b, vectors[:1]},
		"more vectors":      {b, append(vectors, 9)},
		"empty canonical":   {[]byte{1<<1 | 1, 1, 'A', 0, 0, 0}, []int32{1}},
		"long varint":       {bytes.Repeat([]byte{0xff}, 11), []int32{1}},
		"huge kind":         {[]byte{0xff, 0xff, 0x7f, 0, 0, 0}, []int32{1}},
		"name too long":     {[]byte{0, 9, 'A'}, []int32{1}},
		"line too large":    {append(binary.AppendVarint([]byte{0, 0}, 1<<40), 0), []int32{1}},
		"start beyond int4": {append(binary.AppendVarint([]byte{0, 0}, 1<<31), 0), []int32{1}},
		"end beyond int4":   {append([]byte{0, 0, 0}, binary.AppendVarint(nil, 1<<31)...), []int32{1}},
	}
	for i := range b {
		bad["cut at "+strconv.Itoa(i)] = struct {
			b       []byte
			vectors []int32
		}{b[:i], vectors}
	}
	for name, c := range bad {
		if got, err := decodeSections(c.b, c.vectors); err == nil {
			t.Errorf("%s: decoded %+v", name, got)
		}
	}
	// Every byte flipped: an error or sections, never a panic.
	for i := range b {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= x
			decodeSections(c, vectors) //nolint:errcheck
		}
	}
}

// TestSectionPacksMigration: on PostgreSQL migrations 00170–00172 pack the
// rows per section a row per document, read as before (a document's
// sections, those with a vector, those named); collecting a document
// keeps the vectors other documents' sections use; down restores the rows
// exactly, and up packs them again. SQLite keeps its rows throughout.
func TestSectionPacksMigration(t *testing.T) {
	onEachEngine(t, func(t *testing.T, ctx context.Context, db *DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 169); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) int64 { t.Helper(); return queryID(t, db, q, args...) }
		const iv = "s1/p3.2"
		var docs, vecs []int64
		for _, sha := range []string{"a1", "b2", "c3"} {
			docs = append(docs, exec(`INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
				VALUES ($1, $2, 'src', 10, 100, $3, $3, $4) RETURNING id`, sha, iv, []byte{}, now()))
		}
		for i := range 3 {
			vecs = append(vecs, exec(`INSERT INTO search_vectors (key, embedding) VALUES ($1, $2) RETURNING id`,
				vectorKey(iv, strings.Repeat(strconv.Itoa(i), 64)), search.EncodeVector(make([]float32, search.Dims))))
		}
		type row struct {
			doc int64
			storedSection
		}
		// docs[2] has no sections.
		old := []row{
			{docs[0], storedSection{0, "START_OF_PROGRAM", "", 1, 1, 3, vecs[0]}},
			{docs[0], storedSection{1, "Tool Change", "TOOL_CHANGE", 4, 4, 6, vecs[1]}},
			{docs[0], storedSection{2, "TOOL_CHECK", "", 3, 7, 10, vecs[2]}},
			{docs[1], storedSection{0, "START_OF_PROGRAM", "", 1, 1, 2, vecs[0]}},
			{docs[1], storedSection{1, "END", "", 2, 3, 3, vecs[2]}},
		}
		for _, r := range old {
			exec(`INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, vector_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ord`, r.doc, r.ord, r.name, r.canonical, r.kind, r.start, r.end, r.vector)
		}
		check := func() {
			t.Helper()
			got, err := db.readSections(ctx, docs, "")
			if err != nil {
				t.Fatal(err)
			}
			var rows []row
			for _, d := range docs {
				for _, s := range got[d] {
					rows = append(rows, row{d, s})
				}
			}
			if !reflect.DeepEqual(rows, old) {
				t.Errorf("sections\n%+v\nwant\n%+v", rows, old)
			}
			for section, want := range map[string][]docOrd{
				"TOOL*":            {{docs[0], 1}, {docs[0], 2}},
				"TOOL_CHANGE":      {{docs[0], 1}},
				"Tool Change":      nil,
				"START_OF_PROGRAM": {{docs[0], 0}, {docs[1], 0}},
				"*":                {{docs[0], 0}, {docs[0], 1}, {docs[0], 2}, {docs[1], 0}, {docs[1], 1}},
			} {
				got, err := db.sectionsNamed(ctx, docs, section)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("sections named %q: %+v; want %+v", section, got, want)
				}
			}
			byVec, err := db.readSectionsOf(ctx, iv, vecs[:1])
			if err != nil {
				t.Fatal(err)
			}
			if cs := byVec[vecs[0]]; len(cs) != 2 || cs[0].SHA256 != "a1" || cs[1].SHA256 != "b2" || cs[1].EndLine != 2 ||
				cs[0].Hash != strings.Repeat("0", 64) || cs[0].Kind != search.SectionSystem || len(byVec) != 1 {
				t.Errorf("sections of a vector: %+v", byVec)
			}
			c, err := db.Section(ctx, iv, "a1", 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := (search.SectionRef{Ord: 1, Name: "Tool Change", Kind: search.SectionUser, StartLine: 4, EndLine: 6}); c.SectionRef != want ||
				c.DocID != docs[0] || c.Hash != strings.Repeat("1", 64) || len(c.Vector) != search.Dims {
				t.Errorf("Section: %+v", c)
			}
			if _, err := db.Section(ctx, iv, "a1", 3); !errors.Is(err, search.ErrNotIndexed) {
				t.Errorf("a section past the last: %v", err)
			}
		}
		readRows := func() []row {
			t.Helper()
			rows, err := db.SQL.QueryContext(ctx, `SELECT `+sectionRowColumns+` FROM search_sections s ORDER BY s.doc_id, s.ord`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []row
			for rows.Next() {
				d, s, err := scanSectionRow(rows)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, row{d, s})
			}
			return out
		}

		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()
		if db.Dialect == Postgres {
			var n int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_sections`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("%d rows of packed sections; want one per document with sections", n)
			}
		}
		if _, err := p.DownTo(ctx, 169); err != nil {
			t.Fatal(err)
		}
		if back := readRows(); !reflect.DeepEqual(back, old) {
			t.Errorf("down restored\n%+v\nwant\n%+v", back, old)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check()

		// Collecting docs[1]: vecs[0] and vecs[2] stay (docs[0] uses them).
		// Then docs[0]: every vector goes.
		for i, d := range []int64{docs[1], docs[0]} {
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				return db.gcSearch(ctx, tx, `SELECT id FROM search_docs WHERE id = $1`, d)
			}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_vectors`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := []int{3, 0}[i]; n != want {
				t.Errorf("after collecting document %d: %d vectors; want %d", d, n, want)
			}
		}
	})
}
