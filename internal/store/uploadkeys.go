package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/veripost/veripost/internal/catalog"
)

var _ catalog.UploadKeys = (*DB)(nil)

// UploadByKey implements catalog.UploadKeys.
func (db *DB) UploadByKey(ctx context.Context, scope, key string) (string, string, error) {
	var fp, versionID string
	err := db.R.QueryRowContext(ctx, `SELECT fingerprint, version_id FROM upload_keys WHERE scope = $1 AND key = $2`, scope, key).Scan(&fp, &versionID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", catalog.ErrNotFound
	}
	return fp, versionID, err
}

// SaveUploadKeyTx records an upload's Idempotency-Key inside the
// transaction that records its version; catalog.ErrKeyTaken when another
// version holds the key.
func (db *DB) SaveUploadKeyTx(ctx context.Context, tx *sql.Tx, k catalog.UploadKey, versionID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO upload_keys (scope, key, fingerprint, version_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.Scope, k.Key, k.Fingerprint, versionID, now())
	if uniqueViolation(err) {
		return catalog.ErrKeyTaken
	}
	return err
}

// PruneUploadKeys forgets keys recorded before the given time; a retry
// after that creates a new version.
func (db *DB) PruneUploadKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := db.SQL.ExecContext(ctx, `DELETE FROM upload_keys WHERE created_at < $1`, before.UTC())
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func uniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 2067 || se.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}
