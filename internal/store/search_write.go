package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/search"
)

// Writing the search index. A document is stored once per content; its
// lines point at distinct analysed lines (search_texts) and its sections at
// distinct vectors (search_vectors), so the many posts derived from one
// template share most rows. Rows no document uses any more are collected
// when documents go (gcSearch).

// On PostgreSQL, writers of documents share the search lock and the
// collector of unused rows (gcSearch) takes it alone: documents are written
// in parallel, and no analysed line or vector is removed while a document
// being written points at it. Writers add shared rows with ON CONFLICT DO
// NOTHING, in key order, so two writers adding the same new line wait for
// each other instead of failing, and never deadlock. The locks are taken
// after any per-content locks, so the order is always content locks, then
// this one. SQLite's single writer needs none.
const (
	searchWriteLock = `SELECT pg_advisory_xact_lock_shared(hashtext('veripost:search-index'))`
	searchLock      = `SELECT pg_advisory_xact_lock(hashtext('veripost:search-index'))`
)

// sectionKinds are the codes of section kinds (search_sections.kind, and
// the low 3 bits of search_postings.section_kind).
var sectionKinds = []string{"none", search.SectionSystem, search.SectionTemplate, search.SectionCalc, search.SectionUser}

// kindCode is the code of the kind of the section a line is in.
func kindCode(d *search.Document, l search.Line) int16 {
	if l.Section < 0 || l.Section >= len(d.Sections) {
		return 0
	}
	return sectionKindCode(d.Sections[l.Section].Kind)
}

// sectionKindCode is the code of a section kind (search_postings.kind and
// search_sections.kind); 0 for none.
func sectionKindCode(kind string) int16 {
	for i, k := range sectionKinds {
		if k == kind {
			return int16(i)
		}
	}
	return 0
}

// sectionKindName is the kind a code stands for.
func sectionKindName(code int) string {
	if code > 0 && code < len(sectionKinds) {
		return sectionKinds[code]
	}
	return sectionKinds[0]
}

// storedCanonical is the canonical name as search_sections keeps it: ”
// when it is the name itself (migration 00126).
func storedCanonical(s search.Section) string {
	if s.Canonical == s.Name {
		return ""
	}
	return s.Canonical
}

// sectionHash is a section's hash read from its vector's key (vectorKey):
// search_sections does not repeat it (migration 00126).
func sectionHash(key string) string {
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// textKey identifies an analysed line by everything stored of it.
func textKey(l search.Line) string {
	h := sha256.New()
	for _, part := range []string{strconv.Itoa(l.Class), l.Text, l.Output, joinTerms(l.Words), joinTerms(l.Prose),
		joinTerms(l.Parts), joinTerms(l.Defs), joinTerms(l.Sets)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:20])
}

// vectorKey identifies a section's embedding: its bytes, under an index
// version (the embedding of the same bytes may change with it).
func vectorKey(indexVersion, sectionHash string) string { return indexVersion + ":" + sectionHash }

// StoredDocs implements search.Store.
func (db *DB) StoredDocs(ctx context.Context, indexVersion string, shas []string) (map[string]search.DocSummary, error) {
	out := map[string]search.DocSummary{}
	if len(shas) == 0 {
		return out, nil
	}
	ph, args := inList(2, shas)
	rows, err := db.SQL.QueryContext(ctx, `SELECT sha256, kind, vector, signature FROM search_docs
		WHERE index_version = $1 AND sha256 IN (`+ph+`)`, append([]any{indexVersion}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sha string
		var s search.DocSummary
		var vec, sig []byte
		if err := rows.Scan(&sha, &s.Kind, &vec, &sig); err != nil {
			return nil, err
		}
		s.Vector, s.Signature = search.DecodeVector(vec), search.DecodeSignature(sig)
		out[sha] = s
	}
	return out, rows.Err()
}

// SaveDocs implements search.Store.
func (db *DB) SaveDocs(ctx context.Context, indexVersion string, docs []search.Document, model string, ext []search.ExternalVector) error {
	extBy := map[string][]search.ExternalVector{}
	for _, e := range ext {
		extBy[e.SHA256] = append(extBy[e.SHA256], e)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].SHA256 < docs[j].SHA256 }) // lock order
	if db.Dialect == Postgres {
		return db.saveDocsPostgres(ctx, indexVersion, docs, model, extBy)
	}
	return db.inBackgroundTx(ctx, func(tx *sql.Tx) error {
		w, err := newSQLiteWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		var postDocs []int64
		var posts [][]byte
		for _, d := range docs {
			docID, ok, err := db.insertDoc(ctx, tx, indexVersion, d)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			textIDs, err := w.textIDs(ctx, d.Lines)
			if err != nil {
				return fmt.Errorf("indexing the lines of %s: %w", d.SHA256, err)
			}
			if p, err := w.lines(ctx, docID, &d, textIDs); err != nil {
				return fmt.Errorf("indexing the lines of %s: %w", d.SHA256, err)
			} else if p != nil {
				postDocs, posts = append(postDocs, docID), append(posts, p)
			}
			vectorIDs, err := w.vectorIDs(ctx, indexVersion, d.Sections)
			if err != nil {
				return err
			}
			for ord, s := range d.Sections {
				if _, err := w.section.ExecContext(ctx, docID, ord, s.Name, storedCanonical(s), sectionKindCode(s.Kind), s.StartLine, s.EndLine, vectorIDs[ord]); err != nil {
					return err
				}
			}
			for _, e := range extBy[d.SHA256] {
				if e.Ord < 0 || e.Ord >= len(vectorIDs) {
					continue
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO search_external_vectors (vector_id, model, vector) VALUES ($1, $2, $3)
					ON CONFLICT DO NOTHING`, vectorIDs[e.Ord], model, encodeVector(e.Vector)); err != nil {
					return err
				}
			}
		}
		return storePostings(ctx, sqlPostings{tx, SQLite}, postDocs, posts)
	})
}

// sqliteWriter holds the prepared statements of one SaveDocs transaction,
// reused document after document. Lookups and line rows go in one
// statement per document (a JSON array read with json_each): a statement
// per row costs more in the driver than SQLite's own work. New texts and
// vectors, a minority once the common templates are indexed, are inserted
// row by row (texts with their FTS5 rows).
type sqliteWriter struct {
	findTexts, addText, terms, trigrams, addLines *sql.Stmt
	findVectors, addVector, section               *sql.Stmt
	texts                                         map[string]int64 // key → id, within this transaction
}

func newSQLiteWriter(ctx context.Context, tx *sql.Tx) (*sqliteWriter, error) {
	w := &sqliteWriter{texts: map[string]int64{}}
	for _, s := range []struct {
		dst **sql.Stmt
		q   string
	}{
		// A text's hash is stored as its 20 bytes (00159) and handled here
		// as hex (textKey).
		{&w.findTexts, `SELECT lower(hex(t.hash)), t.id FROM json_each($1) j JOIN search_texts t ON t.hash = unhex(j.value)`},
		{&w.addText, `INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
			VALUES (unhex($1), $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`},
		// The FTS rows of a document's new texts, from the texts just
		// written (keys as a JSON array): see textIDs.
		{&w.terms, `INSERT INTO search_terms (rowid, words, prose, parts)
			SELECT t.id, t.words, t.prose, t.parts FROM json_each($1) j JOIN search_texts t ON t.hash = unhex(j.value)
			WHERE t.words <> '' OR t.prose <> '' OR t.parts <> ''`},
		{&w.trigrams, `INSERT INTO search_trigrams (rowid, text, output)
			SELECT t.id, t.text, t.output FROM json_each($1) j JOIN search_texts t ON t.hash = unhex(j.value)`},
		{&w.addLines, `INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2)`},
		{&w.findVectors, `SELECT v.key, v.id FROM json_each($1) j JOIN search_vectors v ON v.key = j.value`},
		{&w.addVector, `INSERT INTO search_vectors (key, embedding) VALUES ($1, $2) RETURNING id`},
		{&w.section, `INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, vector_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`},
	} {
		st, err := tx.PrepareContext(ctx, s.q)
		if err != nil {
			w.close()
			return nil, err
		}
		*s.dst = st
	}
	return w, nil
}

func (w *sqliteWriter) close() {
	for _, st := range []*sql.Stmt{w.findTexts, w.addText, w.terms, w.trigrams, w.addLines, w.findVectors, w.addVector, w.section} {
		if st != nil {
			st.Close()
		}
	}
}

// findKeys adds to byKey the ids stored for those of keys it lacks, in one
// query.
func findKeys(ctx context.Context, find *sql.Stmt, keys []string, byKey map[string]int64) error {
	var missing []string
	for _, k := range keys {
		if _, ok := byKey[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := find.QueryContext(ctx, keyArray(missing))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		byKey[k] = id
	}
	return rows.Err()
}

// textIDs returns the ids of the lines' analysed texts, adding the new ones
// (and their FTS rows).
func (w *sqliteWriter) textIDs(ctx context.Context, lines []search.Line) ([]int64, error) {
	keys := make([]string, len(lines))
	for i, l := range lines {
		keys[i] = textKey(l)
	}
	if err := findKeys(ctx, w.findTexts, keys, w.texts); err != nil {
		return nil, err
	}
	// New texts first, then their FTS rows in one statement per table.
	// Interleaving them would cost far more: every statement that writes
	// inside the transaction makes FTS5 flush its pending rows to disk
	// (a savepoint), so a row-by-row FTS insert leaves a segment per line
	// for FTS5 to merge; this way a document's rows make one.
	ids := make([]int64, len(lines))
	var fresh []string // the new texts' keys
	for i, l := range lines {
		id, ok := w.texts[keys[i]]
		if !ok {
			if err := w.addText.QueryRowContext(ctx, keys[i], l.Class, l.Text, l.Output, joinTerms(l.Words), joinTerms(l.Prose),
				joinTerms(l.Parts), joinTerms(l.Defs), joinTerms(l.Sets)).Scan(&id); err != nil {
				return nil, fmt.Errorf("line %d: %w", l.N, err)
			}
			w.texts[keys[i]] = id
			fresh = append(fresh, keys[i])
		}
		ids[i] = id
	}
	if len(fresh) > 0 {
		arr := keyArray(fresh)
		if _, err := w.terms.ExecContext(ctx, arr); err != nil {
			return nil, err
		}
		if _, err := w.trigrams.ExecContext(ctx, arr); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// keyArray is keys as a JSON array for json_each (keys are hex hashes,
// safe in a hand-built array).
func keyArray(keys []string) string {
	arr := make([]byte, 0, len(keys)*(len(keys[0])+3)+2)
	arr = append(arr, '[')
	for i, k := range keys {
		if i > 0 {
			arr = append(arr, ',')
		}
		arr = strconv.AppendQuote(arr, k)
	}
	return string(append(arr, ']'))
}

// lines stores a document's lines (one row) and returns its postings,
// packed for the tail (nil without lines).
func (w *sqliteWriter) lines(ctx context.Context, docID int64, d *search.Document, textIDs []int64) ([]byte, error) {
	if len(d.Lines) == 0 {
		return nil, nil
	}
	lines, posts := docRows(d, textIDs)
	if _, err := w.addLines.ExecContext(ctx, docID, encodeDocLines(lines)); err != nil {
		return nil, err
	}
	return tailPostings(posts), nil
}

// docRows are a document's stored lines, in line order, and its postings.
func docRows(d *search.Document, textIDs []int64) ([]docLine, []posting) {
	lines := make([]docLine, len(d.Lines))
	for i, l := range d.Lines {
		lines[i] = docLine{n: l.N, text: textIDs[i], section: l.Section}
	}
	slices.SortStableFunc(lines, func(a, b docLine) int { return a.n - b.n })
	return lines, postingsOf(lines, func(section int) int16 { return kindCode(d, search.Line{Section: section}) })
}

// vectorIDs returns the ids of the sections' embeddings, adding the new ones.
func (w *sqliteWriter) vectorIDs(ctx context.Context, indexVersion string, secs []search.Section) ([]int64, error) {
	keys := make([]string, len(secs))
	for i, s := range secs {
		keys[i] = vectorKey(indexVersion, s.Hash)
	}
	byKey := map[string]int64{}
	if err := findKeys(ctx, w.findVectors, keys, byKey); err != nil {
		return nil, err
	}
	ids := make([]int64, len(secs))
	for i, s := range secs {
		id, ok := byKey[keys[i]]
		if !ok {
			vec := s.Vector
			if len(vec) != search.Dims {
				vec = make([]float32, search.Dims)
			}
			if err := w.addVector.QueryRowContext(ctx, keys[i], search.EncodeVector(vec)).Scan(&id); err != nil {
				return nil, err
			}
			byKey[keys[i]] = id
		}
		ids[i] = id
	}
	return ids, nil
}

// insertDoc adds a document's row unless it is stored already or no file
// holds its content any more (deleted while it was being built).
func (db *DB) insertDoc(ctx context.Context, tx *sql.Tx, indexVersion string, d search.Document) (int64, bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM files WHERE sha256 = `+db.shaParam("$1")+`)
		ON CONFLICT (sha256, index_version) DO NOTHING RETURNING id`,
		d.SHA256, indexVersion, d.Kind, d.LineCount, d.Bytes, search.EncodeVector(d.Vector), search.EncodeSignature(d.Signature), now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil // stored meanwhile by another upload, or deleted
	}
	return id, err == nil, err
}

// saveDocsPostgres writes documents in one transaction: the documents'
// new analysed lines in one INSERT … SELECT FROM unnest, their new vectors
// in another, then each document's lines, and the documents' sections (a
// row each, search_sections.go) with one COPY.
func (db *DB) saveDocsPostgres(ctx context.Context, indexVersion string, docs []search.Document, model string, extBy map[string][]search.ExternalVector) error {
	b, err := db.backend(ctx)
	if err != nil {
		return err
	}
	return db.withPgx(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			// Content locks first, in the order lockContents takes them.
			shas := make([]string, len(docs))
			for i, d := range docs {
				shas[i] = d.SHA256
			}
			slices.Sort(shas)
			for _, sha := range slices.Compact(shas) {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "blob:"+sha); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, searchWriteLock); err != nil {
				return err
			}
			var added []*search.Document
			var docIDs []int64
			var lines []search.Line
			var vecKeys []string
			var vecs [][]float32
			for i := range docs {
				d := &docs[i]
				var docID int64
				err := tx.QueryRow(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
					SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM files WHERE sha256 = $1)
					ON CONFLICT (sha256, index_version) DO NOTHING RETURNING id`,
					d.SHA256, indexVersion, d.Kind, d.LineCount, d.Bytes, search.EncodeVector(d.Vector), search.EncodeSignature(d.Signature), now()).Scan(&docID)
				if errors.Is(err, pgx.ErrNoRows) {
					continue // stored meanwhile by another upload, or deleted
				}
				if err != nil {
					return err
				}
				added, docIDs = append(added, d), append(docIDs, docID)
				lines = append(lines, d.Lines...)
				for _, s := range d.Sections {
					vecKeys, vecs = append(vecKeys, vectorKey(indexVersion, s.Hash)), append(vecs, s.Vector)
				}
			}
			textIDs, err := pgTexts(ctx, tx, lines)
			if err != nil {
				return fmt.Errorf("indexing analysed lines: %w", err)
			}
			vectorIDs, err := pgVectors(ctx, tx, vecKeys, vecs, b.vectors == "pgvector")
			if err != nil {
				return fmt.Errorf("indexing section vectors: %w", err)
			}
			var postDocs []int64
			var posts [][]byte
			var sections [][]any // a row per document with sections
			for i, d := range added {
				docID := docIDs[i]
				if len(d.Lines) > 0 {
					lines, docPosts := docRows(d, textIDs[:len(d.Lines)])
					if _, err := tx.Exec(ctx, `INSERT INTO search_doc_lines (doc_id, lines) VALUES ($1, $2)`, docID, encodeDocLines(lines)); err != nil {
						return fmt.Errorf("indexing the lines of %s: %w", d.SHA256, err)
					}
					postDocs, posts = append(postDocs, docID), append(posts, tailPostings(docPosts))
				}
				textIDs = textIDs[len(d.Lines):]
				if len(d.Sections) > 0 {
					secs := make([]storedSection, len(d.Sections))
					for j, s := range d.Sections {
						secs[j] = storedSection{ord: j, name: s.Name, canonical: storedCanonical(s), kind: sectionKindCode(s.Kind),
							start: s.StartLine, end: s.EndLine, vector: vectorIDs[j]}
					}
					packed, vectors := encodeSections(secs)
					sections = append(sections, []any{docID, packed, vectors})
				}
				for _, e := range extBy[d.SHA256] {
					if e.Ord < 0 || e.Ord >= len(d.Sections) {
						continue
					}
					if _, err := tx.Exec(ctx, `INSERT INTO search_external_vectors (vector_id, model, vector) VALUES ($1, $2, $3)
						ON CONFLICT DO NOTHING`, vectorIDs[e.Ord], model, e.Vector); err != nil {
						return err
					}
				}
				vectorIDs = vectorIDs[len(d.Sections):]
			}
			if len(sections) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_sections"}, []string{"doc_id", "sections", "vector_ids"},
					pgx.CopyFromRows(sections)); err != nil {
					return err
				}
			}
			// The postings last: a fold writes blocks shared with
			// concurrent writers, whose folds wait for this transaction
			// to end.
			return storePostings(ctx, pgxPostings{tx}, postDocs, posts)
		})
	})
}

// pgFindTexts looks texts up by their hex keys (textKey); the hash is
// stored as its 20 bytes (00159).
const pgFindTexts = `SELECT encode(hash, 'hex'), id FROM search_texts WHERE hash IN (SELECT decode(unnest($1::text[]), 'hex'))`

// pgTexts returns the ids of the lines' analysed texts, adding the new ones
// in one statement, in hash order (see searchWriteLock).
func pgTexts(ctx context.Context, tx pgx.Tx, lines []search.Line) ([]int64, error) {
	keys := make([]string, len(lines))
	byKey := map[string]int64{}
	for i, l := range lines {
		keys[i] = textKey(l)
		byKey[keys[i]] = 0
	}
	if err := pgFindKeys(ctx, tx, pgFindTexts, byKey); err != nil {
		return nil, err
	}
	var cols [9][]string
	var classes []int16
	added := map[string]bool{}
	for i, l := range lines {
		k := keys[i]
		if byKey[k] != 0 || added[k] {
			continue
		}
		added[k] = true
		classes = append(classes, int16(l.Class))
		for j, v := range []string{k, "", l.Text, l.Output, joinTerms(l.Words), joinTerms(l.Prose),
			joinTerms(l.Parts), joinTerms(l.Defs), joinTerms(l.Sets)} {
			cols[j] = append(cols[j], v)
		}
	}
	if len(added) > 0 {
		rows, err := tx.Query(ctx, `INSERT INTO search_texts (hash, class, text, output, words, prose, parts, defs, sets)
			SELECT decode(h, 'hex'), c, t, o, w, p, pa, d, s
			FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
				AS u(h, c, t, o, w, p, pa, d, s)
			ORDER BY 1 ON CONFLICT (hash) DO NOTHING RETURNING encode(hash, 'hex'), id`,
			cols[0], classes, cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8])
		if err != nil {
			return nil, err
		}
		if err := scanHashIDs(rows, byKey); err != nil {
			return nil, err
		}
		// Those another writer added meanwhile.
		if err := pgFindKeys(ctx, tx, pgFindTexts, byKey); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, len(lines))
	for i, k := range keys {
		ids[i] = byKey[k]
	}
	return ids, nil
}

// pgVectors returns the ids of section embeddings by key, adding the new
// ones in one statement, in key order (see searchWriteLock).
func pgVectors(ctx context.Context, tx pgx.Tx, keys []string, vecs [][]float32, pgvector bool) ([]int64, error) {
	byKey := map[string]int64{}
	for _, k := range keys {
		byKey[k] = 0
	}
	const find = `SELECT key, id FROM search_vectors WHERE key = ANY($1)`
	if err := pgFindKeys(ctx, tx, find, byKey); err != nil {
		return nil, err
	}
	var newKeys []string
	var encoded [][]byte
	var flat []float32
	added := map[string]bool{}
	for i, k := range keys {
		if byKey[k] != 0 || added[k] {
			continue
		}
		added[k] = true
		newKeys = append(newKeys, k)
		v := vecs[i]
		if len(v) != search.Dims {
			v = make([]float32, search.Dims)
		}
		encoded = append(encoded, search.EncodeVector(v))
		if pgvector {
			flat = append(flat, v...)
		}
	}
	if len(newKeys) > 0 {
		cols, vals := "key, embedding", "u.k, u.e"
		args := []any{newKeys, encoded}
		if pgvector {
			// One flat real[] cut per row: unnest would flatten a 2-D array.
			dims := strconv.Itoa(search.Dims)
			cols, vals = cols+", embedding_v", vals+", ($3::real[])[(u.i - 1) * "+dims+" + 1 : u.i * "+dims+"]::vector"
			args = append(args, flat)
		}
		rows, err := tx.Query(ctx, `INSERT INTO search_vectors (`+cols+`)
			SELECT `+vals+` FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS u(k, e, i)
			ORDER BY u.k ON CONFLICT (key) DO NOTHING RETURNING key, id`, args...)
		if err != nil {
			return nil, err
		}
		if err := scanHashIDs(rows, byKey); err != nil {
			return nil, err
		}
		if err := pgFindKeys(ctx, tx, find, byKey); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = byKey[k]
	}
	return ids, nil
}

// pgFindKeys fills in the ids of byKey's keys still 0 with query, which
// takes the keys as a text[] and returns (key, id) rows.
func pgFindKeys(ctx context.Context, tx pgx.Tx, query string, byKey map[string]int64) error {
	var missing []string
	for k, id := range byKey {
		if id == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, query, missing)
	if err != nil {
		return err
	}
	return scanHashIDs(rows, byKey)
}

// SaveVersionIndex implements search.Store. The version points at the
// entry of its file set, stored by the first version with those contents;
// the entry it pointed at before (a reindex) goes when no version uses it
// any more. It also drops documents of the version's contents stored under
// an older index version that no indexed version uses any more.
//
// On PostgreSQL a file set in use is held with FOR KEY SHARE until the
// version row pointing at it commits, and gcFileSets locks a set FOR
// UPDATE before it checks for users, so a set is never removed under a
// version being pointed at it. The version row is locked first, as a
// package deletion locks it before the sets.
func (db *DB) SaveVersionIndex(ctx context.Context, v search.VersionIndex) error {
	if !validID(v.VersionID) {
		return nil
	}
	b, err := db.backend(ctx)
	if err != nil {
		return err
	}
	return db.inBackgroundTx(ctx, func(tx *sql.Tx) error {
		lockVersion := `SELECT id FROM package_versions WHERE id = $1`
		if db.Dialect == Postgres {
			lockVersion += ` FOR KEY SHARE`
		}
		var vid string
		if err := tx.QueryRowContext(ctx, lockVersion, v.VersionID).Scan(&vid); errors.Is(err, sql.ErrNoRows) {
			return nil // the version was deleted meanwhile
		} else if err != nil {
			return err
		}
		old, err := queryInts(ctx, tx, `DELETE FROM search_versions WHERE version_id = $1 RETURNING fileset_id`, v.VersionID)
		if err != nil {
			return err
		}
		setID, err := db.saveFileSet(ctx, tx, b, v)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_versions (version_id, index_version, fileset_id) VALUES ($1, $2, $3)`,
			v.VersionID, v.IndexVersion, setID); err != nil {
			return err
		}
		if err := db.gcFileSets(ctx, tx, slices.DeleteFunc(old, func(id int64) bool { return id == setID })); err != nil {
			return err
		}
		// Documents of an older index version only this version used (after
		// a reindex). There are rarely any, so PostgreSQL takes the search
		// lock alone only when there are.
		stale := `SELECT id FROM search_docs WHERE index_version <> $2
			AND sha256 IN (SELECT ` + db.shaText("sha256") + ` FROM files WHERE version_id = $1)
			AND NOT EXISTS (SELECT 1 FROM files f JOIN search_versions sv ON sv.version_id = f.version_id
				WHERE f.sha256 = ` + db.shaParam("search_docs.sha256") + ` AND sv.index_version = search_docs.index_version)`
		if db.Dialect == Postgres {
			ids, err := queryInts(ctx, tx, stale, v.VersionID, v.IndexVersion)
			if err != nil || len(ids) == 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, searchLock); err != nil {
				return err
			}
		}
		return db.gcSearch(ctx, tx, stale, v.VersionID, v.IndexVersion)
	})
}

// saveFileSet returns the id of v's file set entry, storing it with its
// bands when it is new (on PostgreSQL, held until the transaction ends).
func (db *DB) saveFileSet(ctx context.Context, tx *sql.Tx, b backendInfo, v search.VersionIndex) (int64, error) {
	find := `SELECT id FROM search_filesets WHERE key = $1`
	var insert string
	args := []any{v.FileSet, v.IndexVersion, search.EncodeSignature(v.Signature), search.EncodeVector(v.Vector)}
	if db.Dialect == SQLite {
		insert = `INSERT INTO search_filesets (key, index_version, signature, embedding) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO NOTHING RETURNING id`
	} else {
		find += ` FOR KEY SHARE`
		// The bands go on the row (a bigint[] under a GIN index, 00158).
		args = append(args, setBands(v.Bands))
		vecCol, vecVal := "", ""
		if b.vectors == "pgvector" {
			vecCol, vecVal = ", embedding_v", ", $6::real[]::vector"
			args = append(args, pgArray(v.Vector))
		}
		insert = `INSERT INTO search_filesets (key, index_version, signature, embedding, bands` + vecCol + `)
			VALUES ($1, $2, $3, $4, $5::bigint[]` + vecVal + `) ON CONFLICT (key) DO NOTHING RETURNING id`
	}
	// Another writer may add or collect the same set meanwhile: look again.
	for range 3 {
		var id int64
		err := tx.QueryRowContext(ctx, find, v.FileSet).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		err = tx.QueryRowContext(ctx, insert, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if len(v.Bands) > 0 && db.Dialect == SQLite {
			list, arg := db.idsArg(v.Bands, 1)
			// WHERE true: SQLite's parser needs it before ON CONFLICT in INSERT … SELECT.
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_fileset_bands (band, fileset_id)
				SELECT DISTINCT b.*, CAST($2 AS BIGINT) FROM `+list+` b WHERE true ON CONFLICT DO NOTHING`, arg, id); err != nil {
				return 0, err
			}
		}
		return id, nil
	}
	return 0, fmt.Errorf("storing the search entry of file set %s: it keeps changing under this writer; try again", v.FileSet)
}

// setBands is a file set's bands as PostgreSQL stores them: sorted, each
// once.
func setBands(bands []int64) []int64 {
	out := slices.Clone(bands)
	slices.Sort(out)
	return slices.Compact(out)
}

// gcFileSets deletes those of the file set entries ids that no version
// uses (their bands go with them: by cascade on SQLite, on the row on
// PostgreSQL). On PostgreSQL they are locked first, so that a writer pointing a version at one (saveFileSet) either finishes
// before the check or finds the set gone and stores it again.
func (db *DB) gcFileSets(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	list, arg := db.idsArg(ids, 1)
	if db.Dialect == Postgres {
		if _, err := queryInts(ctx, tx, `SELECT id FROM search_filesets WHERE id IN `+list+` ORDER BY id FOR UPDATE`, arg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_filesets WHERE id IN `+list+`
		AND NOT EXISTS (SELECT 1 FROM search_versions sv WHERE sv.fileset_id = search_filesets.id)`, arg); err != nil {
		return fmt.Errorf("collecting unused search file sets: %w", err)
	}
	return nil
}

// pgArray is a float4[] literal ("{0.1,0.2}") for database/sql.
func pgArray(v []float32) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte('}')
	return b.String()
}

// pruneSearchContents removes the search documents (every index version)
// of those contents no file holds any more. The caller holds their content
// locks.
func (db *DB) pruneSearchContents(ctx context.Context, tx *sql.Tx, shas []string) error {
	if len(shas) == 0 {
		return nil
	}
	if db.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, searchLock); err != nil {
			return err
		}
	}
	list, args := inList(1, shas)
	return db.gcSearch(ctx, tx, `SELECT d.id FROM search_docs d WHERE d.sha256 IN (`+list+`)
		AND NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = `+db.shaParam("d.sha256")+`)`, args...)
}

// gcSearch deletes the documents docsQuery selects, with their lines and
// sections, and then the analysed lines and vectors no document uses any
// more (SQLite's FTS5 rows go by trigger).
func (db *DB) gcSearch(ctx context.Context, tx *sql.Tx, docsQuery string, args ...any) error {
	ids, err := queryInts(ctx, tx, docsQuery, args...)
	if err != nil || len(ids) == 0 {
		return err
	}
	list, arg := db.idsArg(ids, 1)
	texts, err := docTexts(ctx, tx, `SELECT lines FROM search_doc_lines WHERE doc_id IN `+list, arg)
	if err != nil {
		return err
	}
	vectors, err := db.sectionVectorsOf(ctx, tx, ids)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE id IN `+list, arg); err != nil {
		return err
	}
	if len(texts) > 0 {
		// Blocks have no reference to the documents (see migration
		// 00110): postings go out of their texts' blocks by text (tail
		// rows went with their documents). Texts the tail still points
		// at stay.
		if err := db.dropBlockPostings(ctx, tx, texts, ids); err != nil {
			return fmt.Errorf("collecting search postings: %w", err)
		}
		inTail, err := tailTexts(ctx, tx)
		if err != nil {
			return fmt.Errorf("collecting search postings: %w", err)
		}
		texts = slices.DeleteFunc(texts, func(t int64) bool { return inTail[t] })
		list, arg := db.idsArg(texts, 1)
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_texts WHERE id IN `+list+`
			AND NOT EXISTS (SELECT 1 FROM search_postings p WHERE p.text_id = search_texts.id)`, arg); err != nil {
			return fmt.Errorf("collecting unused search lines: %w", err)
		}
	}
	if len(vectors) > 0 {
		list, arg := db.idsArg(vectors, 1)
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_vectors WHERE id IN `+list+`
			AND NOT `+db.sectionUsesVector(), arg); err != nil {
			return fmt.Errorf("collecting unused section vectors: %w", err)
		}
	}
	return nil
}

// VersionsToIndexForSearch lists ready versions without a search index
// entry of this index version (for reindex), oldest first.
func (db *DB) VersionsToIndexForSearch(ctx context.Context, indexVersion string) ([]string, error) {
	return queryStrings(ctx, db.R, `SELECT v.id FROM package_versions v
		WHERE v.status = $2 AND NOT EXISTS (SELECT 1 FROM search_versions sv WHERE sv.version_id = v.id AND sv.index_version = $1)
		ORDER BY v.uploaded_at, v.id`, indexVersion, string(catalog.StatusReady))
}

// SearchIndexProgress counts the versions (not failed) both parsed by
// parserVersion and indexed for search under indexVersion, of all.
func (db *DB) SearchIndexProgress(ctx context.Context, parserVersion, indexVersion string) (done, total int, err error) {
	err = db.R.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN v.parser_version = $1 AND EXISTS (SELECT 1 FROM search_versions sv
				WHERE sv.version_id = v.id AND sv.index_version = $2) THEN 1 ELSE 0 END), 0),
			COUNT(*)
		FROM package_versions v WHERE v.status <> $3`, parserVersion, indexVersion, string(catalog.StatusError)).Scan(&done, &total)
	return done, total, err
}

// scanHashIDs reads (hash, id) rows into byKey and closes them.
func scanHashIDs(rows pgx.Rows, byKey map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		byKey[k] = id
	}
	return rows.Err()
}
