package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/registry"
)

var _ registry.Store = (*DB)(nil)

// staleParserVersion marks a version whose registry libraries changed: it
// differs from every analysis version, so StartWork's re-index (and the
// re-index progress) counts it until it is analysed again.
const staleParserVersion = "registry-changed"

// RegisterVariant implements registry.Store.
func (db *DB) RegisterVariant(ctx context.Context, v registry.Variant) error {
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO registry_libraries (name_key, name, sha256, size, label, registered_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (name_key, sha256) DO UPDATE SET label = excluded.label`,
		registry.NameKey(v.Name), v.Name, v.SHA256, v.Size, v.Label, v.RegisteredBy, now())
	return err
}

// Variants implements registry.Store.
func (db *DB) Variants(ctx context.Context, name string) ([]registry.Variant, error) {
	q := `SELECT r.name, r.sha256, r.size, r.label, r.registered_by, r.created_at, d.sha256 IS NOT NULL
		FROM registry_libraries r LEFT JOIN registry_defaults d ON d.name_key = r.name_key AND d.sha256 = r.sha256`
	args := []any{}
	if name != "" {
		q += ` WHERE r.name_key = $1`
		args = append(args, registry.NameKey(name))
	}
	rows, err := db.R.QueryContext(ctx, q+` ORDER BY r.name_key, d.sha256 IS NULL, r.created_at DESC, r.sha256`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []registry.Variant{}
	for rows.Next() {
		var v registry.Variant
		if err := rows.Scan(&v.Name, &v.SHA256, &v.Size, &v.Label, &v.RegisteredBy, &v.CreatedAt, &v.Default); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SetDefault implements registry.Store.
func (db *DB) SetDefault(ctx context.Context, name, sha string) error {
	key := registry.NameKey(name)
	return db.InTx(ctx, func(tx *sql.Tx) error {
		var ok bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM registry_libraries WHERE name_key = $1 AND sha256 = $2)`, key, sha).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return catalog.ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registry_defaults (name_key, sha256, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name_key) DO UPDATE SET sha256 = excluded.sha256, updated_at = excluded.updated_at`, key, sha, now())
		return err
	})
}

// SetChoice implements registry.Store.
func (db *DB) SetChoice(ctx context.Context, packageID string, c registry.Choice, clear bool) error {
	if !validID(packageID) {
		return catalog.ErrNotFound
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		var ok bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM packages WHERE id = $1)`, packageID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return catalog.ErrNotFound
		}
		key := registry.NameKey(c.Name)
		if clear {
			_, err := tx.ExecContext(ctx, `DELETE FROM registry_choices WHERE package_id = $1 AND name_key = $2`, packageID, key)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registry_choices (package_id, name_key, sha256) VALUES ($1, $2, $3)
			ON CONFLICT (package_id, name_key) DO UPDATE SET sha256 = excluded.sha256`, packageID, key, c.SHA256)
		return err
	})
}

// Choices implements registry.Store.
func (db *DB) Choices(ctx context.Context, packageID string) ([]registry.Choice, error) {
	out := []registry.Choice{}
	if !validID(packageID) {
		return out, nil
	}
	rows, err := db.R.QueryContext(ctx, `SELECT name_key, sha256 FROM registry_choices WHERE package_id = $1 ORDER BY name_key`, packageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c registry.Choice
		if err := rows.Scan(&c.Name, &c.SHA256); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ContentSize implements registry.Store.
func (db *DB) ContentSize(ctx context.Context, sha string) (int64, bool, error) {
	var size int64
	err := db.R.QueryRowContext(ctx, `SELECT size FROM files WHERE sha256 = `+db.shaParam("$1")+`
		UNION ALL SELECT size FROM registry_libraries WHERE sha256 = $1 LIMIT 1`, sha).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return size, err == nil, err
}

// MarkStale implements registry.Store.
func (db *DB) MarkStale(ctx context.Context, name, packageID string) ([]string, error) {
	key := registry.NameKey(name)
	var ids []string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		q := `SELECT v.id FROM version_library_needs n JOIN package_versions v ON v.id = n.version_id
			WHERE n.name_key = $1 AND v.status = $2`
		args := []any{key, string(catalog.StatusReady)}
		if packageID != "" {
			if !validID(packageID) {
				return nil
			}
			q += ` AND v.package_id = $3`
			args = append(args, packageID)
		}
		var err error
		if ids, err = queryStrings(ctx, tx, q+` ORDER BY v.uploaded_at DESC, v.id`, args...); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE package_versions SET parser_version = $2 WHERE id = $1`, id, staleParserVersion); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}
