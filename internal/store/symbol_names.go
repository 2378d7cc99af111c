package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
)

// symbolNamesWalk bounds how many distinct names one page of SymbolNames
// looks at (names only older versions or registry contents still have are
// skipped, so a page may come back short, with a cursor to go on).
const symbolNamesWalk = 10

// symbolNameCountLimit bounds the rows read to count one name of the index
// (a page of 100 names stays under 50,000 rows however common they are);
// a name beyond it is shown as "500+ packages".
const symbolNameCountLimit = 500

// SymbolNames implements index.Reader. The names are walked in index order
// one seek at a time (a loose index scan of symbol_index's primary key),
// so a page costs its names, not the index; each name's counts read at
// most symbolNameCountLimit of its rows. A prefix is one range of the index
// when names sort byte-wise (SQLite; PostgreSQL with the C collation): the
// walk stops at the first name past it.
func (db *DB) SymbolNames(ctx context.Context, prefix string, limit int, cursor string) (catalog.Page[index.SymbolName], error) {
	page := catalog.Page[index.SymbolName]{Items: []index.SymbolName{}}
	limit = min(max(limit, 1), 200)
	prefix = upg.CanonicalName(strings.TrimSpace(prefix))
	from, inclusive := prefix, true
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) == 0 {
			return page, catalog.ErrBadCursor
		}
		from, inclusive = string(raw), false
	}
	walked, last := 0, ""
	for len(page.Items) < limit && walked < limit*symbolNamesWalk {
		names, err := db.nextSymbolNames(ctx, from, inclusive, limit-len(page.Items))
		if err != nil {
			return page, err
		}
		done := len(names) < limit-len(page.Items)
		for _, name := range names {
			if !strings.HasPrefix(name, prefix) {
				return page, nil // past the prefix: the end of the list
			}
			walked++
			last = name
			n, err := db.symbolNameCounts(ctx, name)
			if err != nil {
				return page, err
			}
			if n.Packages > 0 {
				page.Items = append(page.Items, n)
			}
		}
		if done {
			return page, nil
		}
		from, inclusive = last, false
	}
	if last != "" {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(last))
	}
	return page, nil
}

// nextSymbolNames returns up to n distinct names after from (or from it on),
// each found by one index seek.
func (db *DB) nextSymbolNames(ctx context.Context, from string, inclusive bool, n int) ([]string, error) {
	op := ">"
	if inclusive {
		op = ">="
	}
	return queryStrings(ctx, db.R, `WITH RECURSIVE walk (c, n) AS (
			SELECT (SELECT MIN(canonical) FROM symbol_index WHERE canonical `+op+` $1), 1
			UNION ALL
			SELECT (SELECT MIN(canonical) FROM symbol_index WHERE canonical > walk.c), walk.n + 1
			FROM walk WHERE walk.c IS NOT NULL AND walk.n < $2
		) SELECT c FROM walk WHERE c IS NOT NULL ORDER BY n`, from, n)
}

// symbolNameCounts counts a name's packages, definitions and uses in the
// latest versions (reading at most symbolNameCountLimit rows) and its kind.
func (db *DB) symbolNameCounts(ctx context.Context, name string) (index.SymbolName, error) {
	out := index.SymbolName{Name: name}
	rows, err := db.R.QueryContext(ctx, `SELECT lf.package_id, s.definitions, s.uses FROM symbol_index s
		JOIN latest_files lf ON lf.analysis_id = s.analysis_id
		WHERE s.canonical = $1 LIMIT `+strconv.Itoa(symbolNameCountLimit+1), name)
	if err != nil {
		return out, err
	}
	pkgs := map[string]bool{}
	n := 0
	for rows.Next() {
		var id string
		var defs, uses int
		if err := rows.Scan(&id, &defs, &uses); err != nil {
			rows.Close()
			return out, err
		}
		if n++; n > symbolNameCountLimit {
			break
		}
		pkgs[id] = true
		out.Definitions += defs
		out.Uses += uses
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	out.Packages, out.PackagesExact = len(pkgs), n <= symbolNameCountLimit
	if out.Packages == 0 {
		return out, nil
	}
	var packed []byte
	if err := db.R.QueryRowContext(ctx, `SELECT s.occurrences FROM symbol_index s
		JOIN latest_files lf ON lf.analysis_id = s.analysis_id WHERE s.canonical = $1 LIMIT 1`, name).Scan(&packed); err != nil {
		return out, err
	}
	if occ, err := analysis.UnpackOccurrences(name, packed, nil); err == nil && len(occ) > 0 {
		out.Kind = occ[0].Kind
	}
	return out, nil
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
