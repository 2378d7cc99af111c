package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
)

// SymbolNames implements index.Reader: one range of the name counters
// (symbol_names, maintained on write), so a page reads its own rows only
// (and skips the names only analyses of older versions have).
// Names sort byte-wise on both engines (PostgreSQL: the C collation), so a
// prefix is one range of the key.
func (db *DB) SymbolNames(ctx context.Context, prefix string, limit int, cursor string) (catalog.Page[index.SymbolName], error) {
	page := catalog.Page[index.SymbolName]{Items: []index.SymbolName{}}
	limit = min(max(limit, 1), 200)
	prefix = upg.CanonicalName(strings.TrimSpace(prefix))
	q := `SELECT canonical, kind, packages, definitions, uses FROM symbol_names WHERE canonical >= $1 AND packages > 0`
	args := []any{prefix}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) == 0 {
			return page, catalog.ErrBadCursor
		}
		q = `SELECT canonical, kind, packages, definitions, uses FROM symbol_names WHERE canonical > $1 AND packages > 0`
		args[0] = string(raw)
	}
	rows, err := db.R.QueryContext(ctx, q+` ORDER BY canonical LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	more := false
	for rows.Next() {
		n := index.SymbolName{PackagesExact: true}
		if err := rows.Scan(&n.Name, &n.Kind, &n.Packages, &n.Definitions, &n.Uses); err != nil {
			return page, err
		}
		if !strings.HasPrefix(n.Name, prefix) {
			break // past the prefix: the end of the list
		}
		if len(page.Items) == limit {
			more = true
			break
		}
		page.Items = append(page.Items, n)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	rows.Close()
	if err := db.fillKinds(ctx, page.Items); err != nil {
		return page, err
	}
	if more {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Items[limit-1].Name))
	}
	return page, nil
}

// fillKinds looks up the kinds the counters do not have yet (names counted
// by the migration that made them, see symbol_names), in one query: each
// name's first occurrence in a latest file.
func (db *DB) fillKinds(ctx context.Context, items []index.SymbolName) error {
	var names []string
	at := map[string]int{}
	for i, n := range items {
		if n.Kind == "" {
			at[n.Name] = i
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	values := make([]string, len(names))
	args := make([]any, len(names))
	for i, n := range names {
		values[i], args[i] = "(CAST($"+strconv.Itoa(i+1)+" AS TEXT))", n
	}
	rows, err := db.R.QueryContext(ctx, `SELECT v.column1, (SELECT s.analysis_id FROM symbol_index s
			JOIN latest_files lf ON lf.analysis_id = s.analysis_id
			WHERE s.symbol_id = (SELECT n.id FROM symbol_names n WHERE n.canonical = v.column1) LIMIT 1)
		FROM (VALUES `+strings.Join(values, ", ")+`) AS v`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	first := map[string]int64{}
	var aids []int64
	for rows.Next() {
		var name string
		var aid sql.NullInt64
		if err := rows.Scan(&name, &aid); err != nil {
			return err
		}
		if aid.Valid {
			first[name] = aid.Int64
			aids = append(aids, aid.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return err
	}
	for name, aid := range first {
		if occ, err := symbols[aid].occurrencesOf(name); err == nil && len(occ) > 0 {
			items[at[name]].Kind = occ[0].Kind
		}
	}
	return nil
}

// ContentSymbol implements index.Reader.
func (db *DB) ContentSymbol(ctx context.Context, sha, canonical string) ([]analysis.Occurrence, error) {
	aids, err := queryInts(ctx, db.R, `SELECT a.id FROM analyses a
		JOIN symbol_index s ON s.analysis_id = a.id AND s.symbol_id = (SELECT id FROM symbol_names WHERE canonical = $2)
		WHERE a.sha256 = $1 AND a.parser_version = $3 AND a.reader = $4`,
		strings.ToLower(sha), canonical, analysis.ParserVersion, analysis.ReaderUPG)
	if err != nil {
		return nil, err
	}
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return nil, err
	}
	var out []analysis.Occurrence
	for _, aid := range aids {
		occ, err := symbols[aid].occurrencesOf(canonical)
		if err != nil {
			return nil, err
		}
		out = append(out, occ...)
	}
	return out, nil
}
