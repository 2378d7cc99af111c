package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite/vec" // sqlite-vec: the vec0 tables of the search index

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/search"
)

// The search index (see internal/search and migration 00020):
//
//   - SQLite: FTS5 over each line's terms (unicode61 with '_' as a token
//     character, so SPINDLE_DIR is one term) and an FTS5 trigram table over
//     its text and output for substrings; vectors in sqlite-vec vec0 tables.
//   - PostgreSQL: a GIN index over the tsvector of the same terms (built
//     from the term list, as the 'simple' configuration would, without the
//     parser splitting at '_'), a pg_trgm GIN index for substrings (when the
//     extension is available; otherwise substrings are found by a scan), and
//     vectors in pgvector HNSW indexes when pgvector is installed, else in
//     float4[] columns compared in Go.
//
// The store only finds candidates; internal/search decides what matches
// and ranks it, so both engines answer alike.

var (
	_ search.Index = (*DB)(nil)
	_ search.Store = (*DB)(nil)
)

// searchBackend is which index implementations this database uses,
// detected once.
type searchBackend struct {
	mu       sync.Mutex
	done     bool
	vectors  string // "sqlite-vec", "pgvector" or "exact"
	trigrams string // "fts5-trigram", "pg_trgm" or "scan"
}

// backendInfo is a detected searchBackend.
type backendInfo struct{ vectors, trigrams string }

// backend detects (once) and logs which search paths are active.
func (db *DB) backend(ctx context.Context) (backendInfo, error) {
	b := &db.search
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		if db.Dialect == SQLite {
			b.vectors, b.trigrams = "sqlite-vec", "fts5-trigram"
		} else {
			var vec, trgm bool
			if err := db.SQL.QueryRowContext(ctx, `SELECT
				EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'search_sections' AND column_name = 'embedding_v'),
				EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'search_lines_trigrams')`).Scan(&vec, &trgm); err != nil {
				return backendInfo{}, err
			}
			b.vectors, b.trigrams = "exact", "scan"
			if vec {
				b.vectors = "pgvector"
			}
			if trgm {
				b.trigrams = "pg_trgm"
			}
		}
		b.done = true
		db.log.Info("search index paths", "vectors", b.vectors, "substrings", b.trigrams, "means", map[string]string{
			"sqlite-vec": "vectors in sqlite-vec (vec0), nearest neighbours by cosine",
			"pgvector":   "vectors in pgvector HNSW indexes",
			"exact":      "pgvector is not installed: vectors are float4[] compared by cosine in Go",
		}[b.vectors])
	}
	return backendInfo{b.vectors, b.trigrams}, nil
}

// enableSearchIndexes turns on what PostgreSQL offers beyond the migration:
// pg_trgm for substring search and, when pgvector is on, vector columns
// with HNSW indexes. Neither is required.
func (db *DB) enableSearchIndexes(ctx context.Context) error {
	var trgm bool
	if err := db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&trgm); err != nil {
		return fmt.Errorf("checking for pg_trgm: %w", err)
	}
	if !trgm {
		db.log.Info("pg_trgm is not available on this PostgreSQL server; substring search scans the lines")
	} else if _, err := db.SQL.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
		db.log.Warn("pg_trgm is available but could not be enabled; substring search scans the lines", "err", err)
	} else if _, err := db.SQL.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS search_lines_trigrams ON search_lines
			USING GIN ((text || ' ' || output) gin_trgm_ops)`); err != nil {
		return fmt.Errorf("creating the substring index: %w", err)
	}
	on, err := db.VectorEnabled(ctx)
	if err != nil || !on {
		return err
	}
	for _, stmt := range []string{
		`ALTER TABLE search_sections ADD COLUMN IF NOT EXISTS embedding_v vector(256)`,
		`UPDATE search_sections SET embedding_v = embedding::vector WHERE embedding_v IS NULL`,
		`CREATE INDEX IF NOT EXISTS search_sections_hnsw ON search_sections USING hnsw (embedding_v vector_cosine_ops)`,
		`ALTER TABLE search_versions ADD COLUMN IF NOT EXISTS embedding_v vector(256)`,
		`UPDATE search_versions SET embedding_v = embedding::vector WHERE embedding_v IS NULL`,
		`CREATE INDEX IF NOT EXISTS search_versions_hnsw ON search_versions USING hnsw (embedding_v vector_cosine_ops)`,
	} {
		if _, err := db.SQL.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("preparing pgvector search columns: %w", err)
		}
	}
	return nil
}

// ---------------------------------------------------------------- encoding

func encodeVector(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func decodeVector(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// vectorLiteral is pgvector's text form of a vector.
func vectorLiteral(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

func joinTerms(t []string) string { return strings.Join(t, " ") }

// withPgx runs fn on a pgx connection of the pool (PostgreSQL only), for
// COPY and for reading float4[] vectors in binary.
func (db *DB) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: unexpected driver connection %T", dc)
		}
		return fn(sc.Conn())
	})
}

// idsArg is a list of row ids as one parameter: a JSON array read with
// json_each on SQLite, a bigint[] on PostgreSQL.
func (db *DB) idsArg(ids []int64, n int) (string, any) {
	p := "$" + strconv.Itoa(n)
	if db.Dialect == SQLite {
		b, _ := json.Marshal(ids)
		return "(SELECT value FROM json_each(" + p + "))", string(b)
	}
	return "(SELECT unnest(" + p + "::bigint[]))", ids
}

// ---------------------------------------------------------------- writes

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
		s.Vector, s.Signature = decodeVector(vec), search.DecodeSignature(sig)
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
	return db.InTx(ctx, func(tx *sql.Tx) error {
		stmt := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }
		line, err := stmt(`INSERT INTO search_lines (doc_id, line, section, class, text, output, words, prose, parts, defs, sets)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`)
		if err != nil {
			return err
		}
		terms, err := stmt(`INSERT INTO search_terms (rowid, words, prose, parts) VALUES ($1, $2, $3, $4)`)
		if err != nil {
			return err
		}
		trigrams, err := stmt(`INSERT INTO search_trigrams (rowid, text, output) VALUES ($1, $2, $3)`)
		if err != nil {
			return err
		}
		section, err := stmt(`INSERT INTO search_sections (doc_id, ord, name, canonical, kind, start_line, end_line, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`)
		if err != nil {
			return err
		}
		vector, err := stmt(`INSERT INTO search_section_vectors (rowid, embedding) VALUES ($1, $2)`)
		if err != nil {
			return err
		}
		for _, d := range docs {
			docID, ok, err := db.insertDoc(ctx, tx, indexVersion, d)
			if err != nil || !ok {
				return err
			}
			for _, l := range d.Lines {
				var id int64
				words, prose, parts := joinTerms(l.Words), joinTerms(l.Prose), joinTerms(l.Parts)
				if err := line.QueryRowContext(ctx, docID, l.N, l.Section, l.Class, l.Text, l.Output, words, prose, parts,
					joinTerms(l.Defs), joinTerms(l.Sets)).Scan(&id); err != nil {
					return fmt.Errorf("indexing line %d of %s: %w", l.N, d.SHA256, err)
				}
				if words != "" || prose != "" || parts != "" {
					if _, err := terms.ExecContext(ctx, id, words, prose, parts); err != nil {
						return err
					}
				}
				if _, err := trigrams.ExecContext(ctx, id, l.Text, l.Output); err != nil {
					return err
				}
			}
			for ord, s := range d.Sections {
				var id int64
				if err := section.QueryRowContext(ctx, docID, ord, s.Name, s.Canonical, s.Kind, s.StartLine, s.EndLine, s.Hash).Scan(&id); err != nil {
					return err
				}
				if len(s.Vector) == search.Dims {
					if _, err := vector.ExecContext(ctx, id, encodeVector(s.Vector)); err != nil {
						return err
					}
				}
			}
			for _, e := range extBy[d.SHA256] {
				if _, err := tx.ExecContext(ctx, `INSERT INTO search_external_vectors (doc_id, ord, model, vector) VALUES ($1, $2, $3, $4)`,
					docID, e.Ord, model, encodeVector(e.Vector)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// insertDoc adds a document's row unless it is stored already or no file
// holds its content any more (deleted while it was being built).
func (db *DB) insertDoc(ctx context.Context, tx *sql.Tx, indexVersion string, d search.Document) (int64, bool, error) {
	if err := db.lockContent(ctx, tx, d.SHA256); err != nil {
		return 0, false, err
	}
	var used bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)`, d.SHA256).Scan(&used); err != nil {
		return 0, false, err
	}
	if !used {
		return 0, false, nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256, index_version) DO NOTHING RETURNING id`,
		d.SHA256, indexVersion, d.Kind, d.LineCount, d.Bytes, encodeVector(d.Vector), search.EncodeSignature(d.Signature), now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil // stored meanwhile by another upload
	}
	return id, err == nil, err
}

// saveDocsPostgres writes documents with COPY, in one transaction.
func (db *DB) saveDocsPostgres(ctx context.Context, indexVersion string, docs []search.Document, model string, extBy map[string][]search.ExternalVector) error {
	b, err := db.backend(ctx)
	if err != nil {
		return err
	}
	return db.withPgx(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			for _, d := range docs {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "blob:"+d.SHA256); err != nil {
					return err
				}
				var docID int64
				err := tx.QueryRow(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
					SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM files WHERE sha256 = $1)
					ON CONFLICT (sha256, index_version) DO NOTHING RETURNING id`,
					d.SHA256, indexVersion, d.Kind, d.LineCount, d.Bytes, encodeVector(d.Vector), search.EncodeSignature(d.Signature), now()).Scan(&docID)
				if errors.Is(err, pgx.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				lines := make([][]any, len(d.Lines))
				for i, l := range d.Lines {
					lines[i] = []any{docID, l.N, l.Section, int16(l.Class), l.Text, l.Output,
						joinTerms(l.Words), joinTerms(l.Prose), joinTerms(l.Parts), joinTerms(l.Defs), joinTerms(l.Sets)}
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_lines"},
					[]string{"doc_id", "line", "section", "class", "text", "output", "words", "prose", "parts", "defs", "sets"},
					pgx.CopyFromRows(lines)); err != nil {
					return fmt.Errorf("indexing the lines of %s: %w", d.SHA256, err)
				}
				secs := make([][]any, len(d.Sections))
				for i, s := range d.Sections {
					vec := s.Vector
					if len(vec) != search.Dims {
						vec = make([]float32, search.Dims)
					}
					secs[i] = []any{docID, i, s.Name, s.Canonical, s.Kind, s.StartLine, s.EndLine, s.Hash, vec}
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_sections"},
					[]string{"doc_id", "ord", "name", "canonical", "kind", "start_line", "end_line", "hash", "embedding"},
					pgx.CopyFromRows(secs)); err != nil {
					return err
				}
				if b.vectors == "pgvector" {
					if _, err := tx.Exec(ctx, `UPDATE search_sections SET embedding_v = embedding::vector WHERE doc_id = $1`, docID); err != nil {
						return err
					}
				}
				var ext [][]any
				for _, e := range extBy[d.SHA256] {
					ext = append(ext, []any{docID, e.Ord, model, e.Vector})
				}
				if len(ext) > 0 {
					if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_external_vectors"},
						[]string{"doc_id", "ord", "model", "vector"}, pgx.CopyFromRows(ext)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

// SaveVersionIndex implements search.Store. It also drops documents of the
// version's contents stored under an older index version that no indexed
// version uses any more (after a reindex).
func (db *DB) SaveVersionIndex(ctx context.Context, v search.VersionIndex) error {
	if !validID(v.VersionID) {
		return nil
	}
	b, err := db.backend(ctx)
	if err != nil {
		return err
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_versions WHERE version_id = $1`, v.VersionID); err != nil {
			return err
		}
		var id int64
		var err error
		if db.Dialect == SQLite {
			err = tx.QueryRowContext(ctx, `INSERT INTO search_versions (version_id, index_version, signature)
				SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM package_versions WHERE id = $1) RETURNING id`,
				v.VersionID, v.IndexVersion, search.EncodeSignature(v.Signature)).Scan(&id)
		} else {
			vecCol, vecVal := "", ""
			if b.vectors == "pgvector" {
				vecCol, vecVal = ", embedding_v", ", $4::real[]::vector"
			}
			err = tx.QueryRowContext(ctx, `INSERT INTO search_versions (version_id, index_version, signature, embedding`+vecCol+`)
				SELECT $1, $2, $3, $4::real[]`+vecVal+` WHERE EXISTS (SELECT 1 FROM package_versions WHERE id = $1) RETURNING id`,
				v.VersionID, v.IndexVersion, search.EncodeSignature(v.Signature), pgArray(v.Vector)).Scan(&id)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the version was deleted meanwhile
		}
		if err != nil {
			return err
		}
		if db.Dialect == SQLite {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_version_vectors (rowid, embedding) VALUES ($1, $2)`, id, encodeVector(v.Vector)); err != nil {
				return err
			}
		}
		for _, band := range v.Bands {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_version_bands (band, version_row) VALUES ($1, $2) ON CONFLICT DO NOTHING`, band, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM search_docs WHERE index_version <> $2
			AND sha256 IN (SELECT sha256 FROM files WHERE version_id = $1)
			AND NOT EXISTS (SELECT 1 FROM files f JOIN search_versions sv ON sv.version_id = f.version_id
				WHERE f.sha256 = search_docs.sha256 AND sv.index_version = search_docs.index_version)`, v.VersionID, v.IndexVersion)
		return err
	})
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

// deleteSearchContent removes the search documents of a content (every
// index version) once no file holds it; lines, sections and vectors go
// with them (foreign keys, and triggers for SQLite's virtual tables).
func deleteSearchContent(ctx context.Context, tx *sql.Tx, sha string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE sha256 = $1`, sha)
	return err
}

// VersionsToIndexForSearch lists ready versions without a search index
// entry of this index version (for reindex), oldest first.
func (db *DB) VersionsToIndexForSearch(ctx context.Context, indexVersion string) ([]string, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT v.id FROM package_versions v
		WHERE v.status = $2 AND NOT EXISTS (SELECT 1 FROM search_versions sv WHERE sv.version_id = v.id AND sv.index_version = $1)
		ORDER BY v.uploaded_at, v.id`, indexVersion, string(catalog.StatusReady))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SearchIndexProgress counts the versions (not failed) both parsed by
// parserVersion and indexed for search under indexVersion, of all.
func (db *DB) SearchIndexProgress(ctx context.Context, parserVersion, indexVersion string) (done, total int, err error) {
	err = db.SQL.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN v.parser_version = $1 AND EXISTS (SELECT 1 FROM search_versions sv
				WHERE sv.version_id = v.id AND sv.index_version = $2) THEN 1 ELSE 0 END), 0),
			COUNT(*)
		FROM package_versions v WHERE v.status <> $3`, parserVersion, indexVersion, string(catalog.StatusError)).Scan(&done, &total)
	return done, total, err
}

// SearchIndexed reports whether a version has a search index entry.
func (db *DB) SearchIndexed(ctx context.Context, versionID, indexVersion string) (bool, error) {
	if !validID(versionID) {
		return false, nil
	}
	var ok bool
	err := db.SQL.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_versions WHERE version_id = $1 AND index_version = $2)`,
		versionID, indexVersion).Scan(&ok)
	return ok, err
}

// ---------------------------------------------------------------- reads

// ftsString quotes s as an FTS5 string.
func ftsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// tsLexeme quotes s as a tsquery lexeme.
func tsLexeme(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// termsVector is the expression the PostgreSQL term index is built on.
const termsVector = `array_to_tsvector(array_remove(string_to_array(words || ' ' || prose || ' ' || parts, ' '), ''))`

// clauseLines is a query selecting the ids of lines a clause matches.
func (db *DB) clauseLines(c search.Clause, arg func(any) string) string {
	if db.Dialect == SQLite {
		switch c.Kind {
		case search.ClauseLiteral:
			if utf8.RuneCountInString(c.Text) >= 3 {
				return `SELECT rowid AS id FROM search_trigrams WHERE search_trigrams MATCH ` + arg(ftsString(c.Text))
			}
			p := arg(strings.ToLower(c.Text))
			return `SELECT id FROM search_lines WHERE instr(lower(text), ` + p + `) > 0 OR instr(lower(output), ` + p + `) > 0`
		case search.ClausePrefix:
			return `SELECT rowid AS id FROM search_terms WHERE search_terms MATCH ` + arg(ftsString(c.Text)+"*")
		default:
			return `SELECT rowid AS id FROM search_terms WHERE search_terms MATCH ` + arg(ftsString(c.Text))
		}
	}
	switch c.Kind {
	case search.ClauseLiteral:
		return `SELECT id FROM search_lines WHERE (text || ' ' || output) ILIKE ` + arg("%"+likeEscape(c.Text)+"%") + ` ESCAPE '\'`
	case search.ClausePrefix:
		return `SELECT id FROM search_lines WHERE ` + termsVector + ` @@ ` + arg(tsLexeme(c.Text)+":*") + `::tsquery`
	default:
		return `SELECT id FROM search_lines WHERE ` + termsVector + ` @@ ` + arg(tsLexeme(c.Text)) + `::tsquery`
	}
}

// MatchLines implements search.Index.
func (db *DB) MatchLines(ctx context.Context, m search.Match) ([]search.LineRow, bool, error) {
	if len(m.Clauses) == 0 {
		return nil, false, nil
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	iv := arg(m.IndexVersion)
	var ctes, anyOf, all, none []string
	for i, c := range m.Clauses {
		name := "c" + strconv.Itoa(i)
		ctes = append(ctes, name+" AS MATERIALIZED ("+db.clauseLines(c, arg)+")")
		anyOf = append(anyOf, "SELECT id FROM "+name)
		all = append(all, " AND l.doc_id IN (SELECT doc_id FROM search_lines WHERE id IN (SELECT id FROM "+name+"))")
	}
	for i, c := range m.Exclude {
		name := "x" + strconv.Itoa(i)
		ctes = append(ctes, name+" AS MATERIALIZED ("+db.clauseLines(c, arg)+")")
		none = append(none, " AND l.doc_id NOT IN (SELECT doc_id FROM search_lines WHERE id IN (SELECT id FROM "+name+"))")
	}
	ctes = append(ctes, "hits AS ("+strings.Join(anyOf, " UNION ")+")")
	q := `WITH ` + strings.Join(ctes, ", ") + `
		SELECT l.doc_id, d.sha256, l.line, l.class, l.text, l.output, l.words, l.prose, l.parts, l.defs, l.sets, l.section,
			COALESCE(s.name, ''), COALESCE(s.kind, ''), COALESCE(s.start_line, 0), COALESCE(s.end_line, 0)
		FROM hits h
		JOIN search_lines l ON l.id = h.id
		JOIN search_docs d ON d.id = l.doc_id AND d.index_version = ` + iv + `
		LEFT JOIN search_sections s ON s.doc_id = l.doc_id AND s.ord = l.section
		WHERE 1 = 1`
	if m.RequireAll && len(m.Clauses) > 1 {
		q += strings.Join(all, "")
	}
	q += strings.Join(none, "")
	limit := max(m.Limit, 1)
	q += ` ORDER BY d.sha256, l.line LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("searching lines: %w", err)
	}
	defer rows.Close()
	var out []search.LineRow
	for rows.Next() {
		var r search.LineRow
		var words, prose, parts, defs, sets string
		if err := rows.Scan(&r.DocID, &r.SHA256, &r.N, &r.Class, &r.Text, &r.Output, &words, &prose, &parts, &defs, &sets,
			&r.Section.Ord, &r.Section.Name, &r.Section.Kind, &r.Section.StartLine, &r.Section.EndLine); err != nil {
			return nil, false, err
		}
		r.Words, r.Prose, r.Parts = strings.Fields(words), strings.Fields(prose), strings.Fields(parts)
		r.Defs, r.Sets = strings.Fields(defs), strings.Fields(sets)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// ContentFiles implements search.Index.
func (db *DB) ContentFiles(ctx context.Context, docIDs []int64, allVersions bool) ([]search.FileRow, error) {
	if len(docIDs) == 0 {
		return nil, nil
	}
	list, ids := db.idsArg(docIDs, 1)
	latest := ""
	if !allVersions {
		latest = " AND p.latest_version = v.number"
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT d.id, f.id, f.filename, v.id, v.number, p.latest_version = v.number,
			p.id, p.name, p.machine_type, p.controller_type, p.platform
		FROM search_docs d
		JOIN files f ON f.sha256 = d.sha256
		JOIN package_versions v ON v.id = f.version_id AND v.status = $2
		JOIN search_versions sv ON sv.version_id = v.id AND sv.index_version = d.index_version
		JOIN packages p ON p.id = v.package_id`+latest+`
		WHERE d.id IN `+list, ids, string(catalog.StatusReady))
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

// ContextLines implements search.Index.
func (db *DB) ContextLines(ctx context.Context, spans []search.LineSpan) ([]search.ContextLine, error) {
	var out []search.ContextLine
	for start := 0; start < len(spans); start += 200 {
		chunk := spans[start:min(start+200, len(spans))]
		var conds []string
		var args []any
		for _, s := range chunk {
			args = append(args, s.DocID, s.From, s.To)
			n := len(args)
			conds = append(conds, fmt.Sprintf("(doc_id = $%d AND line BETWEEN $%d AND $%d)", n-2, n-1, n))
		}
		rows, err := db.SQL.QueryContext(ctx, `SELECT doc_id, line, text FROM search_lines WHERE `+strings.Join(conds, " OR "), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c search.ContextLine
			if err := rows.Scan(&c.DocID, &c.N, &c.Text); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxVecK is the most neighbours one sqlite-vec query returns.
const maxVecK = 4096

const sectionColumns = `s.id, s.doc_id, d.sha256, s.ord, s.name, s.kind, s.start_line, s.end_line, s.hash`

func scanSection(sc interface{ Scan(...any) error }, extra ...any) (search.SectionCandidate, int64, error) {
	var c search.SectionCandidate
	var id int64
	err := sc.Scan(append([]any{&id, &c.DocID, &c.SHA256, &c.Ord, &c.Name, &c.Kind, &c.StartLine, &c.EndLine, &c.Hash}, extra...)...)
	return c, id, err
}

// NearestSections implements search.Index.
func (db *DB) NearestSections(ctx context.Context, indexVersion string, vec []float32, k int) ([]search.SectionCandidate, error) {
	b, err := db.backend(ctx)
	if err != nil {
		return nil, err
	}
	switch b.vectors {
	case "sqlite-vec":
		k = min(k, maxVecK)
		rows, err := db.SQL.QueryContext(ctx, `WITH knn AS (SELECT rowid, distance FROM search_section_vectors WHERE embedding MATCH $1 AND k = $2)
			SELECT `+sectionColumns+`, vv.embedding
			FROM knn JOIN search_sections s ON s.id = knn.rowid
			JOIN search_docs d ON d.id = s.doc_id AND d.index_version = $3
			JOIN search_section_vectors vv ON vv.rowid = s.id`, encodeVector(vec), k, indexVersion)
		if err != nil {
			return nil, fmt.Errorf("nearest sections: %w", err)
		}
		defer rows.Close()
		var out []search.SectionCandidate
		for rows.Next() {
			var raw []byte
			c, _, err := scanSection(rows, &raw)
			if err != nil {
				return nil, err
			}
			c.Vector = decodeVector(raw)
			out = append(out, c)
		}
		return out, rows.Err()
	case "pgvector":
		return db.pgSections(ctx, `SELECT `+sectionColumns+`, s.embedding FROM search_sections s
			JOIN search_docs d ON d.id = s.doc_id AND d.index_version = $1
			ORDER BY s.embedding_v <=> $2::vector LIMIT $3`, 0, nil, indexVersion, vectorLiteral(vec), k)
	default:
		return db.pgSections(ctx, `SELECT `+sectionColumns+`, s.embedding FROM search_sections s
			JOIN search_docs d ON d.id = s.doc_id AND d.index_version = $1`, k, vec, indexVersion)
	}
}

// pgSections reads sections with their float4[] vectors; with k > 0 it
// keeps only the k nearest to vec (the exact scan).
func (db *DB) pgSections(ctx context.Context, q string, k int, vec []float32, args ...any) ([]search.SectionCandidate, error) {
	var out []search.SectionCandidate
	top := newTopK(k)
	err := db.withPgx(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var emb []float32
			s, _, err := scanSection(rows, &emb)
			if err != nil {
				return err
			}
			s.Vector = emb
			if k > 0 {
				top.add(search.Cosine(vec, emb), s.SHA256, s.Ord, s)
				continue
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("reading section vectors: %w", err)
	}
	if k > 0 {
		for _, it := range top.items() {
			out = append(out, it.(search.SectionCandidate))
		}
	}
	return out, nil
}

// ExternalSectionVectors implements search.Index.
func (db *DB) ExternalSectionVectors(ctx context.Context, indexVersion, model string) ([]search.SectionCandidate, error) {
	q := `SELECT ` + sectionColumns + `, e.vector FROM search_external_vectors e
		JOIN search_docs d ON d.id = e.doc_id AND d.index_version = $1
		JOIN search_sections s ON s.doc_id = e.doc_id AND s.ord = e.ord
		WHERE e.model = $2`
	if db.Dialect == Postgres {
		return db.pgSections(ctx, q, 0, nil, indexVersion, model)
	}
	rows, err := db.SQL.QueryContext(ctx, q, indexVersion, model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []search.SectionCandidate
	for rows.Next() {
		var raw []byte
		c, _, err := scanSection(rows, &raw)
		if err != nil {
			return nil, err
		}
		c.Vector = decodeVector(raw)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Section implements search.Index.
func (db *DB) Section(ctx context.Context, indexVersion, sha string, ord int) (search.SectionCandidate, error) {
	var out []search.SectionCandidate
	var err error
	if db.Dialect == Postgres {
		out, err = db.pgSections(ctx, `SELECT `+sectionColumns+`, s.embedding FROM search_sections s
			JOIN search_docs d ON d.id = s.doc_id WHERE d.index_version = $1 AND d.sha256 = $2 AND s.ord = $3`, 0, nil, indexVersion, sha, ord)
	} else {
		var raw []byte
		var c search.SectionCandidate
		c, _, err = scanSection(db.SQL.QueryRowContext(ctx, `SELECT `+sectionColumns+`, COALESCE(vv.embedding, x'') FROM search_sections s
			JOIN search_docs d ON d.id = s.doc_id
			LEFT JOIN search_section_vectors vv ON vv.rowid = s.id
			WHERE d.index_version = $1 AND d.sha256 = $2 AND s.ord = $3`, indexVersion, sha, ord), &raw)
		if err == nil {
			c.Vector = decodeVector(raw)
			out = append(out, c)
		} else if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return search.SectionCandidate{}, err
	}
	if len(out) == 0 {
		return search.SectionCandidate{}, search.ErrNotIndexed
	}
	return out[0], nil
}

const versionRowColumns = `sv.id, sv.version_id, p.id, p.name, v.number, p.latest_version = v.number, p.machine_type, p.controller_type, sv.signature`

const versionJoinPackages = `JOIN packages p ON p.id = v.package_id`

const versionRowFrom = ` FROM search_versions sv
	JOIN package_versions v ON v.id = sv.version_id
	` + versionJoinPackages

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
	rows, err := db.versionRows(ctx, versionRowFrom+` WHERE sv.version_id = $1`, 0, nil, versionID)
	if err != nil {
		return search.VersionRow{}, err
	}
	if len(rows) == 0 {
		return search.VersionRow{}, search.ErrNotIndexed
	}
	return rows[0], nil
}

// NearestVersions implements search.Index.
func (db *DB) NearestVersions(ctx context.Context, vec []float32, k int) ([]search.VersionRow, error) {
	b, err := db.backend(ctx)
	if err != nil {
		return nil, err
	}
	switch b.vectors {
	case "sqlite-vec":
		k = min(k, maxVecK)
		return db.versionRows(ctx, ` FROM (SELECT rowid, distance FROM search_version_vectors WHERE embedding MATCH $1 AND k = $2) knn
			JOIN search_versions sv ON sv.id = knn.rowid
			JOIN package_versions v ON v.id = sv.version_id
			`+versionJoinPackages, 0, nil, encodeVector(vec), k)
	case "pgvector":
		return db.versionRows(ctx, versionRowFrom+` ORDER BY sv.embedding_v <=> $1::vector LIMIT $2`, 0, nil, vectorLiteral(vec), k)
	default:
		return db.versionRows(ctx, versionRowFrom, k, vec)
	}
}

// VersionsSharingBands implements search.Index.
func (db *DB) VersionsSharingBands(ctx context.Context, bands []int64, excludeVersionID string) ([]search.VersionRow, error) {
	if len(bands) == 0 {
		return nil, nil
	}
	ph := make([]string, len(bands))
	args := []any{excludeVersionID}
	for i, band := range bands {
		ph[i] = "$" + strconv.Itoa(i+2)
		args = append(args, band)
	}
	return db.versionRows(ctx, versionRowFrom+` WHERE sv.version_id <> $1
		AND sv.id IN (SELECT version_row FROM search_version_bands WHERE band IN (`+strings.Join(ph, ",")+`))`, 0, nil, args...)
}

// versionRows reads version entries with their vectors (from the vec0
// table on SQLite, the float4[] column on PostgreSQL); with k > 0 only the
// k nearest to vec are kept (the exact scan).
func (db *DB) versionRows(ctx context.Context, from string, k int, vec []float32, args ...any) ([]search.VersionRow, error) {
	var out []search.VersionRow
	top := newTopK(k)
	keep := func(r search.VersionRow) {
		if k > 0 {
			top.add(search.Cosine(vec, r.Vector), r.PackageName, r.Version, r)
			return
		}
		out = append(out, r)
	}
	if db.Dialect == SQLite {
		// The vectors live in the vec0 table: join it after the packages.
		from = strings.Replace(from, versionJoinPackages, versionJoinPackages+" LEFT JOIN search_version_vectors vv ON vv.rowid = sv.id", 1)
		rows, err := db.SQL.QueryContext(ctx, `SELECT `+versionRowColumns+`, COALESCE(vv.embedding, x'')`+from, args...)
		if err != nil {
			return nil, fmt.Errorf("reading version index: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var raw []byte
			r, _, err := scanVersionRow(rows, &raw)
			if err != nil {
				return nil, err
			}
			r.Vector = decodeVector(raw)
			keep(r)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	} else {
		err := db.withPgx(ctx, func(c *pgx.Conn) error {
			rows, err := c.Query(ctx, `SELECT `+versionRowColumns+`, sv.embedding`+from, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var emb []float32
				r, _, err := scanVersionRow(rows, &emb)
				if err != nil {
					return err
				}
				r.Vector = emb
				keep(r)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("reading version index: %w", err)
		}
	}
	if k > 0 {
		for _, it := range top.items() {
			out = append(out, it.(search.VersionRow))
		}
	}
	return out, nil
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
