package store

import (
	"context"
	"database/sql"
	"sort"

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
// the library counters by the difference between the old and the new
// latest files. The caller holds the package's row lock.
func (db *DB) refreshLatest(ctx context.Context, tx *sql.Tx, packageID string) error {
	old, err := latestLibraries(ctx, tx, packageID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM latest_files WHERE package_id = $1`, packageID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT f.id, f.filename, f.sha256, f.size, f.analysis_id, p.created_at
		FROM files f JOIN package_versions v ON v.id = f.version_id
		JOIN packages p ON p.id = v.package_id AND p.latest_version = v.number
		WHERE p.id = $1`, packageID)
	if err != nil {
		return err
	}
	type row struct {
		id, name, sha string
		size          int64
		analysis      sql.NullInt64
		created       any
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
	ins, err := tx.PrepareContext(ctx, `INSERT INTO latest_files (package_id, file_id, filename, name_key, kind, sha256, size, analysis_id, package_created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, f := range files {
		kind := upg.KindOf(f.name)
		if !kind.IsSource() {
			continue // side files have no symbols and are no libraries
		}
		if _, err := ins.ExecContext(ctx, packageID, f.id, f.name, analysis.NameKey(f.name), string(kind), f.sha, f.size, f.analysis, f.created); err != nil {
			return err
		}
	}
	now, err := latestLibraries(ctx, tx, packageID)
	if err != nil {
		return err
	}
	return moveLibraries(ctx, tx, old, now)
}

// libraryVariant is one library content of a package's latest files.
type libraryVariant struct {
	key, name, sha string
	size           int64
}

// latestLibraries returns the library files of a package's latest_files,
// one per (name, content).
func latestLibraries(ctx context.Context, tx *sql.Tx, packageID string) ([]libraryVariant, error) {
	if !validID(packageID) {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name_key, MIN(filename), sha256, MAX(size), kind FROM latest_files
		WHERE package_id = $1 GROUP BY name_key, sha256, kind`, packageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []libraryVariant
	for rows.Next() {
		var v libraryVariant
		var kind string
		if err := rows.Scan(&v.key, &v.name, &v.sha, &v.size, &kind); err != nil {
			return nil, err
		}
		if isLibraryKind(kind) {
			vs = append(vs, v)
		}
	}
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
