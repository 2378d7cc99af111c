package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/pressly/goose/v3"

	"github.com/veripost/veripost/internal/search"
)

// Since migrations 00170–00172 PostgreSQL keeps a document's sections in
// one row of search_sections (doc_id, sections, vector_ids) instead of a
// row per section: a section's data is ~75 bytes, and a row of its own
// added a 24-byte tuple header, a line pointer and two b-tree entries
// (the primary key and the vector index), more than the data itself. A
// document has ~40 sections, always read together (its page, its hits)
// or found by vector.
//
// vector_ids is the sections' vectors in section order (a section's ord
// is its position, from 0), under a GIN index: which documents have a
// vector is a lookup of one compressed posting list (vector_ids && …),
// for a fraction of a b-tree's bytes. sections is, per section, unsigned
// varints of kind << 1 | (a canonical name is stored), of the name's
// length then its bytes, and, when stored, of the canonical name's length
// then its bytes ('' when it is the name, as in storedCanonical); then a
// signed varint of the start line less the previous section's end line
// (0 before the first) and one of the end line less the start line.
//
// SQLite keeps a row per section (doc_id, ord, name, canonical, kind,
// start_line, end_line, vector_id): its rows carry no such overhead, and
// it has no index over arrays to find a vector's documents by.

// storedSection is a section of a document as the index keeps it.
type storedSection struct {
	ord             int
	name, canonical string // canonical: '' when it is the name
	kind            int16
	start, end      int
	vector          int64
}

// canonicalName is the section's canonical name.
func (s storedSection) canonicalName() string {
	if s.canonical == "" {
		return s.name
	}
	return s.canonical
}

// ref is the section as search results show it.
func (s storedSection) ref() search.SectionRef {
	return search.SectionRef{Ord: s.ord, Name: s.name, Kind: sectionKindName(int(s.kind)), StartLine: s.start, EndLine: s.end}
}

// encodeSections packs a document's sections (in ord order, from 0) into
// PostgreSQL's columns.
func encodeSections(secs []storedSection) ([]byte, []int32) {
	b := make([]byte, 0, 24*len(secs))
	vectors := make([]int32, len(secs))
	prevEnd := 0
	for i, s := range secs {
		head := uint64(uint16(s.kind)) << 1
		if s.canonical != "" {
			head |= 1
		}
		b = binary.AppendUvarint(b, head)
		b = appendSectionString(b, s.name)
		if s.canonical != "" {
			b = appendSectionString(b, s.canonical)
		}
		b = binary.AppendVarint(b, int64(s.start-prevEnd))
		b = binary.AppendVarint(b, int64(s.end-s.start))
		prevEnd = s.end
		vectors[i] = int32(s.vector)
	}
	return b, vectors
}

func appendSectionString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errSections = errors.New("corrupt search document sections")

// decodeSections reads what encodeSections wrote: as many sections as
// vectors, and nothing after them.
func decodeSections(b []byte, vectors []int32) ([]storedSection, error) {
	out := make([]storedSection, len(vectors))
	prevEnd := int64(0)
	for i, v := range vectors {
		head, k := binary.Uvarint(b)
		if k <= 0 || head>>1 > math.MaxInt16 {
			return nil, errSections
		}
		b = b[k:]
		s := storedSection{ord: i, kind: int16(head >> 1), vector: int64(v)}
		var ok bool
		if s.name, b, ok = sectionString(b); !ok {
			return nil, errSections
		}
		if head&1 != 0 {
			if s.canonical, b, ok = sectionString(b); !ok || s.canonical == "" {
				return nil, errSections
			}
		}
		start, k := binary.Varint(b)
		if k <= 0 {
			return nil, errSections
		}
		b = b[k:]
		length, k := binary.Varint(b)
		if k <= 0 {
			return nil, errSections
		}
		b = b[k:]
		// Lines are int4 in SQL: the differences of two are within 2^32,
		// and so the sums cannot overflow.
		if start < -(1<<32) || start > 1<<32 || length < -(1<<32) || length > 1<<32 {
			return nil, errSections
		}
		startLine, endLine := prevEnd+start, prevEnd+start+length
		if startLine < math.MinInt32 || startLine > math.MaxInt32 || endLine < math.MinInt32 || endLine > math.MaxInt32 {
			return nil, errSections
		}
		s.start, s.end, prevEnd = int(startLine), int(endLine), endLine
		out[i] = s
	}
	if len(b) != 0 {
		return nil, errSections
	}
	return out, nil
}

// sectionString reads a length and that many bytes.
func sectionString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	b = b[k:]
	return string(b[:n]), b[n:], true
}

// sectionRowColumns are the columns of SQLite's row per section, read by
// scanSectionRow.
const sectionRowColumns = `s.doc_id, s.ord, s.name, s.canonical, s.kind, s.start_line, s.end_line, s.vector_id`

// scanSectionRow scans sectionRowColumns and then extra.
func scanSectionRow(sc interface{ Scan(...any) error }, extra ...any) (int64, storedSection, error) {
	var doc int64
	var s storedSection
	err := sc.Scan(append([]any{&doc, &s.ord, &s.name, &s.canonical, &s.kind, &s.start, &s.end, &s.vector}, extra...)...)
	return doc, s, err
}

// readSections returns the sections of documents in ord order (a document
// without any is absent): all of them, or those a section query (a
// canonical name, or a prefix and *) names when named is not empty.
func (db *DB) readSections(ctx context.Context, docs []int64, named string) (map[int64][]storedSection, error) {
	out := make(map[int64][]storedSection, len(docs))
	if len(docs) == 0 {
		return out, nil
	}
	cond, arg := db.anyIDs("s.doc_id", docs, 1)
	if db.Dialect == SQLite {
		args := []any{arg}
		if named != "" {
			match, name := `= $2`, any(named)
			if p, ok := strings.CutSuffix(named, "*"); ok {
				match, name = `LIKE $2 ESCAPE '\'`, likeEscape(p)+"%"
			}
			cond += ` AND (CASE WHEN s.canonical = '' THEN s.name ELSE s.canonical END) ` + match
			args = append(args, name)
		}
		rows, err := db.R.QueryContext(ctx, `SELECT `+sectionRowColumns+` FROM search_sections s WHERE `+cond+` ORDER BY s.doc_id, s.ord`, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			doc, s, err := scanSectionRow(rows)
			if err != nil {
				return nil, err
			}
			out[doc] = append(out[doc], s)
		}
		return out, rows.Err()
	}
	args := []any{arg}
	if named != "" {
		// Only the rows holding the name (or prefix) somewhere: a
		// section so named stores it, as its name or its canonical name.
		cond += ` AND position($2 in s.sections) > 0`
		args = append(args, []byte(strings.TrimSuffix(named, "*")))
	}
	rows, err := db.R.QueryContext(ctx, `SELECT s.doc_id, s.sections, s.vector_ids FROM search_sections s WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	err = eachPackedSections(rows, func(doc int64, secs []storedSection) error {
		if named != "" {
			secs = slices.DeleteFunc(secs, func(s storedSection) bool { return !search.SectionNameMatches(named, s.canonicalName()) })
		}
		if len(secs) > 0 {
			out[doc] = secs
		}
		return nil
	})
	return out, err
}

// eachPackedSections calls fn with the sections of each row of rows
// (doc_id, sections, vector_ids), and closes them.
func eachPackedSections(rows *sql.Rows, fn func(doc int64, secs []storedSection) error) error {
	defer rows.Close()
	m := pgtype.NewMap()
	for rows.Next() {
		var doc int64
		var b []byte
		var vectors []int32
		if err := rows.Scan(&doc, &b, m.SQLScanner(&vectors)); err != nil {
			return err
		}
		secs, err := decodeSections(b, vectors)
		if err != nil {
			return fmt.Errorf("sections of search document %d: %w", doc, err)
		}
		if err := fn(doc, secs); err != nil {
			return err
		}
	}
	return rows.Err()
}

// vectorSection is a section found by its vector, with its document.
type vectorSection struct {
	doc int64
	sha string
	storedSection
}

// sectionsWithVectors returns the sections of documents of the index
// version that have any of these vectors.
func (db *DB) sectionsWithVectors(ctx context.Context, indexVersion string, vectors []int64) ([]vectorSection, error) {
	var out []vectorSection
	if db.Dialect == SQLite {
		list, arg := db.idsArg(vectors, 2)
		rows, err := db.R.QueryContext(ctx, `SELECT `+sectionRowColumns+`, d.sha256 FROM search_sections s
			JOIN search_docs d ON d.id = s.doc_id AND d.index_version = $1
			WHERE s.vector_id IN `+list, indexVersion, arg)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var c vectorSection
			if c.doc, c.storedSection, err = scanSectionRow(rows, &c.sha); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	rows, err := db.R.QueryContext(ctx, `SELECT s.doc_id, d.sha256, s.sections, s.vector_ids FROM search_sections s
		JOIN search_docs d ON d.id = s.doc_id AND d.index_version = $1
		WHERE s.vector_ids && $2::int4[]`, indexVersion, vectors)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := make(map[int64]bool, len(vectors))
	for _, v := range vectors {
		want[v] = true
	}
	m := pgtype.NewMap()
	for rows.Next() {
		var c vectorSection
		var b []byte
		var ids []int32
		if err := rows.Scan(&c.doc, &c.sha, &b, m.SQLScanner(&ids)); err != nil {
			return nil, err
		}
		secs, err := decodeSections(b, ids)
		if err != nil {
			return nil, fmt.Errorf("sections of search document %d: %w", c.doc, err)
		}
		for _, s := range secs {
			if want[s.vector] {
				c.storedSection = s
				out = append(out, c)
			}
		}
	}
	return out, rows.Err()
}

// sectionVectorsOf are the distinct vectors of documents' sections.
func (db *DB) sectionVectorsOf(ctx context.Context, tx *sql.Tx, docs []int64) ([]int64, error) {
	list, arg := db.idsArg(docs, 1)
	col := "vector_id"
	if db.Dialect == Postgres {
		col = "unnest(vector_ids)"
	}
	return queryInts(ctx, tx, `SELECT DISTINCT `+col+` FROM search_sections WHERE doc_id IN `+list, arg)
}

// sectionUsesVector is the condition that a section uses the vector of
// the row of search_vectors (GIN-indexed on PostgreSQL).
func (db *DB) sectionUsesVector() string {
	if db.Dialect == Postgres {
		return `EXISTS (SELECT 1 FROM search_sections s WHERE s.vector_ids @> ARRAY[search_vectors.id::int4])`
	}
	return `EXISTS (SELECT 1 FROM search_sections s WHERE s.vector_id = search_vectors.id)`
}

// sectionPacksMigration is migration 00171 (PostgreSQL; nothing on
// SQLite): the rows of search_sections, one per section, are packed a row
// per document into search_sections_packed (00170), which 00172 puts in
// their place. Down unpacks them again.
func sectionPacksMigration(d Dialect) *goose.Migration {
	return goose.NewGoMigration(171, onlyOn(d, Postgres, packSectionRows), onlyOn(d, Postgres, unpackSectionRows))
}

// sectionMigrationDocs is how many document ids the migration converts at
// a time (a range of ids, so memory stays bounded).
const sectionMigrationDocs = 1024

func packSectionRows(ctx context.Context, tx *sql.Tx, _ Dialect) error {
	err := eachIDRange(ctx, tx, `SELECT COALESCE(MAX(doc_id), 0) FROM search_sections`, sectionMigrationDocs, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sectionRowColumns+` FROM search_sections s
			WHERE s.doc_id > $1 AND s.doc_id <= $2 ORDER BY s.doc_id, s.ord`, lo, hi)
		if err != nil {
			return err
		}
		var docs []int64
		var secs [][]storedSection
		for rows.Next() {
			doc, s, err := scanSectionRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if len(docs) == 0 || docs[len(docs)-1] != doc {
				docs, secs = append(docs, doc), append(secs, nil)
			}
			last := &secs[len(secs)-1]
			// An ord is a position in the packed row: they must run from 0.
			if s.ord != len(*last) {
				rows.Close()
				return fmt.Errorf("document %d has section %d after %d others", doc, s.ord, len(*last))
			}
			*last = append(*last, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(docs) == 0 {
			return err
		}
		blobs, vectors := make([][]byte, len(docs)), make([]string, len(docs))
		for i, ss := range secs {
			var ids []int32
			blobs[i], ids = encodeSections(ss)
			vectors[i] = int4ArrayLiteral(ids)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO search_sections_packed (doc_id, sections, vector_ids)
			SELECT d, s, v::int4[] FROM unnest($1::int4[], $2::bytea[], $3::text[]) AS u(d, s, v)`, docs, blobs, vectors)
		return err
	})
	if err != nil {
		return fmt.Errorf("packing search sections: %w", err)
	}
	return nil
}

// int4ArrayLiteral is ids as an int4[] literal ("{1,2}"): the migration
// passes arrays of arrays of different lengths as text.
func int4ArrayLiteral(ids []int32) string {
	b := []byte{'{'}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, '}'))
}

func unpackSectionRows(ctx context.Context, tx *sql.Tx, _ Dialect) error {
	err := eachIDRange(ctx, tx, `SELECT COALESCE(MAX(doc_id), 0) FROM search_sections_packed`, sectionMigrationDocs, func(lo, hi int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT doc_id, sections, vector_ids FROM search_sections_packed
			WHERE doc_id > $1 AND doc_id <= $2`, lo, hi)
		if err != nil {
			return err
		}
		var docs, ords, kinds, starts, ends, vecs []int64
		var names, canonicals []string
		if err := eachPackedSections(rows, func(doc int64, secs []storedSection) error {
			for _, s := range secs {
				docs, ords, names, canonicals = append(docs, doc), append(ords, int64(s.ord)), append(names, s.name), append(canonicals, s.canonical)
				kinds, starts, ends, vecs = append(kinds, int64(s.kind)), append(starts, int64(s.start)), append(ends, int64(s.end)), append(vecs, s.vector)
			}
			return nil
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, vector_id)
			SELECT * FROM unnest($1::int4[], $2::int4[], $3::text[], $4::text[], $5::int2[], $6::int4[], $7::int4[], $8::int4[])`,
			docs, ords, names, canonicals, kinds, starts, ends, vecs)
		return err
	})
	if err != nil {
		return fmt.Errorf("unpacking search sections: %w", err)
	}
	// 00170's down drops it; emptied here so that up can run again without it.
	_, err = tx.ExecContext(ctx, `DELETE FROM search_sections_packed`)
	return err
}
