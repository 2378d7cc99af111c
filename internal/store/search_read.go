package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/search"
)

// Reading the search index: candidates for internal/search, which decides
// what matches and ranks it.

// ftsString quotes s as an FTS5 string.
func ftsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tsLexeme quotes s as a tsquery lexeme.
func tsLexeme(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// termsVector is the expression the PostgreSQL term index is built on
// (search_texts).
const termsVector = `array_to_tsvector(array_remove(string_to_array(words || ' ' || prose || ' ' || parts, ' '), ''))`

// clauseTexts is a query selecting the ids of the analysed lines
// (search_texts) a clause matches.
func (db *DB) clauseTexts(c search.Clause, arg func(any) string) string {
	if db.Dialect == SQLite {
		switch c.Kind {
		case search.ClauseLiteral:
			if utf8.RuneCountInString(c.Text) >= 3 {
				return `SELECT rowid AS id FROM search_trigrams WHERE search_trigrams MATCH ` + arg(ftsString(c.Text))
			}
			p := arg(strings.ToLower(c.Text))
			return `SELECT id FROM search_texts WHERE instr(lower(text), ` + p + `) > 0 OR instr(lower(output), ` + p + `) > 0`
		case search.ClausePrefix:
			return `SELECT rowid AS id FROM search_terms WHERE search_terms MATCH ` + arg(ftsString(c.Text)+"*")
		default:
			return `SELECT rowid AS id FROM search_terms WHERE search_terms MATCH ` + arg(ftsString(c.Text))
		}
	}
	switch c.Kind {
	case search.ClauseLiteral:
		return `SELECT id FROM search_texts WHERE (text || ' ' || output) ILIKE ` + arg("%"+likeEscape(c.Text)+"%") + ` ESCAPE '\'`
	case search.ClausePrefix:
		return `SELECT id FROM search_texts WHERE ` + termsVector + ` @@ ` + arg(tsLexeme(c.Text)+":*") + `::tsquery`
	default:
		return `SELECT id FROM search_texts WHERE ` + termsVector + ` @@ ` + arg(tsLexeme(c.Text)) + `::tsquery`
	}
}

// MatchTexts implements search.Index.
func (db *DB) MatchTexts(ctx context.Context, clauses []search.Clause, limit int) ([]search.TextRow, bool, error) {
	if len(clauses) == 0 {
		return nil, false, nil
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var ctes, anyOf []string
	for i, c := range clauses {
		name := "c" + strconv.Itoa(i)
		ctes = append(ctes, name+" AS MATERIALIZED ("+db.clauseTexts(c, arg)+")")
		anyOf = append(anyOf, "SELECT id FROM "+name)
	}
	limit = max(limit, 1)
	q := `WITH ` + strings.Join(ctes, ", ") + `, hits AS (` + strings.Join(anyOf, " UNION ") + `)
		SELECT t.id, t.hash, t.class, t.text, t.output, t.words, t.prose, t.parts, t.defs, t.sets
		FROM hits h JOIN search_texts t ON t.id = h.id
		ORDER BY t.hash LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("searching lines: %w", err)
	}
	defer rows.Close()
	var out []search.TextRow
	for rows.Next() {
		var t search.TextRow
		var words, prose, parts, defs, sets string
		var hash []byte // 20 bytes (00159)
		if err := rows.Scan(&t.ID, &hash, &t.Class, &t.Text, &t.Output, &words, &prose, &parts, &defs, &sets); err != nil {
			return nil, false, err
		}
		t.Hash = hex.EncodeToString(hash)
		t.Words, t.Prose, t.Parts = strings.Fields(words), strings.Fields(prose), strings.Fields(parts)
		t.Defs, t.Sets = strings.Fields(defs), strings.Fields(sets)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// DocStats implements search.Index: the lines of the scored texts, counted
// per document and kind of section from the packed postings
// (docStatsBlocks; a common name in two thousand posts is tens of
// thousands of lines).
func (db *DB) DocStats(ctx context.Context, q search.DocQuery) ([]search.DocStat, error) {
	if len(q.Texts) == 0 {
		return nil, nil
	}
	// Texts go by rank, best first: a document's best line is counted as
	// the rank of its text.
	byScore := make([]int, len(q.Texts))
	for i := range byScore {
		byScore[i] = i
	}
	sort.SliceStable(byScore, func(i, j int) bool { return q.Texts[byScore[i]].Score > q.Texts[byScore[j]].Score })
	return db.docStatsBlocks(ctx, q, byScore)
}

// DocLines implements search.Index: the documents' stored lines are read
// (once per generation, see search_cache.go) and kept here when their text
// is among texts, with the sections they are in.
func (db *DB) DocLines(ctx context.Context, docIDs, texts []int64) ([]search.LineRef, error) {
	if len(docIDs) == 0 || len(texts) == 0 {
		return nil, nil
	}
	g, err := db.searchGen(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the lines of search hits: %w", err)
	}
	byDoc, err := g.docLines(ctx, db, docIDs)
	if err != nil {
		return nil, fmt.Errorf("reading the lines of search hits: %w", err)
	}
	want := make(map[int64]struct{}, len(texts))
	for _, t := range texts {
		want[t] = struct{}{}
	}
	var out []search.LineRef
	var inSections []int64 // documents with lines found in sections
	done := make(map[int64]bool, len(docIDs))
	for _, id := range docIDs {
		if done[id] {
			continue // a document listed twice
		}
		done[id] = true
		sectioned := false
		err := eachDocLine(byDoc[id], func(l docLine) bool {
			if _, ok := want[l.text]; ok {
				out = append(out, search.LineRef{DocID: id, N: l.n, TextID: l.text, Section: search.SectionRef{Ord: l.section}})
				sectioned = sectioned || l.section >= 0
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("search document %d: %w", id, err)
		}
		if sectioned {
			inSections = append(inSections, id)
		}
	}
	if len(inSections) == 0 {
		return out, nil
	}
	// The sections of the lines found (name, kind and span).
	sections, err := g.docSections(ctx, db, inSections)
	if err != nil {
		return nil, err
	}
	for i, r := range out {
		if r.Section.Ord < 0 {
			continue
		}
		if s, ok := sectionByOrd(sections[r.DocID], r.Section.Ord); ok {
			out[i].Section = s
		}
	}
	return out, nil
}

// ContentFiles implements search.Index. The files of the packages' latest
// versions come from an in-memory map of every indexed content to the
// files holding it (see latestFiles); all versions are read each time.
func (db *DB) ContentFiles(ctx context.Context, docIDs []int64, allVersions bool) ([]search.FileRow, error) {
	if len(docIDs) == 0 {
		return nil, nil
	}
	if !allVersions {
		g, err := db.searchGen(ctx)
		if err != nil {
			return nil, err
		}
		m, err := g.latestFiles(ctx, db)
		if err != nil {
			return nil, err
		}
		var out []search.FileRow
		for _, id := range docIDs {
			out = append(out, m[id]...)
		}
		return out, nil
	}
	list, ids := db.idsArg(docIDs, 1)
	return db.contentFiles(ctx, `d.id IN `+list, ids)
}

// (files.sha256 is bytes on SQLite: see shaParam.)
func (db *DB) contentFilesQuery() string {
	return `SELECT d.id, f.id, f.filename, v.id, v.number, p.latest_version = v.number,
		p.id, p.name, p.machine_type, p.controller_type, p.platform
	FROM search_docs d
	JOIN files f ON ` + db.shaJoin("f.sha256", "d.sha256") + `
	JOIN package_versions v ON v.id = f.version_id AND v.status = '` + string(catalog.StatusReady) + `'
	JOIN search_versions sv ON sv.version_id = v.id AND sv.index_version = d.index_version
	JOIN packages p ON p.id = v.package_id
	WHERE `
}

func (db *DB) contentFiles(ctx context.Context, where string, args ...any) ([]search.FileRow, error) {
	rows, err := db.R.QueryContext(ctx, db.contentFilesQuery()+where, args...)
	if err != nil {
		return nil, fmt.Errorf("listing files of search results: %w", err)
	}
	defer rows.Close()
	var out []search.FileRow
	for rows.Next() {
		var r search.FileRow
		if err := rows.Scan(&r.DocID, &r.FileID, &r.Filename, &r.VersionID, &r.Version, &r.Latest,
			&r.PackageID, &r.PackageName, &r.Machine, &r.Controller, &r.Platform); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// latestSignature changes whenever what a search can find may have:
// package count and last change (uploads, edits, deletes), version count
// and last change (status moves, and the metadata an analysis fills in),
// the search entries of versions (a version becomes searchable, is
// reindexed or deleted) and the last document indexed.
type latestSignature struct {
	packages, versions, indexed, lastIndexed, lastDoc int64
	changed, versionChanged                           string
}

// searchSignature reads the signature: a few index lookups and counts over
// the packages and versions (thousands of rows, not millions).
func (db *DB) searchSignature(ctx context.Context) (latestSignature, error) {
	var sig latestSignature
	err := db.R.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM packages), (SELECT COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM packages),
			(SELECT COUNT(*) FROM package_versions), (SELECT COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM package_versions),
			(SELECT COUNT(*) FROM search_versions), (SELECT COALESCE(MAX(id), 0) FROM search_versions),
			(SELECT COALESCE(MAX(id), 0) FROM search_docs)`).
		Scan(&sig.packages, &sig.changed, &sig.versions, &sig.versionChanged, &sig.indexed, &sig.lastIndexed, &sig.lastDoc)
	return sig, err
}

// SearchGeneration implements search.Index.
func (db *DB) SearchGeneration(ctx context.Context) (string, error) {
	g, err := db.searchGen(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the search index generation: %w", err)
	}
	sig := g.sig
	return fmt.Sprintf("%d %s %d %s %d %d %d", sig.packages, sig.changed, sig.versions, sig.versionChanged,
		sig.indexed, sig.lastIndexed, sig.lastDoc), nil
}

// ContextLines implements search.Index: the documents' stored lines are
// read, and the texts of those in the spans.
func (db *DB) ContextLines(ctx context.Context, spans []search.LineSpan) ([]search.ContextLine, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	docIDs := make([]int64, len(spans))
	for i, s := range spans {
		docIDs[i] = s.DocID
	}
	slices.Sort(docIDs)
	docIDs = slices.Compact(docIDs)
	g, err := db.searchGen(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading context lines: %w", err)
	}
	byDoc, err := g.docLines(ctx, db, docIDs)
	if err != nil {
		return nil, fmt.Errorf("reading context lines: %w", err)
	}
	type docLineKey struct {
		doc int64
		n   int
	}
	var out []search.ContextLine
	textOf := map[docLineKey]int64{}
	var texts []int64
	// Each document's spans, read in one pass over its lines that stops
	// after the last span.
	byDocSpans := map[int64][]search.LineSpan{}
	for _, s := range spans {
		byDocSpans[s.DocID] = append(byDocSpans[s.DocID], s)
	}
	for _, id := range docIDs {
		these := byDocSpans[id]
		last := these[0].To
		for _, s := range these {
			last = max(last, s.To)
		}
		err := eachDocLine(byDoc[id], func(l docLine) bool {
			if l.n > last {
				return false
			}
			for _, s := range these {
				if l.n >= s.From && l.n <= s.To {
					textOf[docLineKey{id, l.n}] = l.text
					texts = append(texts, l.text)
					out = append(out, search.ContextLine{DocID: id, N: l.n})
					break
				}
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("reading context lines: search document %d: %w", id, err)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.Sort(texts)
	byID, err := g.textsOf(ctx, db, slices.Compact(texts))
	if err != nil {
		return nil, fmt.Errorf("reading context lines: %w", err)
	}
	for i, c := range out {
		out[i].Text = byID[textOf[docLineKey{c.DocID, c.N}]]
	}
	return out, nil
}

// maxSectionRows bounds the sections one nearest-neighbour query returns:
// an embedding shared by many identical sections expands to all of them.
const maxSectionRows = 2000

// NearestSections implements search.Index: the k nearest distinct section
// embeddings, expanded to the sections of current documents that have
// them, nearest first (by the exact cosine of internal/search, then id, on
// every engine), until there are rows sections.
func (db *DB) NearestSections(ctx context.Context, indexVersion string, vec []float32, k, rows int) ([]search.SectionCandidate, error) {
	b, err := db.backend(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	vecs := map[int64][]float32{}
	// The exact scan in memory finds the nearest on both engines unless
	// pgvector is installed.
	switch b.vectors {
	case "pgvector":
		err = db.scanEmbeddings(ctx, &ids, vecs, `SELECT id, embedding FROM search_vectors ORDER BY embedding_v <=> $1::vector LIMIT $2`, vectorLiteral(vec), k)
		byCosine(ids, vecs, vec)
	default:
		var g *searchGeneration
		var snap *vectorSnapshot
		if g, err = db.searchGen(ctx); err == nil {
			if snap, err = g.vectors(ctx, db, &db.vectorCaches().sections, &g.sectionVecs); err == nil {
				ids = snap.nearest(vec, k, vecs)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nearest sections: %w", err)
	}
	return db.sectionsOfVectors(ctx, indexVersion, ids, vecs, vec, rows)
}

// byCosine orders ids by the exact similarity of their vectors to vec (as
// internal/search computes it), then by id: the order of the exact path,
// so that every engine cuts the same list at the same place.
func byCosine(ids []int64, vecs map[int64][]float32, vec []float32) {
	sim := make(map[int64]float64, len(ids))
	for _, id := range ids {
		sim[id] = search.Cosine(vec, vecs[id])
	}
	sort.Slice(ids, func(i, j int) bool {
		if sim[ids[i]] != sim[ids[j]] {
			return sim[ids[i]] > sim[ids[j]]
		}
		return ids[i] < ids[j]
	})
}

// scanVectors reads (id, float4[]) rows on a pgx connection into ids and
// vecs.
func scanVectors(ctx context.Context, c *pgx.Conn, ids *[]int64, vecs map[int64][]float32, q string, args ...any) error {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v []float32
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		*ids = append(*ids, id)
		vecs[id] = v
	}
	return rows.Err()
}

// scanEmbeddings reads (id, embedding) rows of search.EncodeVector's form into
// ids and vecs.
func (db *DB) scanEmbeddings(ctx context.Context, ids *[]int64, vecs map[int64][]float32, q string, args ...any) error {
	return db.eachEmbedding(ctx, func(id int64, v []float32) {
		*ids = append(*ids, id)
		vecs[id] = v
	}, q, args...)
}

// eachEmbedding calls fn with every (id, embedding) row of q, the
// embedding decoded from search.EncodeVector's form.
func (db *DB) eachEmbedding(ctx context.Context, fn func(id int64, v []float32), q string, args ...any) error {
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		fn(id, search.DecodeVector(raw))
	}
	return rows.Err()
}

// sectionsOfVectors lists the sections of current documents that have the
// given embeddings, in the order of ids (then by content and position).
// It stops after the embedding that brings the list to rows sections (at
// most maxSectionRows), keeping the embeddings that follow while their
// similarity to near (when not nil) ties with that last one's, so that a
// caller ranking by (similarity, content, position) sees exactly the rows
// it would see in the whole list. An embedding shared by many identical
// sections (one untouched in a thousand posts derived from one template)
// fills the budget early, and the rest is not read.
//
// The embeddings are read in batches of growing size, one query each
// (not one query per embedding).
func (db *DB) sectionsOfVectors(ctx context.Context, indexVersion string, ids []int64, vecs map[int64][]float32, near []float32, rows int) ([]search.SectionCandidate, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows = min(max(rows, 1), maxSectionRows)
	var out []search.SectionCandidate
	add := func(got map[int64][]search.SectionCandidate, id int64) {
		for _, c := range got[id] {
			c.Vector = vecs[id]
			out = append(out, c)
		}
	}
	for i, batch := 0, firstSectionBatch; i < len(ids); i, batch = i+batch, batch*4 {
		chunk := ids[i:min(i+batch, len(ids))]
		got, err := db.sectionsOf(ctx, indexVersion, chunk)
		if err != nil {
			return nil, err
		}
		for j, id := range chunk {
			add(got, id)
			if len(out) < rows {
				continue
			}
			if near == nil {
				return out[:rows], nil
			}
			last := search.Cosine(near, vecs[id])
			rest := ids[i+j+1:]
			n := 0
			for n < len(rest) && math.Abs(search.Cosine(near, vecs[rest[n]])-last) <= tieSimilarity {
				n++
			}
			if n > 0 {
				if got, err = db.sectionsOf(ctx, indexVersion, rest[:n]); err != nil {
					return nil, err
				}
				for _, id := range rest[:n] {
					add(got, id)
				}
			}
			return out, nil
		}
	}
	return out, nil
}

// firstSectionBatch is how many embeddings sectionsOfVectors reads first:
// in posts derived from a few templates one embedding is shared by tens
// of sections, so the first few often fill the rows asked for.
const firstSectionBatch = 8

// tieSimilarity is how close two similarities are taken to be equal
// (internal/search rounds them to six decimals).
const tieSimilarity = 2e-6

// sectionsOf reads the sections of current documents with these
// embeddings in one query: per embedding, by content and position.
func (db *DB) sectionsOf(ctx context.Context, indexVersion string, ids []int64) (map[int64][]search.SectionCandidate, error) {
	g, err := db.searchGen(ctx)
	if err != nil {
		return nil, err
	}
	cache := g.sectionsByVector(indexVersion)
	out := make(map[int64][]search.SectionCandidate, len(ids))
	var missing []int64
	for _, id := range ids {
		if cs, ok := cache.GetIfPresent(id); ok {
			if len(cs) > 0 {
				out[id] = cs
			}
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := db.readSectionsOf(ctx, indexVersion, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		cs := got[id]
		cache.Set(id, cs) // none: also kept
		if len(cs) > 0 {
			out[id] = cs
		}
	}
	return out, nil
}

// readSectionsOf is sectionsOf reading the database.
func (db *DB) readSectionsOf(ctx context.Context, indexVersion string, ids []int64) (map[int64][]search.SectionCandidate, error) {
	found, err := db.sectionsWithVectors(ctx, indexVersion, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the sections of nearest embeddings: %w", err)
	}
	var used []int64
	for _, f := range found {
		used = append(used, f.vector)
	}
	slices.Sort(used)
	keys, err := db.vectorKeys(ctx, slices.Compact(used))
	if err != nil {
		return nil, fmt.Errorf("reading the sections of nearest embeddings: %w", err)
	}
	out := make(map[int64][]search.SectionCandidate, len(ids))
	for _, f := range found {
		key, ok := keys[f.vector]
		if !ok {
			continue
		}
		out[f.vector] = append(out[f.vector], search.SectionCandidate{DocID: f.doc, SHA256: f.sha, SectionRef: f.ref(), Hash: sectionHash(key)})
	}
	for _, these := range out {
		sort.Slice(these, func(i, j int) bool {
			if these[i].SHA256 != these[j].SHA256 {
				return these[i].SHA256 < these[j].SHA256
			}
			return these[i].Ord < these[j].Ord
		})
	}
	return out, nil
}

// vectorKeys are the keys of section vectors by id.
func (db *DB) vectorKeys(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	list, arg := db.idsArg(ids, 1)
	rows, err := db.R.QueryContext(ctx, `SELECT id, key FROM search_vectors WHERE id IN `+list, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		out[id] = key
	}
	return out, rows.Err()
}

// ExternalSectionVectors implements search.Index.
func (db *DB) ExternalSectionVectors(ctx context.Context, indexVersion, model string) ([]search.SectionCandidate, error) {
	var ids []int64
	vecs := map[int64][]float32{}
	var err error
	if db.Dialect == Postgres {
		err = db.withPgx(ctx, func(c *pgx.Conn) error {
			return scanVectors(ctx, c, &ids, vecs, `SELECT vector_id, vector FROM search_external_vectors WHERE model = $1 ORDER BY vector_id`, model)
		})
	} else {
		var rows *sql.Rows
		rows, err = db.R.QueryContext(ctx, `SELECT vector_id, vector FROM search_external_vectors WHERE model = $1 ORDER BY vector_id`, model)
		if err == nil {
			for rows.Next() {
				var id int64
				var raw []byte
				if err = rows.Scan(&id, &raw); err != nil {
					break
				}
				ids = append(ids, id)
				vecs[id] = decodeVector(raw)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading external section vectors: %w", err)
	}
	return db.sectionsOfVectors(ctx, indexVersion, ids, vecs, nil, maxSectionRows)
}

// Section implements search.Index.
func (db *DB) Section(ctx context.Context, indexVersion, sha string, ord int) (search.SectionCandidate, error) {
	c := search.SectionCandidate{SHA256: sha}
	err := db.R.QueryRowContext(ctx, `SELECT id FROM search_docs WHERE index_version = $1 AND sha256 = $2`, indexVersion, sha).Scan(&c.DocID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, search.ErrNotIndexed
	}
	if err != nil {
		return c, err
	}
	secs, err := db.readSections(ctx, []int64{c.DocID}, "")
	if err != nil {
		return c, err
	}
	i, ok := slices.BinarySearchFunc(secs[c.DocID], ord, func(s storedSection, ord int) int { return s.ord - ord })
	if !ok {
		return c, search.ErrNotIndexed
	}
	s := secs[c.DocID][i]
	c.SectionRef = s.ref()
	var key string
	var raw []byte
	err = db.R.QueryRowContext(ctx, `SELECT key, embedding FROM search_vectors WHERE id = $1`, s.vector).Scan(&key, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return c, search.ErrNotIndexed
	}
	c.Hash, c.Vector = sectionHash(key), search.DecodeVector(raw)
	return c, err
}

// Version rows: a version's entry is that of its file set (sf.id is the
// id the vector caches know).
const versionRowColumns = `sf.id, sv.version_id, p.id, p.name, v.number, p.latest_version = v.number, p.machine_type, p.controller_type, sf.signature`

const versionRowFrom = ` FROM search_versions sv
	JOIN search_filesets sf ON sf.id = sv.fileset_id
	JOIN package_versions v ON v.id = sv.version_id
	JOIN packages p ON p.id = v.package_id`

func scanVersionRow(sc interface{ Scan(...any) error }, extra ...any) (search.VersionRow, int64, error) {
	var r search.VersionRow
	var id int64
	var sig []byte
	err := sc.Scan(append([]any{&id, &r.VersionID, &r.PackageID, &r.PackageName, &r.Version, &r.Latest, &r.Machine, &r.Controller, &sig}, extra...)...)
	r.Signature = search.DecodeSignature(sig)
	return r, id, err
}

// VersionIndex implements search.Index.
func (db *DB) VersionIndex(ctx context.Context, versionID string) (search.VersionRow, error) {
	if !validID(versionID) {
		return search.VersionRow{}, search.ErrNotIndexed
	}
	rows, err := db.versionRows(ctx, versionRowFrom+` WHERE sv.version_id = $1`, versionID)
	if err != nil {
		return search.VersionRow{}, err
	}
	if len(rows) == 0 {
		return search.VersionRow{}, search.ErrNotIndexed
	}
	return rows[0], nil
}

// NearestVersions implements search.Index: the versions of the k file
// sets nearest to vec (versions with the same contents share one vector).
func (db *DB) NearestVersions(ctx context.Context, vec []float32, k int) ([]search.VersionRow, error) {
	b, err := db.backend(ctx)
	if err != nil {
		return nil, err
	}
	switch b.vectors {
	case "pgvector":
		return db.versionRows(ctx, versionRowFrom+` WHERE sf.id IN (SELECT id FROM search_filesets ORDER BY embedding_v <=> $1::vector LIMIT $2)`, vectorLiteral(vec), k)
	default:
		// Not through the generation: one count of the file sets is
		// cheaper than the generation's signature.
		snap, err := db.vectorCaches().fileSets.current(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("nearest versions: %w", err)
		}
		vecs := map[int64][]float32{}
		ids := snap.nearest(vec, k, vecs)
		if len(ids) == 0 {
			return nil, nil
		}
		list, arg := db.idsArg(ids, 1)
		// internal/search orders them by exact similarity. The vectors
		// are those of the snapshot (not read again).
		rows, err := db.R.QueryContext(ctx, `SELECT `+versionRowColumns+versionRowFrom+` WHERE sf.id IN `+list, arg)
		if err != nil {
			return nil, fmt.Errorf("reading version index: %w", err)
		}
		defer rows.Close()
		var out []search.VersionRow
		for rows.Next() {
			r, id, err := scanVersionRow(rows)
			if err != nil {
				return nil, err
			}
			r.Vector = vecs[id]
			out = append(out, r)
		}
		return out, rows.Err()
	}
}

// VersionsSharingBands implements search.Index.
func (db *DB) VersionsSharingBands(ctx context.Context, bands []int64, excludeVersionID string) ([]search.VersionRow, error) {
	if len(bands) == 0 {
		return nil, nil
	}
	if db.Dialect == Postgres {
		return db.versionRows(ctx, versionRowFrom+` WHERE sv.version_id <> $1 AND sf.bands && $2::bigint[]`, excludeVersionID, bands)
	}
	ph := make([]string, len(bands))
	args := []any{excludeVersionID}
	for i, band := range bands {
		ph[i] = "$" + strconv.Itoa(i+2)
		args = append(args, band)
	}
	return db.versionRows(ctx, versionRowFrom+` WHERE sv.version_id <> $1
		AND sf.id IN (SELECT fileset_id FROM search_fileset_bands WHERE band IN (`+strings.Join(ph, ",")+`))`, args...)
}

// versionRows reads version entries with their vectors.
func (db *DB) versionRows(ctx context.Context, from string, args ...any) ([]search.VersionRow, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT `+versionRowColumns+`, sf.embedding`+from, args...)
	if err != nil {
		return nil, fmt.Errorf("reading version index: %w", err)
	}
	defer rows.Close()
	var out []search.VersionRow
	for rows.Next() {
		var raw []byte
		r, _, err := scanVersionRow(rows, &raw)
		if err != nil {
			return nil, err
		}
		r.Vector = search.DecodeVector(raw)
		out = append(out, r)
	}
	return out, rows.Err()
}

// nearest returns the ids of the k vectors most like vec (cosine, ties by
// id), putting their vectors in out.
func (s *vectorSnapshot) nearest(vec []float32, k int, out map[int64][]float32) []int64 {
	top := newTopK(k)
	for i, sim := range s.cosines(vec) {
		top.add(sim, "", int(s.ids[i]), i)
	}
	ids := make([]int64, 0, k)
	for _, it := range top.items() {
		i := it.(int)
		ids = append(ids, s.ids[i])
		out[s.ids[i]] = s.vecs[i]
	}
	return ids
}

// topK keeps the k items of highest score (ties by key), for exact scans.
type topK struct {
	k    int
	list []scored
}

type scored struct {
	score float64
	key   string
	n     int
	item  any
}

func newTopK(k int) *topK { return &topK{k: k} }

func (t *topK) less(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.key != b.key {
		return a.key < b.key
	}
	return a.n < b.n
}

func (t *topK) add(score float64, key string, n int, item any) {
	s := scored{score, key, n, item}
	if len(t.list) == t.k && !t.less(s, t.list[len(t.list)-1]) {
		return
	}
	i := sort.Search(len(t.list), func(i int) bool { return t.less(s, t.list[i]) })
	t.list = append(t.list, scored{})
	copy(t.list[i+1:], t.list[i:])
	t.list[i] = s
	if len(t.list) > t.k {
		t.list = t.list[:t.k]
	}
}

func (t *topK) items() []any {
	out := make([]any, len(t.list))
	for i, s := range t.list {
		out[i] = s.item
	}
	return out
}
