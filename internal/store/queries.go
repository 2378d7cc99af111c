package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
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
	rows, err := db.R.QueryContext(ctx, `SELECT f.id, f.filename, f.sha256, s.occurrences, a.sections FROM files f
		JOIN symbol_index s ON s.analysis_id = f.analysis_id AND s.canonical = $2
		JOIN analyses a ON a.id = f.analysis_id
		WHERE f.version_id = $1`, versionID, canonical)
	if err != nil {
		return nil, fmt.Errorf("listing symbol %s: %w", canonical, err)
	}
	defer rows.Close()
	for rows.Next() {
		var fileID, filename, sha string
		var packed, sections []byte
		if err := rows.Scan(&fileID, &filename, &sha, &packed, &sections); err != nil {
			return nil, err
		}
		occ, err := unpackOccurrences(canonical, packed, sections)
		if err != nil {
			return nil, err
		}
		for _, o := range occ {
			out = append(out, index.SymbolOccurrence{FileID: fileID, Filename: filename, SHA256: sha, Occurrence: o})
		}
	}
	sortOccurrences(out)
	return out, rows.Err()
}

func unpackOccurrences(canonical string, packed, sections []byte) ([]analysis.Occurrence, error) {
	ranges, err := analysis.UnpackSectionRanges(sections)
	if err != nil {
		return nil, err
	}
	return analysis.UnpackOccurrences(canonical, packed, ranges)
}

// sortOccurrences puts definitions first, then by file and position.
func sortOccurrences(occ []index.SymbolOccurrence) {
	sort.SliceStable(occ, func(i, j int) bool {
		a, b := occ[i], occ[j]
		if (a.Role == analysis.RoleDefinition) != (b.Role == analysis.RoleDefinition) {
			return a.Role == analysis.RoleDefinition
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
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

// SymbolUsage implements index.Reader. Reads stay bounded by the page, not
// the corpus: the total comes from the name's counter (symbol_names); a
// name in up to symbolExactLimit packages is paged with the packages that
// define it first, a more common one newest first.
func (db *DB) SymbolUsage(ctx context.Context, canonical string, limit int, cursor string) (index.SymbolPage, error) {
	page := index.SymbolPage{Packages: []index.SymbolPackage{}, TotalExact: true}
	limit = min(max(limit, 1), 100)
	err := db.queryRowR(ctx, `SELECT packages FROM symbol_names WHERE canonical = $1`, canonical).Scan(&page.Total)
	if errors.Is(err, sql.ErrNoRows) { // no package has it
		if cursor != "" {
			if _, err := decodeSymbolCursor(cursor); err != nil {
				return page, err
			}
		}
		return page, nil
	}
	if err != nil {
		return page, err
	}
	exact := page.Total <= symbolExactLimit
	var pick []pkgKey
	if exact {
		pick, err = db.symbolDefinersFirst(ctx, canonical, limit, cursor)
	} else {
		pick, err = db.symbolNewestFirst(ctx, canonical, limit, cursor)
	}
	if err != nil {
		return page, err
	}
	if len(pick) > limit {
		pick = pick[:limit]
		last := pick[limit-1]
		if exact {
			page.NextCursor = encodeSymbolCursor(last)
		} else {
			page.NextCursor = encodeCursor(last.created, last.id)
		}
	}
	if len(pick) == 0 {
		return page, nil
	}
	ids := make([]string, len(pick))
	for i, k := range pick {
		ids[i] = k.id
	}
	pkgs, err := db.symbolPackages(ctx, canonical, ids)
	if err != nil {
		return page, err
	}
	for _, id := range ids {
		if p, ok := pkgs[id]; ok {
			page.Packages = append(page.Packages, *p)
		}
	}
	return page, nil
}

// symbolDefinersFirst returns up to limit+1 of a name's packages after the
// cursor: those defining it first, then newest first. The name has at most
// symbolExactLimit packages, so this aggregates a bounded number of rows
// (read from the covering index of latest_files by analysis).
func (db *DB) symbolDefinersFirst(ctx context.Context, canonical string, limit int, cursor string) ([]pkgKey, error) {
	q := `SELECT lf.package_id, lf.package_created_at, MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) AS d
		FROM symbol_index s JOIN latest_files lf ON lf.analysis_id = s.analysis_id
		WHERE s.canonical = $1 GROUP BY lf.package_id, lf.package_created_at`
	args := []any{canonical}
	if cursor != "" {
		k, err := decodeSymbolCursor(cursor)
		if err != nil {
			return nil, err
		}
		flag := 0
		if k.defines {
			flag = 1
		}
		args = append(args, flag, k.created, k.id)
		q += ` HAVING MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) < $2 OR (MAX(CASE WHEN s.definitions > 0 THEN 1 ELSE 0 END) = $2
			AND (lf.package_created_at < $3 OR (lf.package_created_at = $3 AND lf.package_id < $4)))`
	}
	q += ` ORDER BY d DESC, lf.package_created_at DESC, lf.package_id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pkgKey
	for rows.Next() {
		var k pkgKey
		var d int
		if err := rows.Scan(&k.id, &k.created, &d); err != nil {
			return nil, err
		}
		k.created, k.defines = k.created.UTC(), d == 1
		out = append(out, k)
	}
	return out, rows.Err()
}

// symbolNewestFirst returns up to limit+1 of a common name's packages after
// the cursor, newest first, walking the packages in that order.
func (db *DB) symbolNewestFirst(ctx context.Context, canonical string, limit int, cursor string) ([]pkgKey, error) {
	q := `SELECT p.id, p.created_at FROM packages p WHERE EXISTS (SELECT 1 FROM latest_files lf
		JOIN symbol_index s ON s.analysis_id = lf.analysis_id AND s.canonical = $1 WHERE lf.package_id = p.id)`
	args := []any{canonical}
	if cursor != "" {
		ts, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, err
		}
		q += ` AND (p.created_at < $2 OR (p.created_at = $2 AND p.id < $3))`
		args = append(args, ts, id)
	}
	q += ` ORDER BY p.created_at DESC, p.id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pkgKey
	for rows.Next() {
		var k pkgKey
		if err := rows.Scan(&k.id, &k.created); err != nil {
			return nil, err
		}
		k.created = k.created.UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// symbolPackages loads the packages of a symbol page with their counts and
// first occurrences. CROSS JOIN keeps SQLite starting from the page's
// packages (not from every content that has the name). The contents'
// section ranges come from sectionRanges (cached), not from the analyses
// rows: on SQLite reading them there walks past the large blobs before them.
func (db *DB) symbolPackages(ctx context.Context, canonical string, ids []string) (map[string]*index.SymbolPackage, error) {
	ph, args := inList(2, ids)
	rows, err := db.R.QueryContext(ctx, `SELECT p.id, p.name, p.machine_type, p.controller_type, p.latest_version, v.uploaded_at,
			lf.file_id, lf.filename, lf.sha256, lf.analysis_id, s.definitions, s.uses, s.occurrences
		FROM latest_files lf
		CROSS JOIN symbol_index s
		JOIN packages p ON p.id = lf.package_id
		JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version
		WHERE lf.package_id IN (`+ph+`) AND s.analysis_id = lf.analysis_id AND s.canonical = $1`, append([]any{canonical}, args...)...)
	if err != nil {
		return nil, err
	}
	type row struct {
		pkg                   index.SymbolPackage
		fileID, filename, sha string
		analysis              int64
		defs, uses            int
		packed                []byte
	}
	var found []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.pkg.PackageID, &r.pkg.PackageName, &r.pkg.Machine, &r.pkg.Controller, &r.pkg.Version, &r.pkg.UploadedAt,
			&r.fileID, &r.filename, &r.sha, &r.analysis, &r.defs, &r.uses, &r.packed); err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	aids := make([]int64, len(found))
	for i, r := range found {
		aids[i] = r.analysis
	}
	sections, err := db.sectionRanges(ctx, aids)
	if err != nil {
		return nil, err
	}
	out := map[string]*index.SymbolPackage{}
	for _, r := range found {
		p := out[r.pkg.PackageID]
		if p == nil {
			sp := r.pkg
			sp.UploadedAt = sp.UploadedAt.UTC()
			sp.Occurrences = []index.SymbolOccurrence{}
			p = &sp
			out[sp.PackageID] = p
		}
		p.Definitions += r.defs
		p.References += r.uses
		occ, err := analysis.UnpackOccurrences(canonical, r.packed, sections[r.analysis])
		if err != nil {
			return nil, err
		}
		for _, o := range occ {
			p.Occurrences = append(p.Occurrences, index.SymbolOccurrence{FileID: r.fileID, Filename: r.filename, SHA256: r.sha, Occurrence: o})
		}
	}
	for _, p := range out {
		sortOccurrences(p.Occurrences)
		if len(p.Occurrences) > occurrencesPerPackage {
			p.Occurrences = p.Occurrences[:occurrencesPerPackage]
		}
	}
	return out, nil
}

// sectionRanges returns the section ranges of these analyses, from the
// cache or the database (a stored analysis never changes).
func (db *DB) sectionRanges(ctx context.Context, ids []int64) (map[int64]analysis.SectionRanges, error) {
	out := make(map[int64]analysis.SectionRanges, len(ids))
	var missing []string
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		if r, ok := db.cache.sections.GetIfPresent(id); ok {
			out[id] = r
		} else {
			out[id] = nil
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// ids are integers read from the database, so they can be inlined.
	rows, err := db.R.QueryContext(ctx, `SELECT id, sections FROM analyses WHERE id IN (`+strings.Join(missing, ",")+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var packed []byte
		if err := rows.Scan(&id, &packed); err != nil {
			return nil, err
		}
		r, err := analysis.UnpackSectionRanges(packed)
		if err != nil {
			return nil, err
		}
		db.cache.sections.Set(id, r)
		out[id] = r
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
// the latest_files index by content.
func (db *DB) LibraryPackages(ctx context.Context, sha string, limit int, cursor string) (catalog.Page[index.PackageRef], error) {
	page := catalog.Page[index.PackageRef]{Items: []index.PackageRef{}}
	limit = min(max(limit, 1), 200)
	q := `SELECT lf.package_id, p.name, p.machine_type, p.controller_type, p.latest_version, v.uploaded_at, lf.file_id, lf.filename, lf.package_created_at
		FROM latest_files lf
		JOIN packages p ON p.id = lf.package_id
		JOIN package_versions v ON v.package_id = p.id AND v.number = p.latest_version
		WHERE lf.sha256 = $1`
	args := []any{strings.ToLower(sha)}
	if cursor != "" {
		ts, id, err := decodeCursor(cursor)
		if err != nil {
			return page, err
		}
		args = append(args, ts, id)
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
		if err := rows.Scan(&r.PackageID, &r.PackageName, &r.Machine, &r.Controller, &r.Version, &r.UploadedAt, &r.FileID, &r.Filename, &c); err != nil {
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
