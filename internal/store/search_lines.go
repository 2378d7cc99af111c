package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/zpack"
)

// A search document's lines are stored as one row (search_doc_lines).
// "Which documents hold text T" is answered by search_postings, a posting
// per text, document and section with the number of such lines (on
// PostgreSQL packed per text and block of documents, search_postings.go).
// A row per line made the index as large as the sources.
//
// The row is a 0 byte (the format mark) and then, per non-blank line in
// line order: an unsigned varint of the line number less the previous
// line's, shifted left by one, with the low bit set when the line's
// section differs from the previous line's (the first line's from -1,
// outside sections); a signed varint of the text id less the previous
// line's (documents derived from one template hold texts added in
// nearly their order, so this is mostly one byte); and, when the section
// changed, an unsigned varint of its ord plus one. Rows written before
// the mark (three unsigned varints per line: line number less the
// previous one, which is never 0 for the first line, text id, section ord
// plus one) are read as well.

// docLinesMark starts a row of the current format; docLinesZstdMark a
// row whose rest is a zstd frame of such a row, written when smaller (a
// third smaller, on generated and real posts alike: a document repeats
// its line patterns). Rows of either mark are read. (Rows of before the
// mark, which migration 00127 repacked, could start with a 1 too, but
// not with a 1 and a zstd frame's magic number.)
const (
	docLinesMark     = 0
	docLinesZstdMark = 1
)

// docLinesCompressFrom is the row length from which a compressed form is
// tried: a frame's header costs more than a short row would save.
const docLinesCompressFrom = 64

// docLine is one stored line of a search document.
type docLine struct {
	n       int
	text    int64
	section int // ord in search_sections, -1 outside sections
}

// encodeDocLines packs lines, sorted by line number.
func encodeDocLines(lines []docLine) []byte {
	out := make([]byte, 1, 1+3*len(lines))
	out[0] = docLinesMark
	prevN, prevText, prevSection := 0, int64(0), -1
	for _, l := range lines {
		head := uint64(l.n-prevN) << 1
		if l.section != prevSection {
			head |= 1
		}
		out = binary.AppendUvarint(out, head)
		out = binary.AppendVarint(out, l.text-prevText)
		if l.section != prevSection {
			out = binary.AppendUvarint(out, uint64(l.section+1))
		}
		prevN, prevText, prevSection = l.n, l.text, l.section
	}
	if len(out) >= docLinesCompressFrom {
		if z := zpack.Compress(out); len(z)+1 < len(out) {
			return append([]byte{docLinesZstdMark}, z...)
		}
	}
	return out
}

// decodeDocLines reads what encodeDocLines wrote.
func decodeDocLines(b []byte) ([]docLine, error) {
	out := make([]docLine, 0, len(b)/2)
	err := eachDocLine(b, func(l docLine) bool {
		out = append(out, l)
		return true
	})
	return out, err
}

var errDocLines = errors.New("corrupt search document lines")

// eachDocLine calls fn with the packed lines in order until it returns
// false, without building them all (a large library has thousands).
func eachDocLine(b []byte, fn func(docLine) bool) error {
	if len(b) > 0 && b[0] == docLinesZstdMark && zpack.IsZstd(b[1:]) {
		raw, err := zpack.Decompress(b[1:])
		if err != nil || len(raw) == 0 || raw[0] != docLinesMark {
			return errDocLines
		}
		b = raw
	}
	if len(b) == 0 || b[0] != docLinesMark {
		return eachOldDocLine(b, fn)
	}
	b = b[1:]
	l := docLine{section: -1}
	for len(b) > 0 {
		head, k := binary.Uvarint(b)
		if k <= 0 || head > 1<<53 {
			return errDocLines
		}
		b = b[k:]
		delta, k := binary.Varint(b)
		if k <= 0 || delta > 1<<53 || delta < -(1<<53) {
			return errDocLines
		}
		b = b[k:]
		l.n += int(head >> 1)
		l.text += delta
		if head&1 != 0 {
			sec, k := binary.Uvarint(b)
			if k <= 0 || sec > 1<<31 {
				return errDocLines
			}
			b = b[k:]
			l.section = int(sec) - 1
		}
		if l.text < 0 || l.n > 1<<53 {
			return errDocLines
		}
		if !fn(l) {
			return nil
		}
	}
	return nil
}

// eachOldDocLine is eachDocLine for rows written before the format mark.
func eachOldDocLine(b []byte, fn func(docLine) bool) error {
	n := 0
	for len(b) > 0 {
		var v [3]uint64
		for i := range v {
			x, k := binary.Uvarint(b)
			if k <= 0 || x > 1<<53 {
				return errDocLines
			}
			v[i], b = x, b[k:]
		}
		n += int(v[0])
		if !fn(docLine{n: n, text: int64(v[1]), section: int(v[2]) - 1}) {
			return nil
		}
	}
	return nil
}

// posting is one row of search_postings (without the document).
type posting struct {
	text    int64
	section int
	kind    int16
	hits    int
}

// sectionKind is the posting's search_postings.section_kind (migration
// 00128): its section and the section's kind in one integer.
func (p posting) sectionKind() int64 { return int64(p.section+1)*8 + int64(p.kind) }

// postingsOf counts a document's lines per text and section, in key order
// (text, section): the order PostgreSQL writers insert in.
func postingsOf(lines []docLine, kindOf func(section int) int16) []posting {
	type key struct {
		text    int64
		section int
	}
	idx := map[key]int{}
	var out []posting
	for _, l := range lines {
		k := key{l.text, l.section}
		if i, ok := idx[k]; ok {
			out[i].hits++
			continue
		}
		idx[k] = len(out)
		out = append(out, posting{text: l.text, section: l.section, kind: kindOf(l.section), hits: 1})
	}
	slices.SortFunc(out, func(a, b posting) int {
		if c := cmp.Compare(a.text, b.text); c != 0 {
			return c
		}
		return cmp.Compare(a.section, b.section)
	})
	return out
}

// readDocLines reads the packed lines of documents.
func (db *DB) readDocLines(ctx context.Context, docIDs []int64) (map[int64][]byte, error) {
	list, arg := db.idsArg(docIDs, 1)
	rows, err := db.R.QueryContext(ctx, `SELECT doc_id, lines FROM search_doc_lines WHERE doc_id IN `+list, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][]byte, len(docIDs))
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		out[id] = b
	}
	return out, rows.Err()
}

// searchLinesMigration is migration 00111: the rows of search_lines (one
// per line, migrations 00020 and 00087) become a row per document in
// search_doc_lines and postings in search_postings (00110); 00112 drops
// search_lines. Down converts back.
func searchLinesMigration() *goose.Migration {
	return goose.NewGoMigration(111, &goose.GoFunc{RunTx: convertSearchLines}, &goose.GoFunc{RunTx: restoreSearchLines})
}

func convertSearchLines(ctx context.Context, tx *sql.Tx) error {
	// Postings count the lines in SQL; the documents' rows are packed here,
	// one document at a time in line order.
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_postings (text_id, doc_id, section, kind, hits)
		SELECT text_id, doc_id, section, MIN(kind), COUNT(*) FROM search_lines GROUP BY text_id, doc_id, section`); err != nil {
		return fmt.Errorf("converting search lines to postings: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT doc_id, line, text_id, section FROM search_lines ORDER BY doc_id, line`)
	if err != nil {
		return err
	}
	type docRow struct {
		id    int64
		lines []byte
	}
	var docs []docRow
	var cur []docLine
	curID := int64(-1)
	flush := func() {
		if len(cur) > 0 {
			docs = append(docs, docRow{curID, encodeDocLines(cur)})
		}
		cur = cur[:0]
	}
	for rows.Next() {
		var id int64
		var l docLine
		if err := rows.Scan(&id, &l.n, &l.text, &l.section); err != nil {
			rows.Close()
			return err
		}
		if id != curID {
			flush()
			curID = id
		}
		cur = append(cur, l)
	}
	flush()
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range docs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2)`, d.id, d.lines); err != nil {
			return fmt.Errorf("converting search lines of document %d: %w", d.id, err)
		}
	}
	return nil
}

func restoreSearchLines(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT l.doc_id, l.lines FROM search_doc_lines l`)
	if err != nil {
		return err
	}
	byDoc := map[int64][]docLine{}
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return err
		}
		if byDoc[id], err = decodeDocLines(b); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, lines := range byDoc {
		for _, l := range lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_lines (doc_id, line, text_id, section, kind)
				VALUES ($1, $2, $3, $4, COALESCE((SELECT MIN(kind) FROM search_postings WHERE text_id = $3 AND doc_id = $1 AND section = $4), 0))`,
				id, l.n, l.text, l.section); err != nil {
				return err
			}
		}
	}
	// 00110's Down drops them; emptied here so that Up can run again
	// without it.
	for _, table := range []string{"search_postings", "search_doc_lines"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return err
		}
	}
	return nil
}

// docTexts returns the distinct text ids, in order, of the documents'
// stored lines that query (one column of packed lines) selects.
func docTexts(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[int64]bool{}
	var out []int64
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		lines, err := decodeDocLines(b)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if !seen[l.text] {
				seen[l.text] = true
				out = append(out, l.text)
			}
		}
	}
	slices.Sort(out)
	return out, rows.Err()
}

// docLinesFormatMigration is migration 00127: the rows of search_doc_lines
// written before the format mark are packed again in the current format
// (readers take both, so it only saves their bytes); down writes every row
// in the old format.
func docLinesFormatMigration() *goose.Migration {
	return goose.NewGoMigration(127,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return repackDocLines(ctx, tx, encodeDocLines) }},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return repackDocLines(ctx, tx, encodeOldDocLines) }})
}

// encodeOldDocLines packs lines in the format before the mark.
func encodeOldDocLines(lines []docLine) []byte {
	out := make([]byte, 0, 4*len(lines))
	prev := 0
	for _, l := range lines {
		out = binary.AppendUvarint(out, uint64(l.n-prev))
		out = binary.AppendUvarint(out, uint64(l.text))
		out = binary.AppendUvarint(out, uint64(l.section+1))
		prev = l.n
	}
	return out
}

// repackDocLines rewrites every row of search_doc_lines with encode, a
// batch of documents at a time (a large index has tens of thousands).
func repackDocLines(ctx context.Context, tx *sql.Tx, encode func([]docLine) []byte) error {
	const batch = 500
	after := int64(-1)
	for {
		rows, err := tx.QueryContext(ctx, `SELECT doc_id, lines FROM search_doc_lines WHERE doc_id > $1 ORDER BY doc_id LIMIT $2`, after, batch)
		if err != nil {
			return err
		}
		type docRow struct {
			id    int64
			lines []byte
		}
		var docs []docRow
		for rows.Next() {
			var d docRow
			if err := rows.Scan(&d.id, &d.lines); err != nil {
				rows.Close()
				return err
			}
			docs = append(docs, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(docs) == 0 {
			return nil
		}
		for _, d := range docs {
			lines, err := decodeDocLines(d.lines)
			if err != nil {
				return fmt.Errorf("search document %d: %w", d.id, err)
			}
			packed := encode(lines)
			if !bytes.Equal(packed, d.lines) {
				if _, err := tx.ExecContext(ctx, `UPDATE search_doc_lines SET lines = $1 WHERE doc_id = $2`, packed, d.id); err != nil {
					return fmt.Errorf("repacking the lines of search document %d: %w", d.id, err)
				}
			}
			after = d.id
		}
	}
}
