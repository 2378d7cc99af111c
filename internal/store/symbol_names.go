package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"slices"
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
// by the migration that made them, see symbol_names): each name's first
// occurrence in the latest file of its lowest analysis.
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
	first := map[string]int64{}
	var aids []int64
	for _, name := range names {
		entries, err := db.symbolNameEntries(ctx, db.R, name, nil)
		if err != nil || len(entries.entries) == 0 {
			if err != nil {
				return err
			}
			continue
		}
		ids := entries.entries.analyses()
		list, arg := db.listArg(ids, "int8", 1)
		var aid sql.NullInt64
		if err := db.R.QueryRowContext(ctx, `SELECT MIN(analysis_id) FROM latest_files WHERE analysis_id IN `+list, arg).Scan(&aid); err != nil {
			return err
		}
		if aid.Valid {
			first[name] = aid.Int64
			aids = append(aids, aid.Int64)
		}
	}
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
	aids, err := queryInts(ctx, db.R, `SELECT a.id FROM analyses a WHERE a.sha256 = $1 AND a.parser_version = $2 AND a.reader = $3`,
		strings.ToLower(sha), analysis.ParserVersion, analysis.ReaderUPG)
	if err != nil {
		return nil, err
	}
	name, err := db.symbolNameEntries(ctx, db.R, canonical, aids)
	if err != nil {
		return nil, err
	}
	aids = slices.DeleteFunc(aids, func(a int64) bool { return !name.entries.has(a) })
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
