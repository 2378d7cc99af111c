package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
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
		WHERE f.version_id = $1 AND f.analysis_id IS NOT NULL`, versionID)
	if err != nil {
		return nil, fmt.Errorf("listing symbol %s: %w", canonical, err)
	}
	defer rows.Close()
	type file struct {
		id, name, sha string
		analysis      int64
	}
	var files []file
	var aids []int64
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.id, &f.name, &f.sha, &f.analysis); err != nil {
			return nil, err
		}
		files = append(files, f)
		aids = append(aids, f.analysis)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	name, err := db.symbolNameEntries(ctx, db.R, canonical, aids)
	if err != nil {
		return nil, err
	}
	aids = aids[:0]
	for _, f := range files {
		if name.entries.has(f.analysis) {
			aids = append(aids, f.analysis)
		}
	}
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !name.entries.has(f.analysis) {
			continue
		}
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
var symbolExactLimit = 300 // a variable for the tests of the walk

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

// SymbolUsage implements index.Reader: the name's count and entries
// (symbol_names and its symbol index rows, one query), the page of its
// packages, then their files' counts and occurrences. Reads stay bounded by
// the page, not the corpus: a name in up to symbolExactLimit packages is
// paged with the packages that define it first (its analyses' latest
// files are gathered and ordered), a more common one newest first, walking
// the packages in that order and keeping those whose latest files have one
// of its analyses. The count decides which of the two a first page is; a
// cursor names its own (and is refused when the count now says the other).
//
// A page is kept per commit generation (generation.go): a common name's
// page gathers hundreds of entries and occurrences, and is asked for again
// and again while nothing changes.
func (db *DB) SymbolUsage(ctx context.Context, canonical string, limit int, cursor string) (index.SymbolPage, error) {
	limit = min(max(limit, 1), 100)
	key := "symbol usage\x00" + canonical + "\x00" + strconv.Itoa(limit) + "\x00" + cursor
	return readPerGeneration(ctx, db, key, symbolPageWeight, func(ctx context.Context) (index.SymbolPage, error) {
		return db.symbolUsage(ctx, canonical, limit, cursor)
	})
}

// symbolPageWeight estimates the bytes a symbol page holds.
func symbolPageWeight(p index.SymbolPage) int {
	n := 128 + len(p.NextCursor)
	for _, sp := range p.Packages {
		n += 256 + len(sp.PackageName) + len(sp.Machine) + len(sp.Controller)
		for _, o := range sp.Occurrences {
			n += 160 + len(o.FileID) + len(o.Filename) + len(o.SHA256) + len(o.Name) + len(o.Section)
		}
	}
	return n
}

// symbolUsage computes a page of SymbolUsage.
func (db *DB) symbolUsage(ctx context.Context, canonical string, limit int, cursor string) (index.SymbolPage, error) {
	page := index.SymbolPage{Packages: []index.SymbolPackage{}, TotalExact: true}
	exactCursor, walkCursor := false, false
	var after pkgKey
	if cursor == "" {
	} else if k, err := decodeSymbolCursor(cursor); err == nil {
		exactCursor, after = true, k
	} else if ts, id, err := decodeCursor(cursor); err == nil {
		walkCursor, after = true, pkgKey{created: ts, id: id}
	} else {
		return page, catalog.ErrBadCursor
	}
	name, err := db.symbolNameEntries(ctx, db.R, canonical, nil)
	if err != nil {
		return page, err
	}
	if name.packages <= 0 { // no package has the name
		if walkCursor {
			return page, catalog.ErrBadCursor
		}
		return page, nil
	}
	page.Total = name.packages
	exact := page.Total <= symbolExactLimit
	if (exactCursor && !exact) || (walkCursor && exact) {
		return page, catalog.ErrBadCursor // the count moved past symbolExactLimit between pages
	}
	var keys []pkgKey
	if exact {
		keys, err = db.symbolDefinersFirst(ctx, name, exactCursor, after, limit)
	} else {
		keys, err = db.symbolNewestFirst(ctx, name, walkCursor, after, limit)
	}
	if err != nil {
		return page, err
	}
	if len(keys) > limit {
		keys = keys[:limit]
		if exact {
			page.NextCursor = encodeSymbolCursor(keys[limit-1])
		} else {
			page.NextCursor = encodeCursor(keys[limit-1].created, keys[limit-1].id)
		}
	}
	if len(keys) == 0 {
		return page, nil
	}
	// The page's packages and their latest files that have the name.
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	list, arg := db.listArg(ids, "uuid", 1)
	rows, err := db.R.QueryContext(ctx, `SELECT p.id, p.name, p.machine_type, p.controller_type, p.latest_version, v.uploaded_at,
			lf.file_id, lf.filename, `+db.shaText("lf.sha256")+`, lf.analysis_id
		FROM packages p
		JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version
		JOIN latest_files lf ON lf.package_id = p.id
		WHERE p.id IN `+list+` AND lf.analysis_id IS NOT NULL`, arg)
	if err != nil {
		return page, err
	}
	type row struct {
		pkg                   *index.SymbolPackage
		fileID, filename, sha string
		entry                 symbolEntry
	}
	var found []row
	byID := make(map[string]*index.SymbolPackage, len(keys))
	for rows.Next() {
		var r row
		var p index.SymbolPackage
		var aid int64
		if err := rows.Scan(&p.PackageID, &p.PackageName, &p.Machine, &p.Controller, &p.Version, &p.UploadedAt,
			&r.fileID, &r.filename, &r.sha, &aid); err != nil {
			rows.Close()
			return page, err
		}
		e, ok := name.entries.get(aid)
		if !ok {
			continue
		}
		if r.pkg = byID[p.PackageID]; r.pkg == nil {
			p.UploadedAt = p.UploadedAt.UTC()
			p.Occurrences = []index.SymbolOccurrence{}
			r.pkg = &p
			byID[p.PackageID] = r.pkg
		}
		r.entry = e
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}
	aids := make([]int64, 0, len(found))
	for _, r := range found {
		aids = append(aids, r.entry.analysis)
	}
	symbols, err := db.storedSymbols(ctx, aids)
	if err != nil {
		return page, err
	}
	for _, r := range found {
		p := r.pkg
		p.Definitions += r.entry.defs
		p.References += r.entry.uses
		occ, err := symbols[r.entry.analysis].occurrencesOf(canonical)
		if err != nil {
			return page, err
		}
		for _, o := range occ {
			p.Occurrences = append(p.Occurrences, index.SymbolOccurrence{FileID: r.fileID, Filename: r.filename, SHA256: r.sha, Occurrence: o})
		}
	}
	for _, k := range keys {
		p := byID[k.id]
		if p == nil {
			continue // gone between the reads
		}
		sortOccurrences(p.Occurrences)
		if len(p.Occurrences) > occurrencesPerPackage {
			p.Occurrences = p.Occurrences[:occurrencesPerPackage]
		}
		page.Packages = append(page.Packages, *p)
	}
	return page, nil
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

// symbolDefinersFirst returns up to limit+1 of the packages of a name in
// at most symbolExactLimit packages, after the cursor's when given: those
// defining it first, then newest first. It reads the latest files of the
// name's analyses (by the latest_files index by analysis).
func (db *DB) symbolDefinersFirst(ctx context.Context, name symbolName, cursor bool, after pkgKey, limit int) ([]pkgKey, error) {
	aids := name.entries.analyses()
	list, arg := db.listArg(aids, "int8", 1)
	rows, err := db.R.QueryContext(ctx, `SELECT package_id, package_created_at, analysis_id FROM latest_files WHERE analysis_id IN `+list, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string]*pkgKey{}
	var keys []*pkgKey
	for rows.Next() {
		var k pkgKey
		var aid int64
		if err := rows.Scan(&k.id, latestTimeScan{&k.created}, &aid); err != nil {
			return nil, err
		}
		p := byID[k.id]
		if p == nil {
			p = &k
			byID[k.id] = p
			keys = append(keys, p)
		}
		if e, _ := name.entries.get(aid); e.defs > 0 {
			p.defines = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]pkgKey, 0, len(keys))
	for _, k := range keys {
		if !cursor || after.before(*k, true) {
			out = append(out, *k)
		}
	}
	slices.SortFunc(out, func(a, b pkgKey) int {
		if a.before(b, true) {
			return -1
		}
		return 1
	})
	return out[:min(len(out), limit+1)], nil
}

// symbolNewestFirst returns up to limit+1 of the packages of a more
// common name, newest first, after the cursor's when given: it walks the
// packages in that order, a growing chunk at a time (such a name fills a
// page after a few packages: about limit × packages/symbolExactLimit are
// looked at), keeping those whose latest files have one of the name's
// analyses.
func (db *DB) symbolNewestFirst(ctx context.Context, name symbolName, cursor bool, after pkgKey, limit int) ([]pkgKey, error) {
	var out []pkgKey
	chunk := limit + 1
	for {
		q := `SELECT id, created_at FROM packages`
		var args []any
		if cursor {
			q += ` WHERE (created_at < $1 OR (created_at = $1 AND id < $2))`
			args = append(args, after.created, after.id)
		}
		q = `SELECT p.id, p.created_at, lf.analysis_id FROM (` + q + ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(chunk) + `) p
			LEFT JOIN latest_files lf ON lf.package_id = p.id`
		rows, err := db.R.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		byID := map[string]*pkgKey{}
		var walked []*pkgKey
		has := map[string]bool{}
		for rows.Next() {
			var k pkgKey
			var aid sql.NullInt64
			if err := rows.Scan(&k.id, &k.created, &aid); err != nil {
				rows.Close()
				return nil, err
			}
			if byID[k.id] == nil {
				k.created = k.created.UTC()
				byID[k.id] = &k
				walked = append(walked, &k)
			}
			if aid.Valid && name.entries.has(aid.Int64) {
				has[k.id] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		slices.SortFunc(walked, func(a, b *pkgKey) int {
			if a.before(*b, false) {
				return -1
			}
			return 1
		})
		for _, k := range walked {
			if has[k.id] {
				if out = append(out, *k); len(out) > limit {
					return out, nil
				}
			}
		}
		if len(walked) < chunk {
			return out, nil // the oldest package
		}
		cursor, after = true, *walked[len(walked)-1]
		chunk = min(2*chunk, 1000)
	}
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
