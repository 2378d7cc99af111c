package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/veripost/veripost/internal/backup"
	"github.com/veripost/veripost/internal/catalog"
)

// ErrNoSnapshot is returned by SnapshotTo on PostgreSQL, which is backed up
// with its own tools (pg_dump) and `veripost export`.
var ErrNoSnapshot = errors.New("online snapshots are made of the embedded SQLite database only; back up PostgreSQL with pg_dump (see the README) and use `veripost export` for the originals")

// SnapshotTo writes a consistent copy of the SQLite database to path (which
// must not exist) while the database stays in use: VACUUM INTO reads one
// snapshot in a read transaction, so writers are not blocked (WAL).
func (db *DB) SnapshotTo(ctx context.Context, path string) error {
	if db.Dialect != SQLite {
		return ErrNoSnapshot
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	conn, err := db.R.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The readers are query-only; VACUUM INTO writes only the new file.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only = 1`)
	_, err = conn.ExecContext(ctx, `VACUUM INTO `+sqlString(path))
	return err
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ContentsOf lists the distinct contents the files of a SQLite database
// file reference (a snapshot, before it is restored: its SHA-256s are text
// before migration 00164, bytes after).
func ContentsOf(ctx context.Context, path string) ([]string, error) {
	r, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return queryStrings(ctx, r, `SELECT DISTINCT CASE typeof(sha256) WHEN 'blob' THEN lower(hex(sha256)) ELSE sha256 END AS sha FROM files ORDER BY sha`)
}

// Snapshots reads database files copied by SnapshotTo (backup.Inspector).
type Snapshots struct{}

// Contents lists the distinct contents a copy's files reference.
func (Snapshots) Contents(ctx context.Context, path string) ([]string, error) {
	return ContentsOf(ctx, path)
}

// Counts counts a copy's packages, versions and files.
func (Snapshots) Counts(ctx context.Context, path string) (backup.Counts, error) {
	var c backup.Counts
	r, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return c, err
	}
	defer r.Close()
	err = r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM packages), (SELECT COUNT(*) FROM package_versions), (SELECT COUNT(*) FROM files)`).
		Scan(&c.Packages, &c.Versions, &c.Files)
	return c, err
}

// ExportPackages implements backup.ExportSource: every package, oldest
// first, with every version (oldest first) and its files.
func (db *DB) ExportPackages(ctx context.Context, fn func(backup.ExportedPackage) error) error {
	ids, err := queryStrings(ctx, db.R, `SELECT id FROM packages ORDER BY created_at, id`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p, err := db.GetPackage(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		p.Files = nil
		ep := backup.ExportedPackage{Package: p}
		rows, err := db.R.QueryContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE package_id = $1 ORDER BY number`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ep.Versions = append(ep.Versions, backup.ExportedVersion{Version: v})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range ep.Versions {
			if ep.Versions[i].Files, err = db.VersionFiles(ctx, ep.Versions[i].ID); err != nil {
				return err
			}
		}
		if err := fn(ep); err != nil {
			return err
		}
	}
	return nil
}
