package store

import (
	"context"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
)

// SymbolNames implements index.Reader: one range of the name counters
// (symbol_names, maintained on write) plus the changes not folded into
// them yet (symbol_name_deltas, PostgreSQL only), so a page reads its own
// rows only. Names sort byte-wise on both engines (PostgreSQL: the C
// collation), so a prefix is one range of the key.
func (db *DB) SymbolNames(ctx context.Context, prefix string, limit int, cursor string) (catalog.Page[index.SymbolName], error) {
	page := catalog.Page[index.SymbolName]{Items: []index.SymbolName{}}
	limit = min(max(limit, 1), 200)
	prefix = upg.CanonicalName(strings.TrimSpace(prefix))
	from, after := prefix, false
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) == 0 {
			return page, catalog.ErrBadCursor
		}
		from, after = string(raw), true
	}
	more := false
	for {
		names, last, full, err := db.symbolNameRange(ctx, from, after, limit+1)
		if err != nil {
			return page, err
		}
		for _, n := range names {
			if !strings.HasPrefix(n.Name, prefix) {
				full = false // past the prefix: the end of the list
				break
			}
			if len(page.Items) == limit {
				more = true
				break
			}
			page.Items = append(page.Items, n)
		}
		if more || !full {
			break
		}
		// Pending changes took names of this range away: go on after it.
		from, after = last, true
	}
	if err := db.fillKinds(ctx, page.Items); err != nil {
		return page, err
	}
	if more {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Items[limit-1].Name))
	}
	return page, nil
}

// symbolNameRange reads, in one statement (one snapshot), up to n counters
// from a name on (after it when after is set) and the pending changes of
// the names up to the last of them, and returns the names some package
// has, in order, with their counts. full says the counters may go on past
// the range read: the next range starts after last, its last counter. A
// counter's kind wins; a name only the changes have takes the least of
// theirs (as the fold stores it).
func (db *DB) symbolNameRange(ctx context.Context, from string, after bool, n int) (names []index.SymbolName, last string, full bool, err error) {
	op := ">="
	if after {
		op = ">"
	}
	rows, err := db.queryR(ctx, `WITH c AS (SELECT canonical, kind, packages, definitions, uses FROM symbol_names
			WHERE canonical `+op+` $1 ORDER BY canonical LIMIT `+strconv.Itoa(n)+`)
		SELECT 1, canonical, kind, packages, definitions, uses FROM c
		UNION ALL
		SELECT 0, canonical, COALESCE(MIN(NULLIF(kind, '')), ''), SUM(packages), SUM(definitions), SUM(uses) FROM symbol_name_deltas
		WHERE canonical `+op+` $1 AND ((SELECT COUNT(*) FROM c) < `+strconv.Itoa(n)+` OR canonical <= (SELECT MAX(canonical) FROM c))
		GROUP BY canonical`, from)
	if err != nil {
		return nil, "", false, err
	}
	defer rows.Close()
	var pending map[string]index.SymbolName // the changes, when there are any
	counters := 0
	for rows.Next() {
		var counter int
		c := index.SymbolName{PackagesExact: true}
		if err := rows.Scan(&counter, &c.Name, &c.Kind, &c.Packages, &c.Definitions, &c.Uses); err != nil {
			return nil, "", false, err
		}
		if counter == 0 {
			if pending == nil {
				pending = map[string]index.SymbolName{}
			}
			pending[c.Name] = c
			continue
		}
		counters++
		last = max(last, c.Name)
		names = append(names, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", false, err
	}
	if len(pending) > 0 {
		for i, c := range names {
			d, ok := pending[c.Name]
			if !ok {
				continue
			}
			if c.Kind == "" {
				names[i].Kind = d.Kind
			}
			names[i].Packages += d.Packages
			names[i].Definitions += d.Definitions
			names[i].Uses += d.Uses
			delete(pending, c.Name)
		}
		for _, d := range pending { // names only the changes have
			names = append(names, d)
		}
	}
	kept := names[:0]
	for _, c := range names {
		if c.Packages > 0 {
			kept = append(kept, c)
		}
	}
	names = kept
	if less := func(i, j int) bool { return names[i].Name < names[j].Name }; !sort.SliceIsSorted(names, less) {
		sort.Slice(names, less)
	}
	return names, last, counters == n, nil
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
	rows, err := db.R.QueryContext(ctx, `SELECT v.column1, (SELECT s.occurrences FROM symbol_index s
			JOIN latest_files lf ON lf.analysis_id = s.analysis_id WHERE s.canonical = v.column1 LIMIT 1)
		FROM (VALUES `+strings.Join(values, ", ")+`) AS v`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var packed []byte
		if err := rows.Scan(&name, &packed); err != nil {
			return err
		}
		if occ, err := analysis.UnpackOccurrences(name, packed, nil); err == nil && len(occ) > 0 {
			items[at[name]].Kind = occ[0].Kind
		}
	}
	return rows.Err()
}

// ContentSymbol implements index.Reader.
func (db *DB) ContentSymbol(ctx context.Context, sha, canonical string) ([]analysis.Occurrence, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT s.occurrences, a.sections FROM analyses a
		JOIN symbol_index s ON s.analysis_id = a.id AND s.canonical = $2
		WHERE a.sha256 = $1 AND a.parser_version = $3 AND a.reader = $4`,
		strings.ToLower(sha), canonical, analysis.ParserVersion, analysis.ReaderUPG)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []analysis.Occurrence
	for rows.Next() {
		var packed, sections []byte
		if err := rows.Scan(&packed, &sections); err != nil {
			return nil, err
		}
		occ, err := unpackOccurrences(canonical, packed, sections)
		if err != nil {
			return nil, err
		}
		out = append(out, occ...)
	}
	return out, rows.Err()
}
