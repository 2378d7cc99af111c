package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

// VersionSymbol implements index.Reader.
func (db *DB) VersionSymbol(ctx context.Context, versionID, canonical string) ([]index.SymbolOccurrence, error) {
	out := []index.SymbolOccurrence{}
	if !validID(versionID) {
		return out, nil
	}
	rows, err := db.R.QueryContext(ctx, `SELECT f.id, f.filename, `+db.shaText("f.sha256")+`, f.analysis_id FROM files f
		JOIN symbol_index s ON s.analysis_id = f.analysis_id AND s.symbol_id = (SELECT id FROM symbol_names WHERE canonical = $2)
		WHERE f.version_id = $1`, versionID, canonical)
	if err != nil {
		return nil, fmt.Errorf("listing symbol %s: %w", canonical, err)
	}
	defer rows.Close()
	type file struct {
		id, name, sha string
		analysis      int64
	}
	var files []file
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.id, &f.name, &f.sha, &f.analysis); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	aids := make([]int64, len(files))
	for i, f := range files {
		aids[i] = f.analysis
	}
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		occ, err := symbols[f.analysis].occurrencesOf(canonical)
		if err != nil {
			return nil, err
		}
		for _, o := range occ {
			out = append(out, index.SymbolOccurrence{FileID: f.id, Filename: f.name, SHA256: f.sha, Occurrence: o})
		}
	}
	sortOccurrences(out)
	return out, nil
}

// sortOccurrences puts definitions first, then by file and position.
func sortOccurrences(occ []index.SymbolOccurrence) {
	slices.SortStableFunc(occ, func(a, b index.SymbolOccurrence) int {
		if ad, bd := a.Role == analysis.RoleDefinition, b.Role == analysis.RoleDefinition; ad != bd {
			if ad {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Filename, b.Filename); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
}

// symbolExactLimit is how many packages a name may have to be paged with
// the packages that define it first (its packages are gathered and
// ordered); a name used more widely is paged by walking the packages newest
// first instead (such a name fills a page after a few packages: at most
// limit × packages/symbolExactLimit are looked at).
const symbolExactLimit = 300

// occurrencesPerPackage bounds the occurrences listed per package on a
// symbol page (the counts stay complete; the package's own page lists all).
const occurrencesPerPackage = 20

type pkgKey struct {
	defines bool // the package defines the name (listed first on exact pages)
	created time.Time
	id      string
}

// An exact page's cursor also says whether the last package defines the
// name; a walked page's cursor is the plain (created, id) one. Each mode
// rejects the other's cursor.
func encodeSymbolCursor(k pkgKey) string {
	flag := int64(0)
	if k.defines {
		flag = 1
	}
	return encodeRankCursor(flag, encodeCursor(k.created, k.id))
}

func decodeSymbolCursor(c string) (pkgKey, error) {
	flag, rest, err := decodeRankCursor(c)
	if err != nil || (flag != 0 && flag != 1) {
		return pkgKey{}, catalog.ErrBadCursor
	}
	ts, id, err := decodeCursor(rest)
	if err != nil {
		return pkgKey{}, err
	}
	return pkgKey{defines: flag == 1, created: ts, id: id}, nil
}

// SymbolUsage implements index.Reader, in one statement: the name's count
// (symbol_names), the page of its packages and their files' counts and
// occurrences. Reads stay bounded by the page, not the corpus: a name in up
// to symbolExactLimit packages is paged with the packages that define it
// first (its packages are gathered and ordered), a more common one newest
// first, walking the packages in that order. Which of the two the first
// page is decides the statement itself from the count; a cursor names its
// own (and is refused when the count now says the other).
func (db *DB) SymbolUsage(ctx context.Context, canonical string, limit int, cursor string) (index.SymbolPage, error) {
	page := index.SymbolPage{Packages: []index.SymbolPackage{}, TotalExact: true}
	limit = min(max(limit, 1), 100)
	args := []any{canonical}
	var pick string
	exactCursor, walkCursor := false, false
	if cursor == "" {
		pick = db.symbolDefinersFirst(limit, "") + ` UNION ALL ` + db.symbolNewestFirst(limit, "")
	} else if k, err := decodeSymbolCursor(cursor); err == nil {
		exactCursor = true
		flag := 0
		if k.defines {
			flag = 1
		}
		args = append(args, flag, db.latestTime(k.created), k.id)
		pick = db.symbolDefinersFirst(limit, ` HAVING MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) < $2
			OR (MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) = $2
				AND (lf.package_created_at < $3 OR (lf.package_created_at = $3 AND lf.package_id < $4)))`)
	} else if ts, id, err := decodeCursor(cursor); err == nil {
		walkCursor = true
		args = append(args, ts, id)
		pick = db.symbolNewestFirst(limit, ` AND (p.created_at < $2 OR (p.created_at = $2 AND p.id < $3))`)
	} else {
		return page, catalog.ErrBadCursor
	}
	// A name no package has gives no row; a name past its last page gives
	// the count's row alone.
	rows, err := db.R.QueryContext(ctx, db.symbolPageSQL(pick), args...)
	if err != nil {
		return page, err
	}
	type row struct {
		pkg                   *index.SymbolPackage
		fileID, filename, sha string
		analysis              int64
		defs, uses            int
	}
	found := make([]row, 0, 4*(limit+1))
	var keys []pkgKey // the page's packages, each once
	byID := make(map[string]*index.SymbolPackage, limit+1)
	counted := false
	for rows.Next() {
		var r row
		var id, name, machine, controller, fileID, filename, sha sql.NullString
		var n, d, version, aid, defs, uses sql.NullInt64
		var created, uploaded sql.NullTime
		if err := rows.Scan(&n, &id, &created, &d, &name, &machine, &controller, &version, &uploaded,
			&fileID, &filename, &sha, &aid, &defs, &uses); err != nil {
			rows.Close()
			return page, err
		}
		if !id.Valid { // the count's row
			page.Total, counted = int(n.Int64), true
			continue
		}
		if r.pkg = byID[id.String]; r.pkg == nil {
			r.pkg = &index.SymbolPackage{PackageID: id.String, PackageName: name.String, Machine: machine.String, Controller: controller.String,
				Version: int(version.Int64), UploadedAt: uploaded.Time.UTC(), Occurrences: []index.SymbolOccurrence{}}
			byID[id.String] = r.pkg
			keys = append(keys, pkgKey{defines: d.Int64 == 1, created: created.Time.UTC(), id: id.String})
		}
		r.fileID, r.filename, r.sha, r.analysis, r.defs, r.uses = fileID.String, filename.String, sha.String, aid.Int64, int(defs.Int64), int(uses.Int64)
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}
	exact := page.Total <= symbolExactLimit
	if !counted { // no package has the name
		page.Total = 0
		if walkCursor {
			return page, catalog.ErrBadCursor
		}
		return page, nil
	}
	if (exactCursor && !exact) || (walkCursor && exact) {
		return page, catalog.ErrBadCursor // the count moved past symbolExactLimit between pages
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].before(keys[j], exact) })
	if len(keys) > limit {
		keys = keys[:limit]
		if exact {
			page.NextCursor = encodeSymbolCursor(keys[limit-1])
		} else {
			page.NextCursor = encodeCursor(keys[limit-1].created, keys[limit-1].id)
		}
	}
	// Occurrences are derived from the analyses of the page's packages'
	// files only (not the one past the page's end).
	shown := make(map[*index.SymbolPackage]bool, len(keys))
	for _, k := range keys {
		shown[byID[k.id]] = true
	}
	aids := make([]int64, 0, len(found))
	for _, r := range found {
		if shown[r.pkg] {
			aids = append(aids, r.analysis)
		}
	}
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return page, err
	}
	for _, r := range found {
		if !shown[r.pkg] {
			continue
		}
		p := r.pkg
		p.Definitions += r.defs
		p.References += r.uses
		occ, err := symbols[r.analysis].occurrencesOf(canonical)
		if err != nil {
			return page, err
		}
		for _, o := range occ {
			p.Occurrences = append(p.Occurrences, index.SymbolOccurrence{FileID: r.fileID, Filename: r.filename, SHA256: r.sha, Occurrence: o})
		}
	}
	for _, k := range keys {
		p := byID[k.id]
		sortOccurrences(p.Occurrences)
		if len(p.Occurrences) > occurrencesPerPackage {
			p.Occurrences = p.Occurrences[:occurrencesPerPackage]
		}
		page.Packages = append(page.Packages, *p)
	}
	return page, nil
}

// symbolPageSQL is the symbol page's statement around pick, which selects
// the page's packages (id, created, d: defines the name) from the name's
// count n. Its rows: one per file of the page's packages that has the
// name, and the count's (no package id; none when no package has the name).
// The two parts are a UNION ALL rather than a join of the count with the
// files: SQLite would copy the files' rows into a
// temporary table first. The files come first: SQLite types a compound's
// columns (times) by its first part.
func (db *DB) symbolPageSQL(pick string) string {
	return `WITH n AS (SELECT packages, id FROM symbol_names WHERE canonical = $1),
		pick AS (` + pick + `)
		SELECT 0, pick.id, p.created_at, pick.d, p.name, p.machine_type, p.controller_type, p.latest_version, v.uploaded_at,
			lf.file_id, lf.filename, ` + db.shaText("lf.sha256") + `, lf.analysis_id, s.definitions, s.uses
		FROM pick
		` + db.joinByKey("packages", "p", "p.id = pick.id", "p.created_at, p.name, p.machine_type, p.controller_type, p.latest_version") + `
		` + db.joinByKey("package_versions", "v", "v.package_id = pick.id AND v.number = p.latest_version", "v.uploaded_at") + `
		` + db.joinByKey("latest_files", "lf", "lf.package_id = pick.id", "lf.file_id, lf.filename, lf.sha256, lf.analysis_id") + `
		` + db.joinByKey("symbol_index", "s", "s.symbol_id = (SELECT id FROM n) AND s.analysis_id = lf.analysis_id", "s.definitions, s.uses") + `
		UNION ALL
		SELECT n.packages, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM n WHERE n.packages > 0`
}

// before orders a symbol page's packages: on an exact page those defining
// the name first, then newest first (ties by id, descending).
func (k pkgKey) before(o pkgKey, exact bool) bool {
	if exact && k.defines != o.defines {
		return k.defines
	}
	if !k.created.Equal(o.created) {
		return k.created.After(o.created)
	}
	return k.id > o.id
}

// symbolDefinersFirst selects up to limit+1 of a name's packages when it
// has at most symbolExactLimit (n is its count): those defining it first,
// then newest first; having filters them (the cursor). It aggregates a
// bounded number of rows, read from the covering index of latest_files by
// analysis.
func (db *DB) symbolDefinersFirst(limit int, having string) string {
	return `SELECT * FROM (SELECT lf.package_id AS id, lf.package_created_at AS created, MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) AS d
		FROM symbol_index s ` + db.joinByKey("latest_files", "lf", "lf.analysis_id = s.analysis_id", "lf.package_id, lf.package_created_at") + `
		WHERE s.symbol_id = (SELECT id FROM n) AND (SELECT packages FROM n) <= ` + strconv.Itoa(symbolExactLimit) + `
		GROUP BY lf.package_id, lf.package_created_at` + having + `
		ORDER BY d DESC, created DESC, id DESC LIMIT ` + db.limitIf(`(SELECT packages FROM n) <= `+strconv.Itoa(symbolExactLimit), limit+1) + `) e`
}

// symbolNewestFirst selects up to limit+1 of a more common name's
// packages, newest first, walking the packages in that order; and narrows
// them (the cursor).
func (db *DB) symbolNewestFirst(limit int, and string) string {
	return `SELECT * FROM (SELECT p.id, p.created_at AS created, 0 AS d FROM packages p
		WHERE (SELECT packages FROM n) > ` + strconv.Itoa(symbolExactLimit) + ` AND EXISTS (SELECT 1 FROM latest_files lf
			JOIN symbol_index s ON s.analysis_id = lf.analysis_id AND s.symbol_id = (SELECT id FROM n) WHERE lf.package_id = p.id)` + and + `
		ORDER BY p.created_at DESC, p.id DESC LIMIT ` + db.limitIf(`(SELECT packages FROM n) > `+strconv.Itoa(symbolExactLimit), limit+1) + `) w`
}

// limitIf is a LIMIT of n rows when cond holds, of none otherwise, for a
// branch of a statement that only one value of cond needs (cond is also
// in the branch's WHERE). PostgreSQL tests such a WHERE term once, before
// reading anything, and plans better with a constant LIMIT; SQLite tests
// it on every row it reads, but reads none under a LIMIT of 0.
func (db *DB) limitIf(cond string, n int) string {
	if db.Dialect == Postgres {
		return strconv.Itoa(n)
	}
	return `CASE WHEN ` + cond + ` THEN ` + strconv.Itoa(n) + ` ELSE 0 END`
}

// joinByKey joins table as alias on cond, a lookup by key for each row on
// its left (in this order); cols are the columns used. PostgreSQL is told
// to look the rows up (a lateral subquery it cannot flatten): for the few
// rows of a page it would otherwise read a whole small table into a hash,
// and it misjudges how many rows a rare symbol name has. SQLite keeps the
// tables of a CROSS JOIN in their order.
func (db *DB) joinByKey(table, alias, cond, cols string) string {
	if db.Dialect == Postgres {
		return `CROSS JOIN LATERAL (SELECT ` + cols + ` FROM ` + table + ` ` + alias + ` WHERE ` + cond + ` OFFSET 0) ` + alias
	}
	return `CROSS JOIN ` + table + ` ` + alias + ` ON ` + cond
}

// storedSymbols returns the symbols of these analyses, from the cache or
// decoded from the stored analyses (a stored analysis never changes).
func (db *DB) storedSymbols(ctx context.Context, ids []int64) (map[int64]*symbolTable, error) {
	out := make(map[int64]*symbolTable, len(ids))
	var missing []string
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		if t, ok := db.cache.symbols.GetIfPresent(id); ok {
			out[id] = t
		} else {
			out[id] = nil
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// ids are integers read from the database, so they can be inlined.
	rows, err := db.R.QueryContext(ctx, `SELECT id, facts, display, tokens FROM analyses WHERE id IN (`+strings.Join(missing, ",")+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p analysis.Packed
		if err := rows.Scan(&id, &p.Facts, &p.Display, &p.Tokens); err != nil {
			return nil, err
		}
		t, err := newSymbolTable(p)
		if err != nil {
			return nil, fmt.Errorf("analysis %d: %w", id, err)
		}
		db.cache.symbols.Set(id, t)
		out[id] = t
	}
	return out, rows.Err()
}

// A keyset cursor over a ranked list: the last row's count and key.
func encodeRankCursor(n int64, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(n, 10) + "|" + key))
}

func decodeRankCursor(c string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", catalog.ErrBadCursor
	}
	num, key, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil {
		return 0, "", catalog.ErrBadCursor
	}
	return n, key, nil
}

// LibraryNames implements index.Reader: most used first, from the library
// counters (no aggregation at read time).
func (db *DB) LibraryNames(ctx context.Context, filter string, limit int, cursor string) (catalog.Page[index.LibraryName], error) {
	page := catalog.Page[index.LibraryName]{Items: []index.LibraryName{}}
	limit = min(max(limit, 1), 500)
	q := `SELECT name_key, name, packages, variants FROM library_names WHERE packages > 0`
	var args []any
	if f := strings.TrimSpace(filter); f != "" {
		args = append(args, "%"+likeEscape(strings.ToUpper(f))+"%")
		q += fmt.Sprintf(` AND name_key LIKE $%d ESCAPE '\'`, len(args))
	}
	if cursor != "" {
		n, key, err := decodeRankCursor(cursor)
		if err != nil {
			return page, err
		}
		args = append(args, n, key)
		q += fmt.Sprintf(` AND (packages < $%d OR (packages = $%d AND name_key > $%d))`, len(args)-1, len(args)-1, len(args))
	}
	q += ` ORDER BY packages DESC, name_key LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var n index.LibraryName
		var key string
		if err := rows.Scan(&key, &n.Name, &n.Packages, &n.Variants); err != nil {
			return page, err
		}
		page.Items = append(page.Items, n)
		keys = append(keys, key)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeRankCursor(int64(page.Items[limit-1].Packages), keys[limit-1])
	}
	return page, rows.Err()
}

// LibraryVariants implements index.Reader.
func (db *DB) LibraryVariants(ctx context.Context, name string, limit int, cursor string) (catalog.Page[index.LibraryVariant], error) {
	page := catalog.Page[index.LibraryVariant]{Items: []index.LibraryVariant{}}
	limit = min(max(limit, 1), 500)
	q := `SELECT sha256, size, packages FROM library_variants WHERE name_key = $1 AND packages > 0`
	args := []any{analysis.NameKey(name)}
	if cursor != "" {
		n, sha, err := decodeRankCursor(cursor)
		if err != nil {
			return page, err
		}
		args = append(args, n, sha)
		q += ` AND (packages < $2 OR (packages = $2 AND sha256 > $3))`
	}
	q += ` ORDER BY packages DESC, sha256 LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var v index.LibraryVariant
		if err := rows.Scan(&v.SHA256, &v.Size, &v.Packages); err != nil {
			return page, err
		}
		page.Items = append(page.Items, v)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeRankCursor(int64(last.Packages), last.SHA256)
	}
	return page, rows.Err()
}

// LibraryPackages implements index.Reader: newest package first, paged on
// the latest_files index by content, which covers the columns read from
// latest_files: PostgreSQL's cached plan, which takes any content for a rare
// one, then still walks it in order and stops after the page, rather than
// reading every package holding a shared MILL.LIB and sorting them.
func (db *DB) LibraryPackages(ctx context.Context, sha string, limit int, cursor string) (catalog.Page[index.PackageRef], error) {
	page := catalog.Page[index.PackageRef]{Items: []index.PackageRef{}}
	limit = min(max(limit, 1), 200)
	q := `SELECT lf.package_id, p.name, p.machine_type, p.controller_type, p.latest_version, v.uploaded_at, lf.file_id, lf.filename, lf.package_created_at
		FROM latest_files lf
		JOIN packages p ON p.id = lf.package_id
		JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version
		WHERE lf.sha256 = ` + db.shaParam("$1")
	args := []any{strings.ToLower(sha)}
	if cursor != "" {
		ts, id, err := decodeCursor(cursor)
		if err != nil {
			return page, err
		}
		args = append(args, db.latestTime(ts), id)
		q += ` AND (lf.package_created_at < $2 OR (lf.package_created_at = $2 AND lf.package_id < $3))`
	}
	q += ` ORDER BY lf.package_created_at DESC, lf.package_id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var created []time.Time
	for rows.Next() {
		var r index.PackageRef
		var c time.Time
		if err := rows.Scan(&r.PackageID, &r.PackageName, &r.Machine, &r.Controller, &r.Version, &r.UploadedAt, &r.FileID, &r.Filename, latestTimeScan{&c}); err != nil {
			return page, err
		}
		r.UploadedAt = r.UploadedAt.UTC()
		page.Items = append(page.Items, r)
		created = append(created, c.UTC())
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(created[limit-1], page.Items[limit-1].PackageID)
	}
	return page, rows.Err()
}

// VersionsToReindex lists versions not analysed by the current analysis
// version, ready ones only (others are still being ingested or failed for
// a system reason), oldest first.
func (db *DB) VersionsToReindex(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, db.R, `SELECT id FROM package_versions
		WHERE parser_version <> $1 AND status = $2 ORDER BY uploaded_at, id`, analysis.ParserVersion, string(catalog.StatusReady))
}

// IndexProgress counts versions analysed by the current analysis version
// among those that did not fail.
func (db *DB) IndexProgress(ctx context.Context) (done, total int, err error) {
	err = db.R.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN parser_version = $1 THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM package_versions WHERE status <> $2`, analysis.ParserVersion, string(catalog.StatusError)).Scan(&done, &total)
	return done, total, err
}
