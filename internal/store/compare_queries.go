package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
)

// PackagesByName lists the packages called name (case-insensitive), newest
// first, at most 10: a compare reference may name a package instead of
// giving its id.
func (db *DB) PackagesByName(ctx context.Context, name string) ([]catalog.Package, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT id FROM packages WHERE UPPER(name) = UPPER($1)
		ORDER BY created_at DESC, id DESC LIMIT 10`, strings.TrimSpace(name))
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]catalog.Package, 0, len(ids))
	for _, id := range ids {
		p, err := db.GetPackage(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// FileBySHA returns the most recently stored file with this content and the
// package it belongs to (a library variant is named by its SHA-256; the
// file gives it a name and a page to link to).
func (db *DB) FileBySHA(ctx context.Context, sha string) (catalog.File, string, error) {
	var pkgID string
	f, err := scanFile(withExtra{db.R.QueryRowContext(ctx, `SELECT `+db.fileColumns()+`, v.package_id`+fileFrom+`
		WHERE f.sha256 = `+db.shaParam("$1")+` ORDER BY v.uploaded_at DESC, f.id LIMIT 1`, strings.ToLower(sha)), []any{&pkgID}})
	if errors.Is(err, sql.ErrNoRows) {
		return f, "", catalog.ErrNotFound
	}
	return f, pkgID, err
}

// SetVersionNote implements catalog.Repository: the note of version number
// of a package, edited after the upload.
func (db *DB) SetVersionNote(ctx context.Context, packageID string, number int, note string) (catalog.Version, error) {
	if !validID(packageID) {
		return catalog.Version{}, catalog.ErrNotFound
	}
	res, err := db.SQL.ExecContext(ctx, `UPDATE package_versions SET note = $3 WHERE package_id = $1 AND number = $2`,
		packageID, number, note)
	if err != nil {
		return catalog.Version{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return catalog.Version{}, catalog.ErrNotFound
	}
	v, err := scanVersion(db.SQL.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM package_versions WHERE package_id = $1 AND number = $2`, packageID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}
