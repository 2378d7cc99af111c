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
// the library counters with it.
func (db *DB) refreshLatest(ctx context.Context, tx *sql.Tx, packageID string) error {
	if err := db.adjustLibraries(ctx, tx, packageID, -1); err != nil {
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
	return db.adjustLibraries(ctx, tx, packageID, +1)
}

// adjustLibraries adds (delta +1) or removes (-1) the package's latest
// library files to or from the library counters: per name, how many
// packages have it and how many distinct contents; per content, how many
// packages. Names and contents are visited in sorted order, so concurrent
// transactions lock the counter rows in the same order.
func (db *DB) adjustLibraries(ctx context.Context, tx *sql.Tx, packageID string, delta int) error {
	if !validID(packageID) {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name_key, MIN(filename), sha256, MAX(size), kind FROM latest_files
		WHERE package_id = $1 GROUP BY name_key, sha256, kind`, packageID)
	if err != nil {
		return err
	}
	type variant struct {
		key, name, sha string
		size           int64
	}
	var vs []variant
	for rows.Next() {
		var v variant
		var kind string
		if err := rows.Scan(&v.key, &v.name, &v.sha, &v.size, &kind); err != nil {
			rows.Close()
			return err
		}
		if isLibraryKind(kind) {
			vs = append(vs, v)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].key != vs[j].key {
			return vs[i].key < vs[j].key
		}
		return vs[i].sha < vs[j].sha
	})
	seenName := map[string]bool{}
	for _, v := range vs {
		if !seenName[v.key] {
			seenName[v.key] = true
			if delta > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO library_names (name_key, name, packages, variants) VALUES ($1, $2, 1, 0)
					ON CONFLICT (name_key) DO UPDATE SET packages = library_names.packages + 1`, v.key, v.name); err != nil {
					return err
				}
			} else if _, err := tx.ExecContext(ctx, `UPDATE library_names SET packages = packages - 1 WHERE name_key = $1`, v.key); err != nil {
				return err
			}
		}
		var n int
		if delta > 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO library_variants (name_key, sha256, size, packages) VALUES ($1, $2, $3, 1)
				ON CONFLICT (name_key, sha256) DO UPDATE SET packages = library_variants.packages + 1 RETURNING packages`, v.key, v.sha, v.size).Scan(&n)
		} else {
			err = tx.QueryRowContext(ctx, `UPDATE library_variants SET packages = packages - 1 WHERE name_key = $1 AND sha256 = $2
				RETURNING packages`, v.key, v.sha).Scan(&n)
			if err == sql.ErrNoRows {
				err, n = nil, -1
			}
		}
		if err != nil {
			return err
		}
		switch {
		case delta > 0 && n == 1: // a new variant of the name
			_, err = tx.ExecContext(ctx, `UPDATE library_names SET variants = variants + 1 WHERE name_key = $1`, v.key)
		case delta < 0 && n == 0: // the last package with this variant
			if _, err = tx.ExecContext(ctx, `DELETE FROM library_variants WHERE name_key = $1 AND sha256 = $2`, v.key, v.sha); err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE library_names SET variants = variants - 1 WHERE name_key = $1`, v.key)
			}
		}
		if err != nil {
			return err
		}
	}
	if delta < 0 && len(seenName) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM library_names WHERE packages <= 0 AND name_key IN (SELECT name_key FROM latest_files WHERE package_id = $1)`, packageID); err != nil {
			return err
		}
	}
	return nil
}
