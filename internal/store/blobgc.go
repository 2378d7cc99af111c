package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/veripost/veripost/internal/catalog"
)

var (
	_ catalog.BlobLeases        = (*DB)(nil)
	_ catalog.ContentReferences = (*DB)(nil)
)

// Lease implements catalog.BlobLeases. Under each content's lock (see
// lockContents; shared here, exclusive in Condemn) it refuses a content
// the collector has condemned, so a lease and a condemnation of the same
// content never both succeed.
func (db *DB) Lease(ctx context.Context, leaseID string, shas []string, expires time.Time) error {
	// Leases exclude a condemnation (an exclusive lock), not each other:
	// uploads that share a library take their leases side by side.
	shared := make(map[string]bool, len(shas))
	for _, s := range shas {
		shared[s] = true
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockContentsShared(ctx, tx, shas, shared); err != nil {
			return err
		}
		ph, args := inList(1, shas)
		var condemned bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM blob_condemned WHERE sha256 IN (`+ph+`))`, args...).Scan(&condemned); err != nil {
			return err
		}
		if condemned {
			return catalog.ErrCondemned
		}
		if db.Dialect == Postgres { // one round trip
			_, err := tx.ExecContext(ctx, `INSERT INTO blob_leases (sha256, lease_id, expires_at)
				SELECT DISTINCT s, $2, $3::timestamptz FROM unnest($1::text[]) s ON CONFLICT DO NOTHING`, shas, leaseID, expires.UTC())
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO blob_leases (sha256, lease_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, sha := range shas {
			if _, err := st.ExecContext(ctx, sha, leaseID, expires.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
}

// Release implements catalog.BlobLeases.
func (db *DB) Release(ctx context.Context, leaseID string) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM blob_leases WHERE lease_id = $1`, leaseID)
	return err
}

// ReferencedContents implements catalog.ContentReferences.
func (db *DB) ReferencedContents(ctx context.Context) (map[string]bool, error) {
	shas, err := queryStrings(ctx, db.R, `SELECT DISTINCT `+db.shaText("sha256")+` FROM files UNION SELECT DISTINCT sha256 FROM blob_leases
		UNION SELECT DISTINCT sha256 FROM registry_libraries`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(shas))
	for _, s := range shas {
		out[s] = true
	}
	return out, nil
}

// Condemn implements catalog.ContentReferences.
func (db *DB) Condemn(ctx context.Context, sha string) (bool, error) {
	ok := false
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		ok = false // a retried transaction starts over
		if err := db.lockContents(ctx, tx, []string{sha}); err != nil {
			return err
		}
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = `+db.shaParam("$1")+`)
			OR EXISTS (SELECT 1 FROM blob_leases WHERE sha256 = $1)
			OR EXISTS (SELECT 1 FROM registry_libraries WHERE sha256 = $1)`, sha).Scan(&used); err != nil {
			return err
		}
		if used {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_condemned (sha256, condemned_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sha, now()); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// Absolve implements catalog.ContentReferences.
func (db *DB) Absolve(ctx context.Context, sha string) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM blob_condemned WHERE sha256 = $1`, sha)
	return err
}

// ExpireLeases implements catalog.ContentReferences. It also clears marks
// a collector left when it stopped between condemning a content and
// absolving it (safe either way: the blob is there, or an upload writes it
// again).
func (db *DB) ExpireLeases(ctx context.Context, at time.Time) (int, error) {
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM blob_condemned WHERE condemned_at < $1`, at.Add(-5*time.Minute).UTC()); err != nil {
		return 0, err
	}
	res, err := db.SQL.ExecContext(ctx, `DELETE FROM blob_leases WHERE expires_at < $1`, at.UTC())
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
