package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/veripost/veripost/internal/jobs"
)

var _ jobs.Registry = (*DB)(nil)

// Beat implements jobs.Registry.
func (db *DB) Beat(ctx context.Context, w jobs.Worker) error {
	_, err := db.SQL.ExecContext(ctx, `INSERT INTO workers (id, host, pid, started_at, beat_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at`, w.ID, w.Host, w.PID, w.StartedAt.UTC(), now())
	return err
}

// Leave implements jobs.Registry.
func (db *DB) Leave(ctx context.Context, id string) error {
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM workers WHERE id = $1`, id)
	return err
}

// Workers implements jobs.Registry.
func (db *DB) Workers(ctx context.Context) ([]jobs.Worker, error) {
	rows, err := db.R.QueryContext(ctx, `SELECT id, host, pid, started_at, beat_at FROM workers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jobs.Worker
	for rows.Next() {
		var w jobs.Worker
		if err := rows.Scan(&w.ID, &w.Host, &w.PID, &w.StartedAt, &w.BeatAt); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ForgetWorkers implements jobs.Registry.
func (db *DB) ForgetWorkers(ctx context.Context, before time.Time) error {
	if _, err := db.SQL.ExecContext(ctx, `DELETE FROM workers WHERE beat_at < $1`, before.UTC()); err != nil {
		return err
	}
	_, err := db.SQL.ExecContext(ctx, `DELETE FROM rescued_jobs WHERE rescued_at < $1`, before.UTC())
	return err
}

// RescueTx implements jobs.Registry.
func (db *DB) RescueTx(ctx context.Context, fn func(tx *sql.Tx, claim func(jobID int64) (bool, error)) error) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		return fn(tx, func(jobID int64) (bool, error) {
			res, err := tx.ExecContext(ctx, `INSERT INTO rescued_jobs (job_id, rescued_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, jobID, now())
			if err != nil {
				return false, err
			}
			n, err := res.RowsAffected()
			return n == 1, err
		})
	})
}

// MoveJobTx implements jobs.Registry: a version whose ingestion job was
// replaced points at the new one.
func (db *DB) MoveJobTx(ctx context.Context, tx *sql.Tx, versionID string, from, to int64) error {
	if !validID(versionID) {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE package_versions SET job_id = $3 WHERE id = $1 AND job_id = $2`, versionID, from, to)
	return err
}
