package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/upg"
)

// libraryKinds are the file kinds the libraries views count.
var libraryKinds = []upg.FileKind{upg.KindLIB, upg.KindATR, upg.KindInclude}

func isLibraryKind(k string) bool {
	for _, lk := range libraryKinds {
		if string(lk) == k {
			return true
		}
	}
	return false
}

// refreshLatest rewrites a package's latest_files (its source files) from its latest version
// (inside the transaction that changed which version is latest) and moves
// the library and symbol counters by the difference between the old and
// the new latest files. The caller holds the package's row lock.
func (db *DB) refreshLatest(ctx context.Context, tx *sql.Tx, packageID string) error {
	old, err := db.latestLibraries(ctx, tx, packageID)
	if err != nil {
		return err
	}
	oldAnalyses, err := latestAnalyses(ctx, tx, packageID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM latest_files WHERE package_id = $1`, packageID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT f.id, f.filename, `+db.shaText("f.sha256")+`, f.size, f.analysis_id, p.created_at
		FROM files f JOIN package_versions v ON v.id = f.version_id
		JOIN packages p ON p.id = v.package_id AND p.latest_version = v.number
		WHERE p.id = $1 ORDER BY f.filename`, packageID)
	if err != nil {
		return err
	}
	type row struct {
		id, name, sha string
		size          int64
		analysis      sql.NullInt64
		created       time.Time
	}
	var files []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name, &r.sha, &r.size, &r.analysis, &r.created); err != nil {
			rows.Close()
			return err
		}
		files = append(files, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO latest_files (package_id, ord, file_id, filename, kind, sha256, size, analysis_id, package_created_at)
		VALUES ($1, $2, $3, $4, $5, `+db.shaParam("$6")+`, $7, $8, $9)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	ord := 0
	for _, f := range files {
		kind := upg.KindOf(f.name)
		if !kind.IsSource() {
			continue // side files have no symbols and are no libraries
		}
		ord++
		if _, err := ins.ExecContext(ctx, packageID, ord, f.id, f.name, string(kind), f.sha, f.size, f.analysis, db.latestTime(f.created)); err != nil {
			return err
		}
	}
	now, err := db.latestLibraries(ctx, tx, packageID)
	if err != nil {
		return err
	}
	if err := moveLibraries(ctx, tx, old, now); err != nil {
		return err
	}
	nowAnalyses, err := latestAnalyses(ctx, tx, packageID)
	if err != nil {
		return err
	}
	return db.moveSymbols(ctx, tx, oldAnalyses, nowAnalyses, nil)
}

// libraryVariant is one library content of a package's latest files.
type libraryVariant struct {
	key, name, sha string
	size           int64
}

// latestLibraries returns the library files of a package's latest_files,
// one per (name, content), in name and content order.
func (db *DB) latestLibraries(ctx context.Context, tx *sql.Tx, packageID string) ([]libraryVariant, error) {
	if !validID(packageID) {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT filename, `+db.shaText("sha256")+`, size, kind FROM latest_files WHERE package_id = $1`, packageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[[2]string]int{}
	var vs []libraryVariant
	for rows.Next() {
		var v libraryVariant
		var kind string
		if err := rows.Scan(&v.name, &v.sha, &v.size, &kind); err != nil {
			return nil, err
		}
		if !isLibraryKind(kind) {
			continue
		}
		v.key = analysis.NameKey(v.name)
		k := [2]string{v.key, v.sha}
		i, ok := seen[k]
		if !ok {
			seen[k] = len(vs)
			vs = append(vs, v)
			continue
		}
		// Two files of one name and content (only in different folders):
		// the first name and the larger size, as MIN and MAX did.
		vs[i].name, vs[i].size = min(vs[i].name, v.name), max(vs[i].size, v.size)
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].key != vs[j].key {
			return vs[i].key < vs[j].key
		}
		return vs[i].sha < vs[j].sha
	})
	return vs, rows.Err()
}

// moveLibraries changes the library counters from a package having the
// library files old to having now: per name, how many packages have it and
// how many distinct contents it has; per content, how many packages. Only
// the difference is written, in one pass over names in sorted order (each
// name's row before its contents' rows, contents in sorted order), so that
// concurrent transactions take the counter rows' locks in the same order
// and cannot deadlock.
func moveLibraries(ctx context.Context, tx *sql.Tx, old, now []libraryVariant) error {
	type change struct {
		v     libraryVariant
		delta int
	}
	type nameChange struct {
		display  string
		had, has bool
		variants []*change
	}
	names := map[string]*nameChange{}
	variants := map[[2]string]*change{}
	for i, set := range [][]libraryVariant{old, now} {
		for _, v := range set {
			n := names[v.key]
			if n == nil {
				n = &nameChange{display: v.name}
				names[v.key] = n
			}
			c := variants[[2]string{v.key, v.sha}]
			if c == nil {
				c = &change{v: v}
				variants[[2]string{v.key, v.sha}] = c
				n.variants = append(n.variants, c)
			}
			if i == 0 {
				n.had = true
				c.delta--
			} else {
				n.has = true
				n.display = v.name
				c.v = v
				c.delta++
			}
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		n := names[key]
		sort.Slice(n.variants, func(i, j int) bool { return n.variants[i].v.sha < n.variants[j].v.sha })
		changed := n.had != n.has
		for _, c := range n.variants {
			changed = changed || c.delta != 0
		}
		if !changed {
			continue
		}
		delta := 0
		switch {
		case n.has && !n.had:
			delta = 1
		case n.had && !n.has:
			delta = -1
		}
		// The name's row first: it may not exist yet.
		if _, err := tx.ExecContext(ctx, `INSERT INTO library_names (name_key, name, packages, variants) VALUES ($1, $2, $3, 0)
			ON CONFLICT (name_key) DO UPDATE SET packages = library_names.packages + $3`, key, n.display, delta); err != nil {
			return err
		}
		variantDelta := 0
		for _, c := range n.variants {
			if c.delta == 0 {
				continue
			}
			var count int
			err := tx.QueryRowContext(ctx, `INSERT INTO library_variants (name_key, sha256, size, packages) VALUES ($1, $2, $3, $4)
				ON CONFLICT (name_key, sha256) DO UPDATE SET packages = library_variants.packages + $4 RETURNING packages`,
				key, c.v.sha, c.v.size, c.delta).Scan(&count)
			if err != nil {
				return err
			}
			switch {
			case c.delta > 0 && count == c.delta: // a new content of the name
				variantDelta++
			case c.delta < 0 && count <= 0: // the last package with this content
				if _, err := tx.ExecContext(ctx, `DELETE FROM library_variants WHERE name_key = $1 AND sha256 = $2`, key, c.v.sha); err != nil {
					return err
				}
				variantDelta--
			}
		}
		var packages int
		if err := tx.QueryRowContext(ctx, `UPDATE library_names SET variants = variants + $2 WHERE name_key = $1 RETURNING packages`,
			key, variantDelta).Scan(&packages); err != nil {
			return err
		}
		if packages <= 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM library_names WHERE name_key = $1`, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// nameUse is a name's definitions and uses in a content, or summed over a
// package's latest files, with its kind as first seen.
type nameUse struct {
	name       string
	defs, uses int
	kind       string
}

// analysisNames returns an analysis's names with their counts, from the
// cache, from f when given, or from the stored analysis.
func (db *DB) analysisNames(ctx context.Context, q querier, id int64, f *analysis.File) ([]nameUse, error) {
	if ns, ok := db.cache.names.GetIfPresent(id); ok {
		return ns, nil
	}
	if f == nil {
		loaded, err := db.loadAnalyses(ctx, q, []int64{id})
		if err != nil {
			return nil, err
		}
		if f = loaded[id]; f == nil {
			return nil, nil // gone: it has no names
		}
	}
	groups := f.Symbols()
	ns := make([]nameUse, len(groups))
	for i, g := range groups {
		ns[i] = nameUse{name: g.Canonical, defs: g.Definitions, uses: g.Uses}
		if len(g.Occurrences) > 0 {
			ns[i].kind = g.Occurrences[0].Kind
		}
	}
	db.cache.names.Set(id, ns)
	return ns, nil
}

// latestAnalyses lists the analyses of a package's latest files, one per
// file (a content two files hold is listed twice, as the symbol pages
// count files).
func latestAnalyses(ctx context.Context, tx *sql.Tx, packageID string) ([]int64, error) {
	return queryInts(ctx, tx, `SELECT analysis_id FROM latest_files WHERE package_id = $1 AND analysis_id IS NOT NULL`, packageID)
}

// packageNames sums the names of a package's latest analyses.
func (db *DB) packageNames(ctx context.Context, tx *sql.Tx, ids []int64, known map[int64]*analysis.File) (map[string]nameUse, error) {
	out := map[string]nameUse{}
	for _, id := range ids {
		ns, err := db.analysisNames(ctx, tx, id, known[id])
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			u, ok := out[n.name]
			if !ok {
				u = nameUse{name: n.name, kind: n.kind}
			}
			u.defs += n.defs
			u.uses += n.uses
			out[n.name] = u
		}
	}
	return out, nil
}

// moveSymbols changes the symbol name counters from a package's latest
// files having the analyses old to having now (see symbol_names). Only
// names whose counts change are written, in name order, so concurrent
// transactions lock the counter rows in the same order and cannot
// deadlock; a name no package has any more is removed. (Appending changes
// for a later fold was tried: PostgreSQL ingestion was no faster, and the
// appended and folded rows grew the database by ~90 KiB a package until
// vacuumed.)
func (db *DB) moveSymbols(ctx context.Context, tx *sql.Tx, old, now []int64, known map[int64]*analysis.File) error {
	if sameInts(old, now) {
		return nil
	}
	before, err := db.packageNames(ctx, tx, old, known)
	if err != nil {
		return err
	}
	after, err := db.packageNames(ctx, tx, now, known)
	if err != nil {
		return err
	}
	var deltas []nameUse // packages in defs' place: see below
	var pkgs []int
	for name, a := range after {
		b, had := before[name]
		p := 0
		if !had {
			p = 1
		}
		if d := (nameUse{name: name, defs: a.defs - b.defs, uses: a.uses - b.uses, kind: a.kind}); p != 0 || d.defs != 0 || d.uses != 0 {
			deltas, pkgs = append(deltas, d), append(pkgs, p)
		}
	}
	for name, b := range before {
		if _, has := after[name]; !has {
			deltas, pkgs = append(deltas, nameUse{name: name, defs: -b.defs, uses: -b.uses, kind: b.kind}), append(pkgs, -1)
		}
	}
	if len(deltas) == 0 {
		return nil
	}
	order := make([]int, len(deltas))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return deltas[order[i]].name < deltas[order[j]].name })
	var gone []string // names that lost a package: removed when none is left and no analysis has them
	const upsert = `INSERT INTO symbol_names (canonical, kind, packages, definitions, uses) `
	const onConflict = ` ON CONFLICT (canonical) DO UPDATE SET packages = symbol_names.packages + excluded.packages,
		definitions = symbol_names.definitions + excluded.definitions, uses = symbol_names.uses + excluded.uses,
		kind = CASE WHEN symbol_names.kind = '' OR symbol_names.packages <= 0 THEN excluded.kind ELSE symbol_names.kind END`
	if db.Dialect == Postgres {
		// ORDER BY: the rows are locked in name order.
		names, kinds := make([]string, len(order)), make([]string, len(order))
		ps, ds, us := make([]int32, len(order)), make([]int32, len(order)), make([]int32, len(order))
		for i, k := range order {
			d := deltas[k]
			names[i], kinds[i], ps[i], ds[i], us[i] = d.name, d.kind, int32(pkgs[k]), int32(d.defs), int32(d.uses)
			if pkgs[k] < 0 {
				gone = append(gone, d.name)
			}
		}
		if _, err := tx.ExecContext(ctx, upsert+`SELECT n, k, p, d, u FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::int4[]) AS t(n, k, p, d, u)
			ORDER BY n COLLATE "C"`+onConflict, names, kinds, ps, ds, us); err != nil {
			return fmt.Errorf("counting symbols: %w", err)
		}
		return db.dropUnusedSymbolNames(ctx, tx, gone)
	}
	// SQLite: one statement over a JSON array (a statement per name would
	// cost the single writer a round through the driver each).
	rows := make([][5]any, len(order))
	for i, k := range order {
		d := deltas[k]
		rows[i] = [5]any{d.name, d.kind, pkgs[k], d.defs, d.uses}
		if pkgs[k] < 0 {
			gone = append(gone, d.name)
		}
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	// (A name's row is there already: storing its analysis added it. The
	// id is for a row that is not, numbered like symbolIDs does.)
	if _, err := tx.ExecContext(ctx, `INSERT INTO symbol_names (canonical, kind, packages, definitions, uses, id)
		SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, (SELECT COALESCE(MAX(id), 0) FROM symbol_names) + key + 1
		FROM json_each($1) WHERE true`+onConflict, string(batch)); err != nil {
		return fmt.Errorf("counting symbols: %w", err)
	}
	return db.dropUnusedSymbolNames(ctx, tx, gone)
}

// sameInts reports whether a and b hold the same values as many times.
func sameInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	n := map[int64]int{}
	for _, x := range a {
		n[x]++
	}
	for _, x := range b {
		if n[x]--; n[x] < 0 {
			return false
		}
	}
	return true
}
